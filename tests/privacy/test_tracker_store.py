"""RedactingSQLTrackerStore on a real SQLite file, loaded from endpoints.yml as Rasa loads it.

A status check is played turn by turn as Rasa's processor does it: the tracker is retrieved
from the store, the turn's events are applied, the tracker is saved. The raw bytes of the
database must never hold the date of birth or the request number, while the turn after the
number still gets it back.
"""

import asyncio
import json
import sqlite3
import stat
import warnings
from datetime import datetime, timezone
from pathlib import Path

import pytest

# Rasa's SQL store is written for SQLAlchemy 1.4 and warns about 2.0 when imported.
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from rasa.core.tracker_store import InMemoryTrackerStore, SQLTrackerStore, TrackerStore
    from rasa.core.utils import AvailableEndpoints
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import (
        ActionExecuted,
        ActiveLoop,
        BotUttered,
        EntitiesAdded,
        ReminderScheduled,
        Restarted,
        SessionStarted,
        SlotSet,
        UserUttered,
    )

    from assistant.tracker_store import (
        ENCRYPTED_PREFIX,
        RedactingSQLTrackerStore,
        TrackerKeyMissing,
    )

pytestmark = [
    # Rasa 3.6's SQLTrackerStore.get_db_url builds its URL the SQLAlchemy 1.3 way.
    pytest.mark.filterwarnings(
        "ignore:Calling URL\\(\\) directly is deprecated:sqlalchemy.exc.SADeprecationWarning"
    ),
    # Rasa 3.6 says so each time it validates a domain's slots.
    pytest.mark.filterwarnings("ignore:Slot auto-fill has been removed in 3.0:UserWarning"),
]

ROOT = Path(__file__).resolve().parents[2]
KEY = "k" * 20 + "-test-key-not-secret"
SENDER = "conversation-1"
ASKER = {"asker": "3f1c9a0e"}
FORM = "dossier_status_form"
# Every form the date of birth and the request number could take in the file.
SECRETS = [
    # The year in the shapes a date takes ("04/07/1961", "1961-07-04", "4 juillet 1961"), not
    # alone: the digits 1961 turn up in event timestamps by chance (a flaky failure in CI).
    b"/1961",
    b"1961-07",
    b" 1961",
    b"04/07",
    b"04071961",
    b"2611000002",
    b"26 11 000 002",
    b"000 002",
    b"quatre juillet",
    b"soixante",
]


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(str(ROOT / "assistant" / "domain"))


@pytest.fixture
def env(tmp_path, monkeypatch) -> Path:
    """What Rasa's endpoints.yml expands, the tracker database in a folder not made yet."""
    database = tmp_path / "private" / "rasa_tracker.db"
    set_endpoints_env(monkeypatch, f"sqlite:///{database}")
    return database


def set_endpoints_env(monkeypatch: pytest.MonkeyPatch, tracker_url: str) -> None:
    """What endpoints.yml expands, with the tracker store at `tracker_url`."""
    monkeypatch.setenv("GUICHET_TRACKER_DB_URL", tracker_url)
    monkeypatch.setenv("GUICHET_LOCK_STORE_URL", "")
    monkeypatch.setenv("GUICHET_TRACKER_KEY", KEY)
    monkeypatch.setenv("GUICHET_ACTION_SERVER_URL", "http://127.0.0.1:1/webhook")
    monkeypatch.setenv("GUICHET_ACTIONS_TOKEN", "token")


def store_from_endpoints(domain: Domain) -> TrackerStore:
    endpoints = AvailableEndpoints.read_endpoints(str(ROOT / "endpoints.yml"))
    store = TrackerStore.create(endpoints.tracker_store)
    store.domain = domain  # as Rasa's Agent does once the model is loaded
    return store


@pytest.fixture
def store(env, domain) -> RedactingSQLTrackerStore:
    store = store_from_endpoints(domain)
    assert isinstance(store, RedactingSQLTrackerStore)
    return store


def user(text: str, intent: str = "inform", entities: list | None = None) -> UserUttered:
    return UserUttered(
        text,
        {"name": intent, "confidence": 0.9},
        entities or [],
        {"intent_ranking": [{"name": intent, "confidence": 0.9}]},
        input_channel="chat",
        message_id="m1",
        metadata=dict(ASKER),
    )


def entity(name: str, text: str, message: str) -> dict:
    start = message.index(text)
    return {
        "entity": name,
        "start": start,
        "end": start + len(text),
        "value": text,
        "extractor": "RegexEntityExtractor",
    }


def turn(store, domain, *events):
    """One turn as Rasa's processor plays it: retrieve (or create), apply, save."""

    async def play():
        tracker = await store.get_or_create_tracker(SENDER, append_action_listen=False)
        for event in events:
            tracker.update(event, domain)
        await store.save(tracker)
        return tracker

    return asyncio.run(play())


def retrieve(store, sender=SENDER):
    return asyncio.run(store.retrieve(sender))


def first_turn():
    return [
        ActionExecuted("action_session_start"),
        SessionStarted(),
        ActionExecuted("action_listen"),
        user("Où en est mon dossier ?", "check_status"),
        ActionExecuted("action_extract_slots"),
        ActionExecuted(FORM),
        ActiveLoop(FORM),
        SlotSet("requested_slot", "numero_dossier"),
        BotUttered("Quel est le numéro de votre demande ?", metadata={"utter_action": "x"}),
        ActionExecuted("action_listen"),
    ]


def number_turn(message="c'est le 26 11 000 002"):
    return [
        user(message, entities=[entity("numero_dossier", "26 11 000 002", message)]),
        ActionExecuted("action_extract_slots"),
        SlotSet("numero_dossier", "26 11 000 002"),
        ActionExecuted(FORM),
        SlotSet("numero_dossier", "2611000002"),
        SlotSet("requested_slot", "date_naissance"),
        BotUttered("Quelle est votre date de naissance ?"),
        ActionExecuted("action_listen"),
    ]


def date_turn(message="04/07/1961", checked=True):
    events = [
        user(message, entities=[entity("date", "04/07/1961", message)] if "/" in message else []),
        ActionExecuted("action_extract_slots"),
        SlotSet("date", "04/07/1961"),
        SlotSet("date_naissance", message),
        SlotSet("date", "1961-07-04"),
        ActionExecuted(FORM),
        SlotSet("date_naissance", "1961-07-04"),
        ActiveLoop(None),
        SlotSet("requested_slot", None),
        ActionExecuted("action_check_dossier_status"),
    ]
    if checked:
        events += [
            BotUttered("Votre demande : renouvellement du permis."),
            SlotSet("numero_dossier", None),
            SlotSet("date_naissance", None),
            SlotSet("dossier_bloque", False),
        ]
    return [*events, ActionExecuted("action_listen")]


def stored_bytes(database: Path) -> bytes:
    """The database file and any journal SQLite left beside it."""
    return b"".join(path.read_bytes() for path in database.parent.glob(database.name + "*"))


def assert_no_secret(database: Path) -> None:
    raw = stored_bytes(database)
    for secret in SECRETS:
        assert secret not in raw, secret


def stored_events(database: Path) -> list[dict]:
    with sqlite3.connect(database) as connection:
        rows = connection.execute("SELECT data FROM events ORDER BY id").fetchall()
    return [json.loads(data) for (data,) in rows]


def form_asks_for(tracker, domain) -> str | None:
    """The slot Rasa's form would request next: `FormAction._find_next_slot_to_request`
    (not imported: rasa.core.actions.forms loads TensorFlow, 20 s), the first required slot
    whose value is None."""
    required = domain.required_slots_for_form(FORM)
    return next((slot for slot in required if tracker.get_slot(slot) is None), None)


def test_a_status_check_leaves_no_date_of_birth_nor_number(store, domain, env):
    turn(store, domain, *first_turn())
    turn(store, domain, *number_turn())
    assert_no_secret(env)

    # The next turn replays the tracker from the database: the number is there.
    between = retrieve(store)
    assert between.get_slot("numero_dossier") == "2611000002"
    assert between.get_slot("requested_slot") == "date_naissance"
    assert between.active_loop_name == FORM
    assert form_asks_for(between, domain) == "date_naissance"

    in_memory = turn(store, domain, *date_turn())
    # The turn itself worked on the real values; only the stored copies are masked.
    assert in_memory.latest_message.text == "04/07/1961"
    assert_no_secret(env)
    assert ENCRYPTED_PREFIX.encode() not in stored_bytes(env)

    after = retrieve(store)
    assert after.get_slot("numero_dossier") is None
    assert after.get_slot("date_naissance") is None
    assert after.get_slot("date") is None
    # Restoring kept one event per stored event: Rasa's count of what is already saved holds.
    plain = asyncio.run(SQLTrackerStore(domain, dialect="sqlite", db=str(env)).retrieve(SENDER))
    assert len(after.events) == len(plain.events)


def test_what_is_stored_instead(store, domain, env):
    turn(store, domain, *first_turn())
    turn(store, domain, *number_turn())
    turn(store, domain, *date_turn())
    events = stored_events(env)
    users = [event for event in events if event["event"] == "user"]
    assert [event["text"] for event in users] == ["Où en est mon dossier ?", "[numéro]", "[date]"]
    assert [event["parse_data"]["text"] for event in users] == [event["text"] for event in users]
    assert users[1]["parse_data"]["entities"][0]["value"] == "[numéro]"
    assert users[2]["parse_data"]["entities"][0]["value"] == "[date]"
    assert all(event["metadata"] == ASKER for event in users)
    assert users[1]["parse_data"]["intent"]["name"] == "inform"
    bots = [event["text"] for event in events if event["event"] == "bot"]
    assert "Votre demande : renouvellement du permis." in bots
    slots = [(event["name"], event["value"]) for event in events if event["event"] == "slot"]
    assert ("numero_dossier", "[numéro]") in slots
    assert ("date_naissance", "[date]") in slots
    assert ("date", "[date]") in slots
    assert ("requested_slot", "date_naissance") in slots


def test_the_number_is_encrypted_only_while_the_form_needs_it(store, domain, env):
    turn(store, domain, *first_turn())
    turn(store, domain, *number_turn())
    numbers = [e["value"] for e in stored_events(env) if e.get("name") == "numero_dossier"]
    # The raw answer is masked, the validated number encrypted.
    assert numbers[0] == "[numéro]"
    assert numbers[1].startswith(ENCRYPTED_PREFIX)
    turn(store, domain, *date_turn())
    numbers = [e["value"] for e in stored_events(env) if e.get("name") == "numero_dossier"]
    assert numbers == ["[numéro]", "[numéro]", None]


def test_a_failed_check_keeps_the_number_and_forgets_the_date(store, domain, env):
    # The action server did not answer: the form is done but nothing reset the slots.
    turn(store, domain, *first_turn())
    turn(store, domain, *number_turn())
    turn(store, domain, *date_turn(checked=False))
    assert_no_secret(env)
    tracker = retrieve(store)
    assert tracker.get_slot("numero_dossier") == "2611000002"
    # "[date]" is never taken for a date: the form would ask for it again.
    assert tracker.get_slot("date_naissance") is None
    assert form_asks_for(tracker, domain) == "date_naissance"


def test_a_date_said_in_words_is_masked_whole(store, domain, env):
    spoken = "le quatre juillet mille neuf cent soixante et un"
    turn(store, domain, *first_turn())
    turn(store, domain, *number_turn())
    turn(store, domain, *date_turn(spoken))
    assert_no_secret(env)
    texts = [e["text"] for e in stored_events(env) if e["event"] == "user"]
    assert texts[-1] == "[date]"


def test_neph_plate_and_dates_mentioned_elsewhere(store, domain, env):
    message = "mon permis neph 120575200123, la voiture AB-123-CD, né le 4 juillet 1961"
    turn(
        store,
        domain,
        *first_turn()[:3],
        user(
            message,
            "ask_human",
            [
                entity("neph", "neph 120575200123", message),
                entity("plaque", "AB-123-CD", message),
                entity("date", "4 juillet 1961", message),
            ],
        ),
        ActionExecuted("action_extract_slots"),
        SlotSet("neph", "120575200123"),
        SlotSet("plaque", "AB-123-CD"),
        SlotSet("date", "1961-07-04"),
        EntitiesAdded([{"entity": "neph", "value": "120575200123", "start": 0, "end": 1}]),
        ReminderScheduled(
            "remind",
            datetime(2030, 1, 1, tzinfo=timezone.utc),
            [entity("plaque", "AB-123-CD", message)],
        ),
        ActionExecuted("action_listen"),
    )
    raw = stored_bytes(env)
    for secret in (b"120575200123", b"AB-123-CD", b"1961"):
        assert secret not in raw
    stored = stored_events(env)
    text = next(e["text"] for e in stored if e["event"] == "user")
    assert text == "mon permis [numéro], la voiture [plaque], né le [date]"
    tracker = retrieve(store)
    assert [tracker.get_slot(name) for name in ("neph", "plaque", "date")] == [None] * 3


def test_a_new_number_or_a_restart_masks_the_stored_one(store, domain, env):
    turn(store, domain, *first_turn())
    turn(store, domain, *number_turn())
    turn(store, domain, user("/restart", "restart"), Restarted(), ActionExecuted("action_listen"))
    assert ENCRYPTED_PREFIX.encode() not in stored_bytes(env)
    assert retrieve(store).get_slot("numero_dossier") is None


def test_a_new_session_carries_the_number_over_encrypted_once(store, domain, env):
    turn(store, domain, *first_turn())
    turn(store, domain, *number_turn())
    carried = retrieve(store).get_slot("numero_dossier")
    turn(
        store,
        domain,
        ActionExecuted("action_session_start"),
        SessionStarted(),
        SlotSet("numero_dossier", carried),
        ActionExecuted("action_listen"),
    )
    numbers = [e["value"] for e in stored_events(env) if e.get("name") == "numero_dossier"]
    assert [value.startswith(ENCRYPTED_PREFIX) for value in numbers] == [False, False, True]
    assert retrieve(store).get_slot("numero_dossier") == "2611000002"
    assert_no_secret(env)


def test_another_key_forgets_the_number(store, domain, env, monkeypatch, caplog):
    turn(store, domain, *first_turn())
    turn(store, domain, *number_turn())
    monkeypatch.setenv("GUICHET_TRACKER_KEY", "another key of at least thirty-two chars")
    other = store_from_endpoints(domain)
    with caplog.at_level("WARNING", logger="assistant.tracker_store"):
        tracker = retrieve(other)
    assert tracker.get_slot("numero_dossier") is None
    assert "cannot be decrypted" in caplog.text


@pytest.mark.parametrize("key", [None, "", "too short"])
def test_rasa_does_not_start_without_the_key(env, domain, monkeypatch, key):
    if key is None:
        monkeypatch.delenv("GUICHET_TRACKER_KEY")
    else:
        monkeypatch.setenv("GUICHET_TRACKER_KEY", key)
    # Not the silent fall back to an in-memory store Rasa makes for an import error.
    with pytest.raises(TrackerKeyMissing, match="GUICHET_TRACKER_KEY"):
        store_from_endpoints(domain)
    assert not env.exists()


def test_the_database_is_for_its_owner_only(store, domain, env):
    turn(store, domain, *first_turn())
    assert stat.S_IMODE(env.stat().st_mode) == 0o600
    assert stat.S_IMODE(env.parent.stat().st_mode) == 0o700


def test_an_existing_database_file_is_made_private(env, domain):
    env.parent.mkdir(mode=0o755)
    env.touch(mode=0o644)
    env.chmod(0o644)
    store_from_endpoints(domain)
    assert stat.S_IMODE(env.stat().st_mode) == 0o600


def test_other_stores_are_untouched(domain):
    assert not isinstance(TrackerStore.create(None, domain), RedactingSQLTrackerStore)
    assert isinstance(TrackerStore.create(None, domain), InMemoryTrackerStore)


def short_year_turns():
    """A date with a two-digit year, the form's "c'est bien ça ?", then "oui"."""
    message = "04/07/61"
    asked = [
        user(message),
        ActionExecuted("action_extract_slots"),
        SlotSet("date_naissance", message),
        ActionExecuted(FORM),
        SlotSet("date_naissance", None),
        SlotSet("date_naissance_proposee", "04/07/1961"),
        SlotSet("requested_slot", "date_naissance_confirmee"),
        BotUttered(
            "Votre date de naissance est le 04/07/1961, c'est bien ça ?",
            {"buttons": [{"title": "Oui", "payload": "/affirm"}]},
            {"utter_action": "utter_ask_dossier_status_form_date_naissance_confirmee"},
        ),
        ActionExecuted("action_listen"),
    ]
    return asked


def test_a_date_to_confirm_is_stored_encrypted_and_said_back_masked(store, domain, env):
    turn(store, domain, *first_turn())
    turn(store, domain, *number_turn())
    turn(store, domain, *short_year_turns())
    assert_no_secret(env)
    # The next turn ("oui") still has the date to confirm.
    tracker = retrieve(store)
    assert tracker.get_slot("date_naissance_proposee") == "04/07/1961"
    proposed = [
        e["value"] for e in stored_events(env) if e.get("name") == "date_naissance_proposee"
    ]
    assert proposed and proposed[0].startswith(ENCRYPTED_PREFIX)
    said = [e["text"] for e in stored_events(env) if e["event"] == "bot"]
    assert said[-1] == "Votre date de naissance est le [date], c'est bien ça ?"
    users = [e["text"] for e in stored_events(env) if e["event"] == "user"]
    assert users[-1] == "[date]"
