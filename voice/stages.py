"""The four stages of a voice call, as small interfaces, so that each can be replaced or faked.

A call is: a transport (phone line or WebSocket) that brings audio and keys in and plays audio
out; speech-to-text that turns the caller's audio into words; the dialogue (Rasa, through the
`voice` input channel) that answers; text-to-speech that turns the answer into audio. The
call loop (voice/call.py) only knows these interfaces.

Inside the gateway all audio is one format, written down once here and in voice/README.md:
16 kHz, 16-bit signed little-endian, mono PCM (`PCM_RATE`, `SAMPLE_WIDTH`). Transports convert
at their edge (G.711 8 kHz on the phone, voice/audio.py).
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

PCM_RATE = 16_000
SAMPLE_WIDTH = 2  # bytes per sample, signed little-endian
FRAME_MS = 20
FRAME_BYTES = PCM_RATE * SAMPLE_WIDTH * FRAME_MS // 1000  # 640 bytes per 20 ms


class Expectation(enum.Enum):
    """What the assistant waits for: it narrows the recogniser's vocabulary and the keypad."""

    FREE = "free"  # any sentence
    YES_NO = "yes_no"  # "tapez 1 pour oui, 2 pour non"
    DIGITS = "digits"  # a request number, keyed with # to finish, * to start again
    DATE = "date"  # a date of birth, keyed as 8 digits JJMMAAAA
    MENU = "menu"  # one key per button of the last answer


@dataclass(frozen=True)
class Utterance:
    """What the recogniser heard, once the caller stopped speaking."""

    text: str
    confidence: float  # 0..1, after the check of voice/stt.py, not Vosk's raw figure
    in_vocabulary: bool = True  # False when the words fall outside the expected vocabulary


@dataclass(frozen=True)
class Button:
    title: str
    payload: str


@dataclass(frozen=True)
class BotMessage:
    """One answer of the assistant, as the voice channel hands it over."""

    text: str
    buttons: tuple[Button, ...] = ()
    expectation: Expectation = Expectation.FREE
    # The caller asked for a slower voice ("plus lentement"): for the rest of the call.
    slow: bool = False


@dataclass(frozen=True)
class Key:
    """A key the caller pressed (RFC 4733 event on the phone, a button on the kiosk)."""

    digit: str  # "0".."9", "*", "#"


@dataclass
class CallInfo:
    """What is known of a call; the caller's number is kept masked only (privacy)."""

    call_id: str
    channel: str  # "phone" or "kiosk"
    masked_caller: str = ""  # e.g. "06 •• •• •• 78", never the full number
    extra: dict[str, str] = field(default_factory=dict)


class RecognitionStream(Protocol):
    """One recogniser for one call, fed with PCM frames as they arrive."""

    def expect(self, expectation: Expectation) -> None:
        """Narrow (or widen) the vocabulary for the next utterance."""

    async def feed(self, pcm: bytes) -> Utterance | None:
        """Feed 16 kHz PCM; returns an utterance once the trailing silence is reached.

        Decoding runs off the event loop.
        """

    def speech_started(self) -> bool:
        """True once the caller is speaking in the current utterance (for barge-in)."""

    async def close(self) -> None: ...


class SpeechToText(Protocol):
    available: bool  # False when no model is installed: the call goes on with the keypad only

    def open_stream(self) -> RecognitionStream: ...


class TextToSpeech(Protocol):
    async def synthesize(self, text: str, *, slow: bool = False) -> bytes:
        """16 kHz PCM of `text` in the French voice; cached by text and rate."""

    async def warm_up(self, texts: Sequence[str]) -> None:
        """Synthesize fixed prompts ahead, so they start playing at once."""

    async def close(self) -> None: ...


class Dialogue(Protocol):
    async def send(self, call: CallInfo, text: str, *, keyed: bool = False) -> list[BotMessage]:
        """Send what the caller said or keyed (text or a /payload) and return the answers.

        `keyed`: the digits were typed on the keypad (a number keyed outside a question of
        the assistant starts the status check with it).
        """


class CallTransport(Protocol):
    """One live call on a transport: audio and keys in, audio out."""

    info: CallInfo

    def audio_in(self) -> AsyncIterator[bytes]:
        """16 kHz PCM frames of FRAME_BYTES from the caller, until the call ends."""

    def keys_in(self) -> AsyncIterator[Key]: ...

    async def play(self, pcm: bytes) -> None:
        """Play 16 kHz PCM to the caller, paced in real time; cancel the task to barge in."""

    async def hang_up(self) -> None: ...
