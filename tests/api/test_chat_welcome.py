"""The chat page's welcome: served by the door from the domain, without Rasa."""

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from fastapi.testclient import TestClient

from api.chat_door import COOKIE_NAME, DOMAIN_DIR, WELCOME, DoorMessages, clean_message
from tests.api.conftest import door_client

# The three things a person can do, as the issue asks for them: follow a dossier, check a
# request before sending it, reach a person.
CHOICES = {"/check_status", "/prepare_request", "/ask_human"}


@pytest.fixture
def rasa_calls() -> list[httpx.Request]:
    return []


@pytest.fixture
def client(
    rasa_calls: list[httpx.Request], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestClient]:
    def rasa(request: httpx.Request) -> httpx.Response:
        rasa_calls.append(request)
        return httpx.Response(503)

    with door_client(tmp_path, monkeypatch, httpx.MockTransport(rasa)) as test_client:
        yield test_client


def domain_variation(name: str) -> dict:
    """The first variation without a channel of a response, read straight from the files."""
    for path in sorted(DOMAIN_DIR.glob("*.yml")):
        responses = yaml.safe_load(path.read_text(encoding="utf-8")).get("responses") or {}
        if name in responses:
            return next(v for v in responses[name] if "channel" not in v)
    raise AssertionError(f"{name} is not in the domain")


def test_the_welcome_is_the_domain_responses_in_order(client, rasa_calls):
    response = client.get("/chat/welcome")

    assert response.status_code == 200
    expected = []
    for name in WELCOME:
        variation = domain_variation(name)
        message = {"text": variation["text"]}
        if variation.get("buttons"):
            message["buttons"] = [
                {"title": b["title"], "payload": b["payload"]} for b in variation["buttons"]
            ]
        expected.append(message)
    assert response.json() == expected
    # Rasa is not asked (it is down here), and no conversation is started.
    assert rasa_calls == []
    assert COOKIE_NAME not in response.headers.get("set-cookie", "")


def test_the_welcome_offers_three_choices_and_the_phone(client):
    messages = client.get("/chat/welcome").json()

    buttons = [button for message in messages for button in message.get("buttons", [])]
    assert {button["payload"] for button in buttons} == CHOICES
    assert len(buttons) == 3
    assert "34 00" in " ".join(message["text"] for message in messages)


def test_each_choice_reaches_the_assistant_as_its_intent():
    messages = DoorMessages()
    for message in messages.welcome():
        for button in message.get("buttons", []):
            # A typed copy of the payload would be turned into text: these pass as buttons.
            assert clean_message(button["payload"], messages.payloads) == button["payload"]


def test_the_welcome_is_short():
    for message in DoorMessages().welcome():
        assert len(message["text"]) <= 300, message["text"]
