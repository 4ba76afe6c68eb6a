"""The input channel of Guichet's public chat door.

Browsers and kiosks never reach Rasa: they talk to the door (api/routers/chat.py), which owns
the conversation ids and the limits, and forwards each message here on loopback with its token.
This channel is Rasa's REST channel with four differences: it refuses a call without the
door's token, it keeps only the metadata the door is allowed to set, it never writes a
person's message into the logs, and a typed choice after buttons ("le premier", "2", the
label or a word of it) is sent as that button's payload, as a click would be
(guichet/choices.py).
"""

import hmac
import logging
import traceback
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from guichet.choices import MAX_CHOICE_WORDS, buttons_of_last_answer, chosen_button

logger = logging.getLogger(__name__)

# What the door may tell Rasa about a message: who asks (a keyed hash of the edge address)
# and through which door (web page, kiosk, phone).
ALLOWED_METADATA = ("asker", "door")


async def as_typed_choice(tracker_store: Any, sender: str, text: str) -> str:
    """`text`, or the payload of the button it chooses among the assistant's last buttons.

    Only short messages can be a choice: the conversation is read for those alone.
    """
    if tracker_store is None or text.startswith("/") or len(text.split()) > MAX_CHOICE_WORDS:
        return text
    tracker = await tracker_store.retrieve(sender)
    if tracker is None:
        return text
    events = [event.as_dict() for event in tracker.events]
    button = chosen_button(text, buttons_of_last_answer(events))
    return str(button["payload"]) if button else text


def _tracker_store_of(request: Request) -> Any:
    agent = getattr(request.app.ctx, "agent", None)
    return getattr(agent, "tracker_store", None)


class ChatDoorInput(InputChannel):
    """POST /webhooks/chat/webhook {"sender", "message", "metadata"} with the door's token."""

    # Where the token comes from, named when it is missing (a subclass names its own).
    TOKEN_ENV = "GUICHET_CHAT_TOKEN"

    def __init__(self, token: str) -> None:
        if not token:
            raise ValueError(
                f"{self.TOKEN_ENV} is empty: the {self.name()} channel refuses to start "
                "without a token."
            )
        self._token = token.encode()

    @classmethod
    def name(cls) -> str:
        return "chat"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> "ChatDoorInput":
        return cls(token=str((credentials or {}).get("token") or ""))

    def authorised(self, request: Request) -> bool:
        """Whether the call carries the door's bearer token (compared in constant time)."""
        header = request.headers.get("Authorization", "")
        given = header[len("Bearer ") :] if header.startswith("Bearer ") else ""
        return hmac.compare_digest(given.encode(), self._token)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint("guichet_chat_door", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if not self.authorised(request):
                return response.json({"error": "unauthorised"}, status=401)
            body = request.json if isinstance(request.json, dict) else {}
            sender, text = body.get("sender"), body.get("message")
            if not isinstance(sender, str) or not sender or not isinstance(text, str):
                return response.json({"error": "sender and message are required"}, status=400)
            metadata = body.get("metadata") if isinstance(body.get("metadata"), dict) else {}
            collector = CollectingOutputChannel()
            try:
                text = await as_typed_choice(_tracker_store_of(request), sender, text)
                await on_new_message(
                    UserMessage(
                        text,
                        collector,
                        sender,
                        input_channel=self.name(),
                        metadata={k: metadata[k] for k in ALLOWED_METADATA if k in metadata},
                    )
                )
            except Exception as error:
                # The frames say where it failed; the exception's message may quote the person.
                logger.error(
                    "chat door message failed: %s (%d characters)\n%s",
                    type(error).__name__,
                    len(text),
                    "".join(traceback.format_tb(error.__traceback__)),
                )
                return response.json({"error": "message failed"}, status=500)
            return response.json(collector.messages)

        return webhook
