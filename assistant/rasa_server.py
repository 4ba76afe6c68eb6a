"""Start `rasa run` with its HTTP API closed by the operators' token.

`python -m assistant.rasa_server [rasa run options]`. Rasa takes its API token only on the
command line, where every local user can read it (`ps`); this wrapper reads it from
GUICHET_RASA_TOKEN and hands it to Rasa inside the process. Without a token the HTTP API
(/conversations, /model, …) stays off: only the chat door's channel answers. It also makes
Rasa check the action server's answers without re-checking their schema each time
(assistant/action_results.py) and keep its connections to the action server open
(assistant/http_sessions.py).
"""

import os
import sys

# Before Rasa: importing skops (which reads the intent classifier, assistant/nlu) looks up the
# module of every scikit-learn type in sys.modules; after TensorFlow is loaded that takes 5 s
# instead of 1 s (warm start-up, docs/performance.md).
import skops.io  # noqa: F401

# isort: split
from rasa.__main__ import main as rasa_main

from assistant import action_results, http_sessions

# At import, so that every Sanic worker process has them too.
action_results.install()
http_sessions.install()


def rasa_arguments(argv: list[str], token: str) -> list[str]:
    """`rasa run` and its options, with the HTTP API on only behind the token."""
    arguments = ["rasa", "run", *argv]
    if token:
        arguments += ["--enable-api", "--auth-token", token]
    return arguments


if __name__ == "__main__":
    sys.argv = rasa_arguments(sys.argv[1:], os.environ.get("GUICHET_RASA_TOKEN", ""))
    rasa_main()
