"""The real stack for end-to-end tests: API, action server and Rasa, as `make run` starts them.

It runs once per test session on free ports, with its own seeded database, tracker store and
logs in a temporary folder.
"""

import secrets
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from scripts.paths import MODEL_PATH
from scripts.services import Ports, StackError, build_services, running


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def rasa_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not MODEL_PATH.exists():
        pytest.fail(f"no trained model at {MODEL_PATH}: run `make model` first")
    workdir = tmp_path_factory.mktemp("stack")
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(Path.home()),
        "DATABASE_URL": f"sqlite:///{workdir / 'guichet.db'}",
        "GUICHET_ENV": "development",
        "GUICHET_ASSISTANT_TOKEN": secrets.token_urlsafe(24),
        "GUICHET_INSTRUCTION_TOKEN": secrets.token_urlsafe(24),
        "GUICHET_ADMIN_TOKEN": secrets.token_urlsafe(24),
        "GUICHET_DOB_HASH_KEY": secrets.token_urlsafe(24),
    }
    seed = subprocess.run(
        [sys.executable, "-m", "api.seed"], env=env, capture_output=True, text=True
    )
    assert seed.returncode == 0, seed.stderr
    ports = Ports(api=free_port(), actions=free_port(), rasa=free_port())
    services = build_services(ports, env, log_dir=workdir / "logs", var_dir=workdir)
    try:
        with running(services):
            yield f"http://127.0.0.1:{ports.rasa}/webhooks/rest/webhook"
    except StackError as error:
        pytest.fail(str(error))


class Person:
    """One conversation over the REST channel."""

    def __init__(self, rasa_url: str) -> None:
        self.rasa_url = rasa_url
        self.sender = uuid.uuid4().hex

    def answers(self, message: str) -> list[dict]:
        """Send `message`; return the answer's messages as Rasa sends them (never empty)."""
        response = httpx.post(
            self.rasa_url, json={"sender": self.sender, "message": message}, timeout=60
        )
        response.raise_for_status()
        answers = response.json()
        assert answers, f"no answer to {message!r}"
        return answers

    def say(self, message: str) -> list[str]:
        """Send `message`; return the texts of the answer."""
        return [answer.get("text", "") for answer in self.answers(message)]

    def conversation(self, messages: list[str]) -> list[str]:
        """Send each message in turn; return the texts of the last answer."""
        texts: list[str] = []
        for message in messages:
            texts = self.say(message)
        return texts


@pytest.fixture
def person(rasa_url: str) -> Person:
    return Person(rasa_url)
