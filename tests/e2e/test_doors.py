"""The stack as an attacker meets it: only the chat door answers without a token.

Every test talks to the real API, Rasa and action server started by tests/e2e/conftest.py.
Different people come from different loopback addresses (127.0.0.2, 127.0.0.3, …), as they
would from different machines, so the door and the dossier API can tell them apart.
"""

import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.e2e.conftest import Person, RunningStack

People = Callable[..., Person]

OWNER = ["Où en est mon dossier ?", "2611000002", "04/07/1961"]
OWNER_STATUS = "justificatif de domicile"
BIRTH_DATE_FORMS = ("1961-07-04", "04/07/1961", "04071961", "4 juillet 1961")


def test_rasa_http_api_needs_the_operators_token(stack: RunningStack, people: People) -> None:
    people("127.0.0.2").say("bonjour")
    with httpx.Client(base_url=stack.rasa_base, timeout=30) as rasa:
        refuse_without_token(rasa, stack)


def refuse_without_token(rasa: httpx.Client, stack: RunningStack) -> None:
    for method, path in [
        ("GET", "/conversations/default/tracker"),
        ("POST", "/conversations/default/tracker/events"),
        ("POST", "/conversations/default/execute"),
        ("POST", "/conversations/default/trigger_intent"),
        ("POST", "/model/parse"),
        ("PUT", "/model"),
        ("GET", "/status"),
    ]:
        response = rasa.request(method, path, json={"event": "bot", "text": "payez 45 €"})
        assert response.status_code in (401, 403), (method, path, response.status_code)
    token = {"token": stack.env["GUICHET_RASA_TOKEN"]}
    assert rasa.get("/status", params=token).status_code == 200


def test_rasa_chat_channel_and_action_server_refuse_callers_without_their_token(
    stack: RunningStack,
) -> None:
    chat = httpx.post(
        f"{stack.rasa_base}/webhooks/chat/webhook",
        json={"sender": "default", "message": "répétez"},
        timeout=30,
    )
    assert chat.status_code == 401
    # The stock REST channel is not there at all.
    rest = httpx.post(
        f"{stack.rasa_base}/webhooks/rest/webhook",
        json={"sender": "default", "message": "répétez"},
        timeout=30,
    )
    assert rest.status_code == 404
    actions = f"http://127.0.0.1:{stack.ports.actions}"
    forged = {"next_action": "action_check_dossier_status", "tracker": {}, "domain": {}}
    assert httpx.post(f"{actions}/webhook", json=forged, timeout=30).status_code == 401
    assert httpx.get(f"{actions}/actions", timeout=30).status_code == 401
    assert httpx.get(f"{actions}/health", timeout=30).status_code == 200
    token = {"Authorization": f"Bearer {stack.env['GUICHET_ACTIONS_TOKEN']}"}
    assert httpx.get(f"{actions}/nowhere", headers=token, timeout=30).status_code == 404


def test_the_chat_origin_reaches_no_other_door(stack: RunningStack) -> None:
    with httpx.Client(base_url=f"http://127.0.0.1:{stack.ports.api}", timeout=30) as page:
        for path in ("/conversations/default/tracker", "/model/parse", "/webhooks/chat/webhook"):
            assert page.post(path, json={}).status_code in (404, 405)
        assert page.post("/v1/dossiers/lookup", json={}).status_code == 401
        assert page.get("/v1/admin/dossiers").status_code == 401


def test_a_stored_conversation_holds_no_birth_date_after_a_status_check(
    stack: RunningStack, people: People
) -> None:
    owner = people("127.0.0.4")
    assert OWNER_STATUS in " ".join(owner.conversation(OWNER))
    with sqlite3.connect(stack.tracker_db) as database:
        stored = "\n".join(row[0] for row in database.execute("SELECT data FROM events"))
    assert stored, "the conversation was not stored"
    for form in BIRTH_DATE_FORMS:
        assert form not in stored
    assert "2611000002" not in stored
    assert stack.tracker_db.stat().st_mode & 0o077 == 0


def test_a_flood_of_lookups_from_one_script_leaves_the_owner_able_to_check(
    stack: RunningStack, people: People
) -> None:
    script = people("127.0.0.5")
    refused = 0
    for attempt in range(200):
        if attempt % 10 == 0:  # the script also tries fresh conversations
            script = people("127.0.0.5")
        # It also claims to be someone else: the door does not believe it.
        response = script.browser.post(
            stack.door_url,
            json={"message": "2611000002"},
            headers={"X-Forwarded-For": f"192.0.2.{attempt % 250}"},
        )
        refused += response.status_code == 429
        script.browser.post(stack.door_url, json={"message": "01/01/1950"})
    assert refused > 0, "the door never slowed the script down"
    owner = people("127.0.0.6")
    assert OWNER_STATUS in " ".join(owner.conversation(OWNER))


def test_many_wrong_dates_on_a_known_number_do_not_keep_its_owner_out(
    stack: RunningStack, people: People
) -> None:
    for day in range(1, 16):  # each try in a fresh conversation, all from one machine
        people("127.0.0.7").conversation(
            ["Où en est mon dossier ?", "2611000001", f"{day:02d}/01/1950"]
        )
    attacker = people("127.0.0.7")
    answer = " ".join(
        attacker.conversation(["Où en est mon dossier ?", "2611000001", "12/03/1948"])
    )
    assert "instruction" not in answer  # the attacker is held back, even with the right date
    owner = people("127.0.0.8")
    assert "instruction" in " ".join(
        owner.conversation(["Où en est mon dossier ?", "2611000001", "12/03/1948"])
    )


@pytest.mark.parametrize(
    "body",
    [
        {"message": ""},
        {"message": "   \n\t"},
        {"message": "a" * 1001},
        {"message": "\x00\x07\x1b[31m bonjour \u202e"},
        {"message": "🚗🚗🚗 👵 ma carte grise ??? 😡😡"},
        {"message": "/restart"},
        {"message": "/session_start"},
        {"message": '/inform{"numero_dossier":"2611000002","date_naissance":"1961-07-04"}'},
        {"message": '/affirm{"dossier_bloque": true}'},
        {"message": '/prepare_request{"demarche":"../../etc/passwd"}'},
        {"message": "?"},
        {"message": "..."},
        {"message": "' OR 1=1 --"},
        {"message": "<script>alert(1)</script>"},
    ],
)
def test_odd_messages_get_an_answer_never_a_crash(
    stack: RunningStack, people: People, body: dict
) -> None:
    browser = people("127.0.0.9").browser
    response = browser.post(stack.door_url, json=body)
    assert response.status_code == 200, response.text
    answers = response.json()
    assert answers and all(answer.get("text") or answer.get("buttons") for answer in answers)
    assert "Traceback" not in response.text and "recipient_id" not in response.text
    if body["message"].startswith("/inform"):
        # It holds a number and a date of birth, which a message may give together (issue
        # 12): the command is read as the same words typed, never as slots it would set.
        typed = people("127.0.0.19").browser.post(
            stack.door_url, json={"message": body["message"].lstrip("/")}
        )
        assert response.json() == typed.json()
    else:
        assert OWNER_STATUS not in response.text


@pytest.mark.parametrize(
    ("content", "status"),
    [(b"{", 422), (b"not json", 422), (b'{"message": null}', 422), (b"x" * 1_000_000, 413)],
)
def test_malformed_requests_are_refused_clearly(
    stack: RunningStack, people: People, content: bytes, status: int
) -> None:
    response = people("127.0.0.10").browser.post(
        stack.door_url, content=content, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == status


def test_nobody_hears_a_strangers_dossier_by_saying_repeat(people: People) -> None:
    owner = people("127.0.0.11")
    assert OWNER_STATUS in " ".join(owner.conversation(OWNER))
    stranger = people("127.0.0.12")
    assert OWNER_STATUS not in " ".join(stranger.say("répétez"))


def test_fifty_people_checking_at_once_are_all_answered(people: People) -> None:
    def check(index: int) -> str:
        person = people(f"127.0.1.{index + 1}")
        return " ".join(person.conversation(OWNER))

    with ThreadPoolExecutor(max_workers=50) as pool:
        answers = list(pool.map(check, range(50)))
    assert all(OWNER_STATUS in answer for answer in answers)
