"""End to end: the real API, action server and Rasa server, talked to over HTTP.

The stack is the one `make run` starts (scripts/services.py), on free ports, with its own
seeded database, tracker store and logs in a temporary folder.
"""

import secrets
import socket
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


@pytest.fixture(scope="module")
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
    seed = __import__("subprocess").run(
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


def converse(rasa_url: str, messages: list[str]) -> list[str]:
    """Send each message as one person; return the texts of the last answer."""
    sender = uuid.uuid4().hex
    texts: list[str] = []
    for message in messages:
        response = httpx.post(rasa_url, json={"sender": sender, "message": message}, timeout=60)
        response.raise_for_status()
        texts = [answer.get("text", "") for answer in response.json()]
        assert texts, f"no answer to {message!r}"
    return texts


def test_greeting(rasa_url: str) -> None:
    assert "Guichet" in " ".join(converse(rasa_url, ["Bonjour"]))


def test_incomplete_dossier_names_the_proof_of_address(rasa_url: str) -> None:
    answer = " ".join(
        converse(rasa_url, ["Bonjour", "Où en est mon dossier ?", "2611000002", "04/07/1961"])
    )
    assert "justificatif de domicile" in answer
    assert "incomplète" in answer


def test_refused_dossier_names_the_roadworthiness_test(rasa_url: str) -> None:
    answer = " ".join(
        converse(rasa_url, ["Bonjour", "Où en est mon dossier ?", "2611000006", "02/09/1940"])
    )
    assert "contrôle technique" in answer
    assert "refusée" in answer


def test_dossier_under_review(rasa_url: str) -> None:
    answer = " ".join(
        converse(rasa_url, ["Bonjour", "Où en est mon dossier ?", "2611000001", "12/03/1948"])
    )
    assert "en cours d'instruction" in answer


def test_wrong_birth_date_reveals_nothing(rasa_url: str) -> None:
    wrong = converse(rasa_url, ["Bonjour", "Où en est mon dossier ?", "2611000002", "05/07/1961"])
    unknown = converse(rasa_url, ["Bonjour", "Où en est mon dossier ?", "9911000002", "04/07/1961"])
    assert wrong == unknown
    text = " ".join(wrong)
    assert "Je ne trouve pas" in text
    assert "justificatif" not in text and "renouvellement" not in text


def test_number_in_the_first_sentence_and_a_date_in_words(rasa_url: str) -> None:
    answer = " ".join(converse(rasa_url, ["ou en e mon dosier 26 11 000 006", "2 septembre 1940"]))
    assert "contrôle technique" in answer


def test_invalid_answers_are_explained_then_accepted(rasa_url: str) -> None:
    sender_messages = ["suivi de ma demande de permis", "hein", "2611000001", "le 12", "12031948"]
    answer = " ".join(converse(rasa_url, sender_messages))
    assert "en cours d'instruction" in answer
