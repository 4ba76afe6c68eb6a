"""The chat door: the only way from a browser or a kiosk to the assistant.

It owns what a person must not choose: the conversation id (random, kept in a signed cookie),
who is asking (a keyed hash of the edge address, passed to Rasa as message metadata, which the
action server forwards to the dossier API), and the limits (message length, messages per
conversation and per address per minute). Messages go to Guichet's chat channel of Rasa on
loopback, with the door's token. What the door answers by itself comes from the Rasa domain
(assistant/domain/porte.yml), like every other word a person reads.
"""

import asyncio
import contextlib
import hashlib
import hmac
import ipaddress
import re
import secrets
import time
import unicodedata
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml
from itsdangerous import BadSignature, URLSafeTimedSerializer
from limits import RateLimitItemPerMinute
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter

from api.config import ROOT, Settings
from api.logging import get_logger

DOMAIN_DIR = ROOT / "assistant" / "domain"
COOKIE_NAME = "guichet_conversation"
# The action server adds this to an answer when the person asked to erase the conversation.
FORGET_MARKER = "guichet"
# What the chat page shows before the first message, in order: the domain's door responses.
WELCOME = ("utter_door_welcome", "utter_door_welcome_phone")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u206f]")
_SPACES = re.compile(r"\s+")
log = get_logger()


def _unescaped(payload: str) -> str:
    # Responses escape braces for Rasa's templating: {{ is a literal {.
    return payload.replace("{{", "{").replace("}}", "}")


class DoorMessages:
    """The door's own answers and the button payloads people may send, read from the domain."""

    def __init__(self, domain_dir: Path = DOMAIN_DIR) -> None:
        self.texts: dict[str, str] = {}
        self.buttons: dict[str, list[dict[str, str]]] = {}
        self.payloads: set[str] = set()
        intents: set[str] = set()
        templated = False
        for path in sorted(domain_dir.glob("*.yml")):
            domain = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            intents.update(
                i if isinstance(i, str) else next(iter(i)) for i in domain.get("intents") or []
            )
            for name, variations in (domain.get("responses") or {}).items():
                for variation in variations:
                    if name.startswith("utter_door_") and "channel" not in variation:
                        self.texts.setdefault(name, variation["text"])
                        self.buttons.setdefault(
                            name,
                            [
                                {"title": b["title"], "payload": _unescaped(b["payload"])}
                                for b in variation.get("buttons", [])
                            ],
                        )
                    for button in variation.get("buttons", []):
                        if button["payload"].startswith("/{intent"):
                            # The fallback's guesses ("/{intent}", "/{intent_1}"…): any intent.
                            templated = True
                            continue
                        self.payloads.add(_unescaped(button["payload"]))
        if templated:
            self.payloads.update(f"/{intent}" for intent in intents)

    def answer(self, name: str) -> list[dict[str, Any]]:
        """A door response in the shape of the assistant's answers."""
        message: dict[str, Any] = {"text": self.texts[name]}
        if self.buttons.get(name):
            message["buttons"] = self.buttons[name]
        return [message]

    def welcome(self) -> list[dict[str, Any]]:
        """What the chat page shows before the first message."""
        return [message for name in WELCOME for message in self.answer(name)]


def clean_message(text: str, allowed_payloads: set[str]) -> str:
    """The message as the assistant should read it.

    Control and invisible characters go, spaces fold. A payload ("/intent{...}") passes only
    when it is one of the domain's buttons: a typed "/restart" or a forged slot becomes text.
    """
    text = _SPACES.sub(" ", _CONTROL.sub(" ", unicodedata.normalize("NFC", text))).strip()
    if text.startswith("/") and text not in allowed_payloads:
        text = text.lstrip("/ ")
    return text


def asker_network(address: str) -> str:
    """The network one person asks from: an IPv4 address, or an IPv6 /64.

    A home or a phone gets a whole IPv6 /64: counting each of its addresses apart would give
    one person billions of "askers" and no limit at all.
    """
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def new_conversation_id() -> str:
    """Unguessable: 144 random bits."""
    return secrets.token_urlsafe(18)


class ConversationCookie:
    """Signs conversation ids, so a browser can neither choose nor forge one."""

    def __init__(self, key: str, max_age_seconds: int) -> None:
        self._serializer = URLSafeTimedSerializer(key, salt="guichet-conversation")
        self.max_age_seconds = max_age_seconds

    def sign(self, conversation_id: str) -> str:
        return self._serializer.dumps(conversation_id)

    def read(self, value: str | None) -> str | None:
        """The conversation id, or None for a missing, forged or expired cookie."""
        if not value:
            return None
        try:
            conversation = self._serializer.loads(value, max_age=self.max_age_seconds)
        except BadSignature:
            return None
        return conversation if isinstance(conversation, str) else None


@dataclass(frozen=True)
class Refusal:
    """A limit was reached: wait this many seconds."""

    retry_after: int


class DoorLimits:
    """Messages per conversation and per address per minute (moving windows)."""

    def __init__(self, settings: Settings) -> None:
        storage: Storage = (
            RedisStorage(settings.redis_url, implementation="redispy", key_prefix="guichet-door")
            if settings.redis_url
            else MemoryStorage()
        )
        self._limiter = MovingWindowRateLimiter(storage)
        self._per_conversation = RateLimitItemPerMinute(settings.chat_per_conversation_per_minute)
        self._per_address = RateLimitItemPerMinute(settings.chat_per_address_per_minute)

    async def check(self, conversation: str, asker: str, kind: str = "") -> Refusal | None:
        """`kind` counts another use (e.g. "tts:") apart from messages, with the same limits."""
        for item, subject in (
            (self._per_address, f"{kind}address:{asker}"),
            (self._per_conversation, f"{kind}conversation:{conversation}"),
        ):
            if not await self._limiter.hit(item, subject):
                stats = await self._limiter.get_window_stats(item, subject)
                return Refusal(retry_after=max(1, int(stats.reset_time - time.time()) + 1))
        return None


class VoiceUnavailable(Exception):
    """The voice gateway is not configured, not reachable, or did not give audio."""


class RasaUnavailable(Exception):
    """Rasa did not answer, or not as expected."""


def rasa_urls(setting: str) -> list[str]:
    """GUICHET_RASA_URL: one Rasa, or several replicas separated by commas."""
    urls = [url.strip().rstrip("/") for url in setting.split(",") if url.strip()]
    if not urls:
        raise ValueError("GUICHET_RASA_URL is empty: the chat door needs Rasa's address.")
    return urls


def replica_order(conversation: str, replicas: int) -> list[int]:
    """The replicas to try for a conversation: its own first, then the next ones.

    Its own is drawn from a hash of the id, the same in every API worker and on every machine,
    so that a conversation keeps to one Rasa while it is up; the lock store (endpoints.yml)
    keeps its messages in order when they reach two replicas all the same.
    """
    digest = hashlib.sha256(conversation.encode()).digest()
    first = int.from_bytes(digest[:8], "big") % replicas
    return [(first + step) % replicas for step in range(replicas)]


class ChatDoor:
    """Everything a chat request needs, built once per process."""

    def __init__(self, settings: Settings, transport: httpx.AsyncBaseTransport | None = None):
        self.settings = settings
        self.messages = DoorMessages()
        self._held: dict[str, tuple[asyncio.Lock, int]] = {}
        self.limits = DoorLimits(settings)
        self.cookie = ConversationCookie(
            settings.cookie_key, max_age_seconds=settings.retention_days * 86_400
        )
        self._rasa_urls = rasa_urls(settings.rasa_url)
        self._client = httpx.AsyncClient(
            transport=transport,
            timeout=httpx.Timeout(60.0, connect=5.0),
            headers={"Authorization": f"Bearer {settings.chat_token}"},
        )
        # A client of its own: the chat token must never reach the voice gateway.
        self._voice = httpx.AsyncClient(
            transport=transport, timeout=httpx.Timeout(30.0, connect=3.0)
        )

    @contextlib.asynccontextmanager
    async def holding(self, conversation: str) -> AsyncIterator[None]:
        """One thing at a time per conversation in this process: a message being answered, or
        its erasure. Erasing while Rasa answers would let Rasa write the whole session back."""
        lock, users = self._held.get(conversation, (asyncio.Lock(), 0))
        self._held[conversation] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._held[conversation]
            if users == 1:
                del self._held[conversation]
            else:
                self._held[conversation] = (lock, users - 1)

    def asker(self, address: str) -> str:
        """Who asks, as a keyed hash of the edge address: counted, never kept in clear."""
        key = self.settings.cookie_key.encode()
        network = asker_network(address)
        return hmac.new(key, f"asker:{network}".encode(), hashlib.sha256).hexdigest()[:32]

    async def forward(self, conversation: str, text: str, asker: str) -> list[dict[str, Any]]:
        """Send one message to Rasa's chat channel; return its answers as Rasa gives them.

        A Rasa replica that cannot be reached is skipped for the next one: nothing was sent to
        it. Once sent, a message is never sent again (the first Rasa may have handled it).
        """
        body = {
            "sender": conversation,
            "message": text,
            "metadata": {"asker": asker, "door": "web"},
        }
        unreachable: httpx.HTTPError | None = None
        for replica in replica_order(conversation, len(self._rasa_urls)):
            try:
                response = await self._client.post(
                    f"{self._rasa_urls[replica]}/webhooks/chat/webhook", json=body
                )
                break
            except (httpx.ConnectError, httpx.ConnectTimeout) as error:
                unreachable = error
            except httpx.HTTPError as error:
                raise RasaUnavailable(type(error).__name__) from error
        else:
            raise RasaUnavailable(type(unreachable).__name__) from unreachable
        if response.status_code != 200:
            raise RasaUnavailable(f"status {response.status_code}")
        try:
            answers = response.json()
        except ValueError as error:
            raise RasaUnavailable("unreadable body") from error
        if not isinstance(answers, list):
            raise RasaUnavailable("unexpected body")
        return [answer for answer in answers if isinstance(answer, dict)]

    async def speak(self, text: str, slow: bool) -> bytes:
        """The text read aloud by the voice gateway (WAV); its token stays on the server."""
        base = self.settings.voice_url.strip().rstrip("/")
        if not base:
            raise VoiceUnavailable("GUICHET_VOICE_URL is not set")
        token = self.settings.voice_web_token
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        try:
            response = await self._voice.post(
                f"{base}/tts", json={"text": text, "slow": slow}, headers=headers
            )
        except httpx.HTTPError as error:
            raise VoiceUnavailable(type(error).__name__) from error
        if response.status_code != 200:
            raise VoiceUnavailable(f"status {response.status_code}")
        if not response.headers.get("content-type", "").startswith("audio/wav"):
            raise VoiceUnavailable("not audio/wav")
        return response.content

    async def close(self) -> None:
        await self._client.aclose()
        await self._voice.aclose()


def wants_forgetting(answers: list[dict[str, Any]]) -> bool:
    """Whether the assistant marked this conversation for erasure."""
    return any(
        isinstance(answer.get("custom"), dict)
        and isinstance(answer["custom"].get(FORGET_MARKER), dict)
        and answer["custom"][FORGET_MARKER].get("forget") is True
        for answer in answers
    )


def for_people(answers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Only what a page shows: texts and buttons (no ids, no internal markers)."""
    shown = []
    for answer in answers:
        message: dict[str, Any] = {}
        if isinstance(answer.get("text"), str):
            message["text"] = answer["text"]
        buttons = [
            {"title": str(button.get("title", "")), "payload": str(button.get("payload", ""))}
            for button in answer.get("buttons") or []
            if isinstance(button, dict)
        ]
        if buttons:
            message["buttons"] = buttons
        if message:
            shown.append(message)
    return shown
