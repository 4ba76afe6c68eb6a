"""Run a `rasa` command in the project's environment: `python -m scripts.rasa data validate …`.

Every Rasa command the project runs (training, tests, validation, the server) gets the same
environment from `scripts.paths.rasa_env`: this is the wrapper for the ones the Makefile calls.
"""

import os
import sys

from scripts.paths import RASA_BIN, ROOT, rasa_env


def main(argv: list[str]) -> None:
    os.chdir(ROOT)
    os.execve(RASA_BIN, [str(RASA_BIN), *argv], rasa_env())


if __name__ == "__main__":
    main(sys.argv[1:])
