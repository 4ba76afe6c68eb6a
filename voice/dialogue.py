"""The dialogue stage: Rasa's `voice` input channel (assistant/voice_channel.py), over HTTP.

One pooled client for every call of the gateway. The sender id is the call id (random, drawn
by the transport), so each call is one conversation; the message's metadata carries the door,
the caller's masked number and a keyed hash of the caller, never the number itself. When Rasa
cannot be reached the caller hears the domain's "je n'ai pas pu joindre l'assistant" and the
call goes on; the operator reads why in the log.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
from typing import Any

import httpx

from voice.prompts import UNREACHABLE, VoicePrompts
from voice.stages import BotMessage, Button, CallInfo, Expectation

logger = logging.getLogger(__name__)


def caller_hash(key: str, caller: str) -> str:
    """Who calls, as a keyed hash: the dossier API counts wrong dates per caller with it."""
    return hmac.new(key.encode(), f"caller:{caller}".encode(), hashlib.sha256).hexdigest()[:32]


def _expectation(value: Any) -> Expectation:
    try:
        return Expectation(value)
    except ValueError:
        return Expectation.FREE


def messages_of(answer: Any) -> list[BotMessage]:
    """The channel's answer as BotMessages: what comes next is on the last one."""
    if not isinstance(answer, dict) or not isinstance(answer.get("messages"), list):
        raise ValueError("unexpected answer from the voice channel")
    slow = answer.get("slow") is True
    messages = [
        BotMessage(
            text=str(message.get("text", "")),
            buttons=tuple(
                Button(title=str(b.get("title", "")), payload=str(b.get("payload", "")))
                for b in message.get("buttons") or []
                if isinstance(b, dict)
            ),
            slow=slow,
        )
        for message in answer["messages"]
        if isinstance(message, dict) and message.get("text")
    ]
    if messages:
        last = messages[-1]
        expects = _expectation(answer.get("expects"))
        messages[-1] = BotMessage(last.text, last.buttons, expects, slow)
    return messages


class RasaDialogue:
    """Dialogue over HTTP to Rasa's voice channel, with its token."""

    def __init__(
        self,
        rasa_url: str,
        token: str,
        prompts: VoicePrompts,
        *,
        timeout_seconds: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
        tracker_db_url: str = "",
    ) -> None:
        if not token:
            raise ValueError("GUICHET_VOICE_TOKEN is empty: the gateway cannot talk to Rasa.")
        # GUICHET_RASA_URL: one Rasa, or replicas separated by commas; a call keeps to one.
        self._urls = [
            f"{url.strip().rstrip('/')}/webhooks/voice/webhook"
            for url in rasa_url.split(",")
            if url.strip()
        ]
        if not self._urls:
            raise ValueError("GUICHET_RASA_URL is empty: the gateway needs Rasa's address.")
        self._token = token
        self._prompts = prompts
        # Where Rasa keeps conversations, to erase one when the caller asks
        # ("effacez ma conversation"), as the chat door does; then the call goes on in a new one.
        self._tracker_db_url = tracker_db_url
        self._senders: dict[str, str] = {}
        self._client = httpx.AsyncClient(
            transport=transport,
            timeout=httpx.Timeout(timeout_seconds, connect=5.0),
            headers={"Authorization": f"Bearer {token}"},
            limits=httpx.Limits(max_connections=50, max_keepalive_connections=20),
        )

    async def send(self, call: CallInfo, text: str, *, keyed: bool = False) -> list[BotMessage]:
        metadata: dict[str, str] = {"door": call.channel}
        if call.masked_caller:
            metadata["caller"] = call.masked_caller
        caller = call.extra.get("caller")  # the full number, if the transport knows it
        if caller:
            metadata["asker"] = caller_hash(self._token, caller)
        sender = self._senders.get(call.call_id, call.call_id)
        body = {"sender": sender, "message": text, "metadata": metadata, "keyed": keyed}
        url = self._url_for(call.call_id)
        try:
            response = await self._client.post(url, json=body)
            response.raise_for_status()
            answer = response.json()
            messages = messages_of(answer)
        except (httpx.HTTPError, ValueError) as error:
            logger.error(
                "call %s: Rasa's voice channel at %s failed: %s",
                call.call_id[:8],
                url,
                type(error).__name__,
            )
            return [BotMessage(self._prompts.text(UNREACHABLE))]
        if answer.get("forget") is True:
            await self._forget(call, sender)
        return messages

    async def _forget(self, call: CallInfo, sender: str) -> None:
        """Erase the conversation Rasa just saved; the rest of the call is a new one."""
        self._senders[call.call_id] = f"{call.call_id}-{secrets.token_hex(6)}"
        if not self._tracker_db_url:
            logger.error("call %s: erasure asked, but no GUICHET_TRACKER_DB_URL", call.call_id[:8])
            return
        from api.retention import forget_conversation_at

        deleted = await asyncio.to_thread(forget_conversation_at, self._tracker_db_url, sender)
        logger.info("call %s: conversation erased (%d events)", call.call_id[:8], deleted)

    def _url_for(self, call_id: str) -> str:
        digest = hashlib.sha256(call_id.encode()).digest()
        return self._urls[int.from_bytes(digest[:8], "big") % len(self._urls)]

    async def close(self) -> None:
        await self._client.aclose()
