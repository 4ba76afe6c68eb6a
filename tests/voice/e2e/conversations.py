"""What Rasa stored of the voice calls (its SQL tracker store, SQLite in the test stack)."""

import json
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Conversation:
    sender: str
    user: list[dict] = field(default_factory=list)  # user events (input channel, metadata)
    bot: list[str] = field(default_factory=list)  # what the assistant said

    @property
    def said(self) -> str:
        return " ".join(self.bot)


def voice_conversations(tracker_db: Path) -> list[Conversation]:
    """The conversations whose messages came through the voice channel."""
    if not tracker_db.exists():
        return []
    with sqlite3.connect(tracker_db) as database:
        rows = database.execute("SELECT sender_id, type_name, data FROM events ORDER BY id")
        conversations: dict[str, Conversation] = {}
        for sender, kind, data in rows:
            conversation = conversations.setdefault(sender, Conversation(sender))
            event = json.loads(data)
            if kind == "user":
                conversation.user.append(event)
            elif kind == "bot" and event.get("text"):
                conversation.bot.append(event["text"])
    return [
        c for c in conversations.values() if any(u.get("input_channel") == "voice" for u in c.user)
    ]


def stored_text(tracker_db: Path) -> str:
    """Everything the tracker store holds, as stored."""
    with sqlite3.connect(tracker_db) as database:
        return "\n".join(row[0] for row in database.execute("SELECT data FROM events"))


def wait_for(
    tracker_db: Path, words: str, timeout: float = 90, besides: frozenset[str] = frozenset()
) -> Conversation:
    """The voice conversation (not one of `besides`) in which the assistant said `words`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for conversation in voice_conversations(tracker_db):
            if words in conversation.said and conversation.sender not in besides:
                return conversation
        time.sleep(0.5)
    said = [c.said[-300:] for c in voice_conversations(tracker_db)]
    raise AssertionError(f"no voice conversation said {words!r} in {timeout} s: {said}")
