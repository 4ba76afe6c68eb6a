"""The chat channel sends a typed choice after buttons as the button's payload."""

import asyncio

import pytest
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from assistant.channels import as_typed_choice

BUTTONS = [
    {"title": "Redonner la date", "payload": "/check_status"},
    {"title": "Redonner le numéro", "payload": "/give_number_again"},
    {"title": "Parler à quelqu'un", "payload": "/ask_human"},
]


class Store:
    """A tracker store holding one conversation, counting its reads."""

    def __init__(self, events: list) -> None:
        self.tracker = DialogueStateTracker.from_events("c1", events)
        self.reads = 0

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        self.reads += 1
        return self.tracker if sender_id == "c1" else None


def conversation(*bot_messages: BotUttered) -> list:
    return [
        ActionExecuted("action_listen"),
        UserUttered("où en est mon dossier"),
        *bot_messages,
        ActionExecuted("action_listen"),
    ]


@pytest.mark.parametrize(
    ("typed", "sent"),
    [
        ("le premier", "/check_status"),
        ("2", "/give_number_again"),
        ("Parler à quelqu'un", "/ask_human"),
        ("la date", "/check_status"),
        ("12/03/1948", "12/03/1948"),
        ("merci beaucoup", "merci beaucoup"),
    ],
)
def test_a_typed_choice_is_the_button(typed: str, sent: str) -> None:
    store = Store(conversation(BotUttered("Je ne trouve pas.", {"buttons": BUTTONS})))
    assert asyncio.run(as_typed_choice(store, "c1", typed)) == sent


def test_without_buttons_the_text_is_kept() -> None:
    store = Store(conversation(BotUttered("Quel est le numéro de votre demande ?")))
    assert asyncio.run(as_typed_choice(store, "c1", "le premier")) == "le premier"


def test_buttons_of_an_older_answer_do_not_count() -> None:
    events = [
        *conversation(BotUttered("Je ne trouve pas.", {"buttons": BUTTONS})),
        UserUttered("bonjour"),
        BotUttered("Bonjour."),
        ActionExecuted("action_listen"),
    ]
    assert asyncio.run(as_typed_choice(Store(events), "c1", "2")) == "2"


def test_long_messages_commands_and_new_conversations_are_not_read() -> None:
    store = Store(conversation(BotUttered("x", {"buttons": BUTTONS})))
    long_message = "en fait je veux vendre ma voiture pas la peine"
    assert asyncio.run(as_typed_choice(store, "c1", long_message)) == long_message
    assert asyncio.run(as_typed_choice(store, "c1", "/ask_human")) == "/ask_human"
    assert store.reads == 0
    assert asyncio.run(as_typed_choice(store, "c2", "le premier")) == "le premier"
    assert asyncio.run(as_typed_choice(None, "c1", "le premier")) == "le premier"
