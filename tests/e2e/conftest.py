"""The real stack for end-to-end tests: API, action server and Rasa, as `make run` starts them.

It runs once per test session on free ports, with its own seeded database, tracker store and
logs in a temporary folder. People talk to it as a browser does: through the chat door.
"""

import secrets
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from scripts.ensure_env import SECRET_KEYS
from scripts.paths import MODEL_PATH
from scripts.services import Ports, StackError, build_services, running


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class RunningStack:
    """Where the running stack listens, and the secrets it was given."""

    ports: Ports
    env: dict[str, str]
    workdir: Path

    @property
    def door_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.api}/chat/messages"

    @property
    def rasa_base(self) -> str:
        return f"http://127.0.0.1:{self.ports.rasa}"

    @property
    def tracker_db(self) -> Path:
        return self.workdir / "rasa_tracker.db"


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def real_stack(
    workdir: Path, voice: bool = False, extra_env: dict[str, str] | None = None
) -> Iterator[RunningStack]:
    """The services of `make run` on free ports, with the voice gateway when `voice`."""
    if not MODEL_PATH.exists():
        pytest.fail(f"no trained model at {MODEL_PATH}: run `make model` first")
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(Path.home()),
        "DATABASE_URL": f"sqlite:///{workdir / 'guichet.db'}",
        "GUICHET_ENV": "development",
        **{name: secrets.token_urlsafe(24) for name in SECRET_KEYS},
        **(extra_env or {}),
    }
    seed = subprocess.run(
        [sys.executable, "-m", "api.seed"], env=env, capture_output=True, text=True
    )
    assert seed.returncode == 0, seed.stderr
    ports = Ports(
        api=free_port(),
        actions=free_port(),
        rasa=free_port(),
        voice=free_port() if voice else None,
        sip=free_udp_port(),
    )
    services = build_services(ports, env, log_dir=workdir / "logs", var_dir=workdir)
    try:
        with running(services):
            yield RunningStack(ports, env, workdir)
    except StackError as error:
        pytest.fail(str(error))


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    with real_stack(tmp_path_factory.mktemp("stack")) as running_stack:
        yield running_stack


@pytest.fixture(scope="session")
def door_url(stack: RunningStack) -> str:
    return stack.door_url


# Each person comes from an address of their own, as from their own machine: the door limits
# messages per address, and the dossier API counts wrong dates per asker.
_ADDRESSES = (f"127.0.{third}.{fourth}" for third in range(20, 250) for fourth in range(1, 255))


class Person:
    """One browser talking to the chat door: its conversation lives in the door's cookie."""

    def __init__(self, door_url: str, address: str | None = None) -> None:
        self.door_url = door_url
        self.address = address or next(_ADDRESSES)
        self.browser = httpx.Client(
            timeout=60, transport=httpx.HTTPTransport(local_address=self.address)
        )

    def __enter__(self) -> "Person":
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.browser.close()

    def answers(self, message: str) -> list[dict]:
        """Send `message`; return the answer's messages as the door sends them (never empty)."""
        response = self.browser.post(self.door_url, json={"message": message})
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
def people(door_url: str) -> Iterator[Callable[..., Person]]:
    """Make people (optionally from a given address); their browsers close after the test."""
    made: list[Person] = []

    def make(address: str | None = None) -> Person:
        made.append(Person(door_url, address))
        return made[-1]

    yield make
    for person in made:
        person.close()


@pytest.fixture
def person(people: Callable[..., Person]) -> Person:
    return people()
