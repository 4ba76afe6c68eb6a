"""The input channel of Guichet's public chat door.

Browsers and kiosks never reach Rasa: they talk to the door (api/routers/chat.py), which owns
the conversation ids and the limits, and forwards each message here on loopback with its token.
This channel is Rasa's REST channel with three differences: it refuses a call without the
door's token, it keeps only the metadata the door is allowed to set, and it never writes a
person's message into the logs.
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

logger = logging.getLogger(__name__)

# What the door may tell Rasa about a message: who asks (a keyed hash of the edge address)
# and through which door (web page, kiosk, phone).
ALLOWED_METADATA = ("asker", "door")


class ChatDoorInput(InputChannel):
    """POST /webhooks/chat/webhook {"sender", "message", "metadata"} with the door's token."""

    def __init__(self, token: str) -> None:
        if not token:
            raise ValueError(
                "GUICHET_CHAT_TOKEN is empty: the chat channel refuses to start without a token."
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
