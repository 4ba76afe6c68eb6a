"""Rasa's SQL tracker store, keeping no personal data in clear.

endpoints.yml names it by its module path, with the keys of Rasa's `type: SQL` store:

    tracker_store:
      type: assistant.tracker_store.RedactingSQLTrackerStore
      url: ${GUICHET_TRACKER_DB_URL}

(a SQLAlchemy URL: a SQLite file by default, PostgreSQL for several Rasa processes).

Before events are written (`_additional_events`, where `SQLTrackerStore.save` gets the
events it has not stored yet), copies are made of them, the tracker in memory keeps the
real ones for the rest of the turn:

- user messages: text and parse_data text masked (`assistant.privacy`), the spans and values
  of the personal entities (numero_dossier, neph, date, plaque) replaced by a marker; a
  message that answers a question of dossier_status_form is masked whole, as people write
  dates (and numbers) in words. Metadata (the asker's opaque hash) stays.
- slots date_naissance, date, neph, plaque: a marker instead of the value;
- slot numero_dossier: encrypted (Fernet, key derived from GUICHET_TRACKER_KEY), since the
  next turn replays the tracker from the database while the form still needs it. Only the
  live value stays encrypted: when a later event replaces or resets it (or restarts the
  conversation), the sender's stored values are overwritten with a marker.
- bot messages and every other event: as they are.

On retrieval, the number is decrypted and the markers are read as "no value" (None): the
form asks again for what was forgotten, and never takes "[date]" for a date.
"""

from __future__ import annotations

import base64
import json
import logging
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.constants import REQUESTED_SLOT
from rasa.shared.core.events import (
    ActiveLoop,
    AllSlotsReset,
    BotUttered,
    EntitiesAdded,
    Event,
    ReminderScheduled,
    Restarted,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.exceptions import RasaException

from assistant.privacy import DATE_MASK, MASKS, NUMBER_MASK, PLATE_MASK, mask_personal_data

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

logger = logging.getLogger(__name__)

KEY_VARIABLE = "GUICHET_TRACKER_KEY"
MIN_KEY_LENGTH = 32
# Stored slot values that start with this are Fernet tokens (ASCII, no LIKE wildcard).
ENCRYPTED_PREFIX = "fernet:"
_KEY_INFO = b"guichet tracker store: numero_dossier"

FORM = "dossier_status_form"
NUMERO_SLOT = "numero_dossier"
# Slots whose value is never stored, only a marker saying one was given.
MASKED_SLOTS = {
    "date_naissance": DATE_MASK,
    "date": DATE_MASK,
    "neph": NUMBER_MASK,
    "plaque": PLATE_MASK,
}
PERSONAL_ENTITIES = {
    "numero_dossier": NUMBER_MASK,
    "neph": NUMBER_MASK,
    "date": DATE_MASK,
    "plaque": PLATE_MASK,
}
# The form's questions: the message answering one is stored as this marker, whole.
ANSWER_MASKS = {
    "numero_dossier": NUMBER_MASK,
    "date_naissance": DATE_MASK,
    "date_naissance_confirmee": DATE_MASK,
}
# A date of birth read with a two-digit year, kept until the person confirms it: needed on
# the next turn, so encrypted like the number rather than masked.
PROPOSED_DATE_SLOT = "date_naissance_proposee"
# Bot messages that say a date of birth back ("Votre date de naissance est le 04/07/1961,
# c'est bien ça ?"): stored with the date masked.
RESPONSES_WITH_A_BIRTH_DATE = frozenset({"utter_ask_dossier_status_form_date_naissance_confirmee"})
# Events after which no earlier value of numero_dossier is needed any more.
_FORGETTING_EVENTS = (Restarted, AllSlotsReset, SessionStarted)


class TrackerKeyMissing(RasaException):
    """GUICHET_TRACKER_KEY is not set, or too short to be a secret."""


def fernet_from_environment(environ: Mapping[str, str] = os.environ) -> Fernet:
    """The Fernet of the request numbers, its key derived (HKDF-SHA256) from the secret."""
    secret = environ.get(KEY_VARIABLE, "")
    if len(secret) < MIN_KEY_LENGTH:
        raise TrackerKeyMissing(
            f"{KEY_VARIABLE} est absente ou trop courte : Rasa refuse de garder les "
            f"conversations sans elle. / {KEY_VARIABLE} is missing or shorter than "
            f"{MIN_KEY_LENGTH} characters: it encrypts request numbers in the tracker store. "
            "Set it to a random secret, e.g. the output of "
            "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`."
        )
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_KEY_INFO).derive(
        secret.encode()
    )
    return Fernet(base64.urlsafe_b64encode(key))


def sqlite_database_path(dialect: str | None, host: str | None, db: str) -> Path | None:
    """The file of a SQLite tracker store, or None (another database, or in memory)."""
    if host and "://" in host:
        url = sa.engine.make_url(host)
        if url.get_backend_name() != "sqlite":
            return None
        database = url.database
    elif (dialect or "").split("+")[0] == "sqlite":
        database = db
    else:
        return None
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def make_private_sqlite_file(path: Path) -> None:
    """Create the database file for its owner only (0600), in a folder created 0700.

    An existing folder is left as it is (it may be shared, as var/ is with the API's
    database); a warning says when others can list it.
    """
    folder = path.parent
    missing = [parent for parent in (folder, *folder.parents) if not parent.exists()]
    for created in reversed(missing):
        created.mkdir(mode=0o700, exist_ok=True)
        created.chmod(0o700)
    if not missing and folder.stat().st_mode & 0o077:
        logger.warning(
            "The folder of the tracker store (%s) is open to other users; the database "
            "file itself is readable by its owner only.",
            folder,
        )
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    path.chmod(0o600)


def _json_copy(data: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of an event's dict (Rasa stores them as JSON: nothing else is in them)."""
    return json.loads(json.dumps(data))


def _mask_entity_spans(text: str, entities: Sequence[dict[str, Any]]) -> str:
    """`text` with the characters of each personal entity replaced by its marker."""
    spans = []
    for entity in entities:
        mask = PERSONAL_ENTITIES.get(entity.get("entity", ""))
        start, end = entity.get("start"), entity.get("end")
        if mask and isinstance(start, int) and isinstance(end, int) and 0 <= start < end:
            spans.append((start, min(end, len(text)), mask))
    covered = len(text) + 1
    for start, end, mask in sorted(spans, reverse=True):
        if end <= covered:  # overlapping spans: the first one kept covers the rest
            text = text[:start] + mask + text[end:]
            covered = start
    return text


def _redact_entity(entity: dict[str, Any]) -> dict[str, Any]:
    mask = PERSONAL_ENTITIES.get(entity.get("entity", ""))
    entity = dict(entity)
    if mask:
        entity["value"] = mask
        if "text" in entity:
            entity["text"] = mask
        entity.pop("additional_info", None)
        return entity
    for key in ("value", "text"):
        if isinstance(entity.get(key), str):
            entity[key] = mask_personal_data(entity[key])
    return entity


def _redact_entities(entities: Sequence[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
    return None if entities is None else [_redact_entity(entity) for entity in entities]


def redact_user_message(data: dict[str, Any], whole_text_mask: str | None) -> dict[str, Any]:
    """A user event's dict (`UserUttered.as_dict()`), with its personal data masked."""
    data = _json_copy(data)
    parse_data = data.get("parse_data") or {}
    entities = parse_data.get("entities") or []
    for holder in (data, parse_data):
        text = holder.get("text")
        if isinstance(text, str):
            holder["text"] = whole_text_mask or mask_personal_data(
                _mask_entity_spans(text, entities)
            )
    if "entities" in parse_data:
        parse_data["entities"] = _redact_entities(parse_data["entities"])
    return data


def _form_answers(events: Sequence[Event]) -> dict[int, str]:
    """Positions of the user messages that answer a question of the status form → marker.

    A message is an answer when the form was asking for one of its slots when it came, or
    when its turn filled date_naissance (from the whole text, whatever the form's state).
    """
    answers: dict[int, str] = {}
    active_loop: str | None = None
    requested: Any = None
    last_user: int | None = None
    for position, event in enumerate(events):
        if isinstance(event, (Restarted, SessionStarted)):
            active_loop, requested, last_user = None, None, None
        elif isinstance(event, AllSlotsReset):
            requested = None
        elif isinstance(event, ActiveLoop):
            active_loop = event.name
        elif isinstance(event, SlotSet) and event.key == REQUESTED_SLOT:
            requested = event.value
        elif isinstance(event, UserUttered):
            last_user = position
            if active_loop == FORM and requested in ANSWER_MASKS:
                answers[position] = ANSWER_MASKS[requested]
        elif (
            isinstance(event, SlotSet)
            and event.key == "date_naissance"
            and event.value is not None
            and last_user is not None
        ):
            answers.setdefault(last_user, DATE_MASK)
    return answers


def _live_number_position(events: Sequence[Event]) -> int | None:
    """Position of the SlotSet that gives numero_dossier its current value, if any."""
    live = None
    for position, event in enumerate(events):
        if isinstance(event, SlotSet) and event.key == NUMERO_SLOT:
            live = position if event.value is not None else None
        elif isinstance(event, _FORGETTING_EVENTS):
            live = None
    return live


def _forgets_numbers(event: Event) -> bool:
    return isinstance(event, _FORGETTING_EVENTS) or (
        isinstance(event, SlotSet) and event.key == NUMERO_SLOT
    )


class RedactingSQLTrackerStore(SQLTrackerStore):
    """`SQLTrackerStore` that masks personal data and encrypts the request number."""

    def __init__(
        self,
        domain: Any = None,
        dialect: str = "sqlite",
        host: str | None = None,
        port: int | None = None,
        db: str = "rasa.db",
        username: str | None = None,
        password: str | None = None,
        event_broker: Any = None,
        login_db: str | None = None,
        query: dict | None = None,
        **kwargs: Any,
    ) -> None:
        # Before anything is created: without the key, Rasa must not start at all.
        self._fernet = fernet_from_environment()
        sqlite_file = sqlite_database_path(dialect, host, db)
        if sqlite_file is not None:
            make_private_sqlite_file(sqlite_file)
        super().__init__(
            domain=domain,
            dialect=dialect,
            host=host,
            port=port,
            db=db,
            username=username,
            password=password,
            event_broker=event_broker,
            login_db=login_db,
            query=query,
            **kwargs,
        )
        if self.engine.dialect.name == "sqlite":
            # Overwritten values (the encrypted numbers) must not linger in free pages.
            sa.event.listen(self.engine, "connect", _secure_delete)
            self.engine.dispose()

    # Writing -------------------------------------------------------------------------

    def _additional_events(self, session: Session, tracker: DialogueStateTracker) -> Iterator:
        """The events Rasa has not stored yet, redacted; superseded numbers are masked."""
        new_events = list(super()._additional_events(session, tracker))
        if not new_events:
            return iter(())
        events = list(tracker.events)
        first_new = len(events) - len(new_events)
        answers = _form_answers(events)
        live_number = _live_number_position(events)
        redacted = [
            self._redact(events[position], answers.get(position), position == live_number)
            for position in range(first_new, len(events))
        ]
        if any(_forgets_numbers(event) for event in new_events):
            self._mask_stored_numbers(session, tracker.sender_id)
        return iter(redacted)

    def _redact(self, event: Event, whole_text_mask: str | None, live_number: bool) -> Event:
        if isinstance(event, UserUttered):
            data = redact_user_message(event.as_dict(), whole_text_mask)
            return Event.from_parameters(data)
        if isinstance(event, BotUttered) and event.text:
            if (event.metadata or {}).get("utter_action") in RESPONSES_WITH_A_BIRTH_DATE:
                data = _json_copy(event.as_dict())
                data["text"] = mask_personal_data(event.text)
                return Event.from_parameters(data)
            return event
        if isinstance(event, SlotSet) and event.value is not None:
            if event.key == NUMERO_SLOT:
                value = self._encrypt(str(event.value)) if live_number else NUMBER_MASK
            elif event.key == PROPOSED_DATE_SLOT:
                value = self._encrypt(str(event.value))
            elif event.key in MASKED_SLOTS:
                value = MASKED_SLOTS[event.key]
            else:
                return event
            return SlotSet(event.key, value, event.timestamp, event.metadata)
        if isinstance(event, (EntitiesAdded, ReminderScheduled)) and event.entities:
            data = _json_copy(event.as_dict())
            data["entities"] = _redact_entities(data["entities"])
            return Event.from_parameters(data)
        return event

    def _mask_stored_numbers(self, session: Session, sender_id: str) -> None:
        """Overwrite the sender's stored encrypted numbers with a marker (same transaction)."""
        rows = session.query(self.SQLEvent).filter(
            self.SQLEvent.sender_id == sender_id,
            self.SQLEvent.type_name == SlotSet.type_name,
            self.SQLEvent.data.contains(ENCRYPTED_PREFIX),
        )
        for row in rows:
            data = json.loads(row.data)
            value = data.get("value")
            if (
                data.get("name") == NUMERO_SLOT
                and isinstance(value, str)
                and value.startswith(ENCRYPTED_PREFIX)
            ):
                data["value"] = NUMBER_MASK
                row.data = json.dumps(data)

    def _encrypt(self, value: str) -> str:
        return ENCRYPTED_PREFIX + self._fernet.encrypt(value.encode()).decode()

    # Reading -------------------------------------------------------------------------

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        """The latest session, the request number decrypted, masked values as None."""
        return self._restore(await super().retrieve(sender_id))

    async def retrieve_full_tracker(self, conversation_id: str) -> DialogueStateTracker | None:
        """All sessions, the request number decrypted, masked values as None."""
        return self._restore(await super().retrieve_full_tracker(conversation_id))

    def _restore(self, tracker: DialogueStateTracker | None) -> DialogueStateTracker | None:
        if tracker is None:
            return None
        events = list(tracker.events)
        restored = [self._restore_event(event) for event in events]
        if all(old is new for old, new in zip(events, restored, strict=True)):
            return tracker
        return DialogueStateTracker.from_events(
            tracker.sender_id, restored, self.domain.slots, sender_source=tracker.sender_source
        )

    def _restore_event(self, event: Event) -> Event:
        if not isinstance(event, SlotSet) or not isinstance(event.value, str):
            return event
        if event.key in (NUMERO_SLOT, PROPOSED_DATE_SLOT) and event.value.startswith(
            ENCRYPTED_PREFIX
        ):
            value = self._decrypt(event.value)
        elif (event.key == NUMERO_SLOT or event.key in MASKED_SLOTS) and event.value in MASKS:
            value = None
        else:
            return event
        return SlotSet(event.key, value, event.timestamp, event.metadata)

    def _decrypt(self, value: str) -> str | None:
        try:
            return self._fernet.decrypt(value.removeprefix(ENCRYPTED_PREFIX).encode()).decode()
        except InvalidToken:
            logger.warning(
                "A stored request number cannot be decrypted (was %s changed?): it is "
                "read as not given, and the form will ask for it again.",
                KEY_VARIABLE,
            )
            return None


def _secure_delete(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.execute("PRAGMA secure_delete = ON")
