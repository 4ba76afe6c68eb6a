"""One call, from the greeting to the hang-up, over the four stages of voice/stages.py.

The caller speaks or uses the keypad; the assistant answers through the dialogue stage, and
each answer is spoken, followed by what to key: a menu built from the answer's buttons
("Pour suivre mon dossier, tapez 1."), "Pour oui, tapez 1. Pour non, tapez 2." where the
assistant asks yes or no, or how to key a number or a date. Every sentence comes from the
domain (voice/prompts.py, the answers from Rasa).

Keys: 0 reaches a person (the domain's ask_human answer) outside a number or a date; a number
or a date is keyed then `#` (`*` starts again); in a menu one key chooses, once the caller
stops keying for `key_pause_seconds` (so that a request number keyed at the greeting is not
read as a choice). Speech or a key while the assistant speaks stops it (barge-in). After
`silence_seconds` without a word or a key the caller is prompted again; the third silence in a
row ends the call politely. "Plus lentement" slows the voice for the rest of the call.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from voice.prompts import (
    GOODBYE,
    HUMAN_KEY,
    HUMAN_PAYLOAD,
    NOT_HEARD,
    REPROMPT,
    WRONG_KEY,
    YES_NO_KEYS,
    VoicePrompts,
    keypad_menu,
    spoken_title,
)
from voice.stages import (
    BotMessage,
    Button,
    CallTransport,
    Dialogue,
    Expectation,
    RecognitionStream,
    SpeechToText,
    TextToSpeech,
    Utterance,
)

logger = logging.getLogger(__name__)

ENTRY = (Expectation.DIGITS, Expectation.DATE)  # keyed, then "#"
MAX_KEYED = 32  # longer than any request number or date: the rest is dropped


@dataclass(frozen=True)
class CallSettings:
    silence_seconds: float = 8.0  # without a word or a key after the assistant spoke
    max_silences: int = 3  # the last one ends the call
    key_pause_seconds: float = 1.5  # after one key of a menu, before it counts as a choice
    min_confidence: float = 0.4  # below it, an utterance is asked again rather than sent


# What the pumps put on the call's queue.
@dataclass(frozen=True)
class _KeyPressed:
    digit: str


@dataclass(frozen=True)
class _Heard:
    utterance: Utterance


class _SpeechStarted:
    pass


class _CallEnded:
    pass


class _Timeout:
    pass


class Call:
    """Runs one call: `await Call(...).run()` returns when the call is over."""

    def __init__(
        self,
        transport: CallTransport,
        dialogue: Dialogue,
        tts: TextToSpeech,
        prompts: VoicePrompts,
        stt: SpeechToText | None = None,
        settings: CallSettings | None = None,
    ) -> None:
        self.transport = transport
        self.dialogue = dialogue
        self.tts = tts
        self.prompts = prompts
        self.settings = settings or CallSettings()
        self.keypad_only = stt is None or not stt.available
        self._stt = None if self.keypad_only else stt
        self._stream: RecognitionStream | None = None
        self._events: asyncio.Queue[object] = asyncio.Queue()
        self._getter: asyncio.Task[object] | None = None
        self._playing: asyncio.Task[None] | None = None
        self.expectation = Expectation.MENU
        self.buttons: tuple[Button, ...] = ()
        self.slow = False
        self.keyed = ""
        self.silences = 0
        self.ended = False
        self._hinted: set[Expectation] = set()

    # --- The loop.

    async def run(self) -> None:
        if self._stt is not None:
            self._stream = self._stt.open_stream()
        pumps = [
            asyncio.create_task(self._pump_keys()),
            asyncio.create_task(self._pump_audio()),
        ]
        try:
            await self._say(self.prompts.greeting(keypad_only=self.keypad_only))
            while not self.ended:
                event = await self._next_event()
                if isinstance(event, _CallEnded):
                    break
                await self._handle(event)
        finally:
            await self._stop_playing()
            for task in (*pumps, self._getter):
                if task is not None:
                    task.cancel()
            await asyncio.gather(*pumps, return_exceptions=True)
            if self._stream is not None:
                await self._stream.close()

    async def _handle(self, event: object) -> None:
        if isinstance(event, _Timeout):
            await self._on_timeout()
            return
        self.silences = 0
        if isinstance(event, _SpeechStarted):
            await self._stop_playing()
        elif isinstance(event, _KeyPressed):
            await self._stop_playing()
            await self._on_key(event.digit)
        elif isinstance(event, _Heard):
            await self._on_speech(event.utterance)

    async def _next_event(self) -> object:
        """The next key, utterance or end; a timeout once the caller has been silent (or
        paused after one key of a menu) long enough after the assistant stopped speaking."""
        while True:
            if self._getter is None:
                self._getter = asyncio.create_task(self._events.get())
            if self._playing is not None and not self._playing.done():
                await asyncio.wait({self._getter, self._playing}, return_when="FIRST_COMPLETED")
                if not self._getter.done():
                    continue  # the assistant stopped speaking: now the silence counts
            else:
                pending_choice = len(self.keyed) == 1 and self.expectation not in ENTRY
                timeout = (
                    self.settings.key_pause_seconds
                    if pending_choice
                    else self.settings.silence_seconds
                )
                done, _ = await asyncio.wait({self._getter}, timeout=timeout)
                if not done:
                    return _Timeout()
            event = self._getter.result()
            self._getter = None
            return event

    # --- Keys.

    async def _on_key(self, digit: str) -> None:
        if digit == "*":
            self.keyed = ""
        elif digit == "#":
            entry, self.keyed = self.keyed, ""
            await self._on_entry(entry)
        elif digit.isdigit() and len(self.keyed) < MAX_KEYED:
            # One key of a menu is chosen after a pause (_next_event); more keys are a number,
            # ended by "#".
            self.keyed += digit

    async def _on_entry(self, entry: str) -> None:
        """The keys before "#": a number or a date, a choice, or 0 for a person."""
        if not entry:
            return
        if entry == HUMAN_KEY:
            await self._send(HUMAN_PAYLOAD)
        elif len(entry) == 1 and self.expectation not in ENTRY:
            await self._choose(entry)
        else:
            await self._send(entry, keyed=True)

    async def _choose(self, key: str) -> None:
        """One key of a menu (or of a yes/no question), after the pause."""
        if key == HUMAN_KEY:
            await self._send(HUMAN_PAYLOAD)
            return
        if self.expectation is Expectation.YES_NO and key in YES_NO_KEYS:
            await self._send(YES_NO_KEYS[key])
            return
        button = keypad_menu(self.buttons).get(key)
        if button is None:
            await self._say_again(self.prompts.text(WRONG_KEY))
            return
        await self._send(button.payload)

    async def _on_timeout(self) -> None:
        if len(self.keyed) == 1 and self.expectation not in ENTRY:
            key, self.keyed = self.keyed, ""
            await self._choose(key)
            return
        self.keyed = ""
        self.silences += 1
        if self.silences >= self.settings.max_silences:
            await self._say([BotMessage(self.prompts.text(GOODBYE))], wait=True)
            self.ended = True
            await self.transport.hang_up()
            return
        await self._say_again(self.prompts.text(REPROMPT))

    # --- Speech.

    async def _on_speech(self, utterance: Utterance) -> None:
        if not utterance.text.strip():
            return
        if not utterance.in_vocabulary or utterance.confidence < self.settings.min_confidence:
            await self._say_again(self.prompts.text(NOT_HEARD))
            return
        self.keyed = ""
        await self._send(utterance.text)

    # --- The assistant's turn.

    async def _send(self, text: str, *, keyed: bool = False) -> None:
        answers = await self.dialogue.send(self.transport.info, text, keyed=keyed)
        if any(answer.slow for answer in answers):
            self.slow = True
        await self._say(answers)

    async def _say(self, answers: Sequence[BotMessage], *, wait: bool = False) -> None:
        """Speak the answers then the keypad hint; what comes next is on the last answer."""
        if answers:
            last = answers[-1]
            self.expectation, self.buttons = last.expectation, last.buttons
        else:
            self.expectation, self.buttons = Expectation.FREE, ()
        if self._stream is not None:
            # The menu's titles may be said too ("suivre mon dossier"): the recogniser hears them.
            phrases = [spoken_title(button.title) for button in self.buttons]
            self._stream.expect(self.expectation, phrases)  # type: ignore[call-arg]
        texts = [answer.text for answer in answers if answer.text]
        texts += self._hint()
        await self._play(texts, wait=wait)

    async def _say_again(self, text: str) -> None:
        """A sentence of the gateway, then the keypad hint of the question still open."""
        await self._play([text, *self._hint(again=True)])

    def _hint(self, again: bool = False) -> list[str]:
        """How to answer with the keypad; for a number or a date, said once per call."""
        if self.expectation in ENTRY and not again and not self.keypad_only:
            if self.expectation in self._hinted:
                return []
            self._hinted.add(self.expectation)
        return self.prompts.hint(self.expectation, self.buttons)

    async def _play(self, texts: Sequence[str], *, wait: bool = False) -> None:
        await self._stop_playing()
        if not texts:
            return
        self._playing = asyncio.create_task(self._speak(list(texts), self.slow))
        self._playing.add_done_callback(self._log_failure)
        if wait:
            with contextlib.suppress(asyncio.CancelledError):
                await self._playing

    async def _speak(self, texts: list[str], slow: bool) -> None:
        # All synthesized at once (cached, in worker processes), played in order.
        audio = [asyncio.ensure_future(self.tts.synthesize(text, slow=slow)) for text in texts]
        try:
            for pcm in audio:
                await self.transport.play(await pcm)
        finally:
            for pcm in audio:
                pcm.cancel()

    def _log_failure(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            logger.error(
                "call %s: speaking failed: %r", self.transport.info.call_id[:8], task.exception()
            )

    async def _stop_playing(self) -> None:
        """Barge-in: stop the assistant mid-sentence."""
        if self._playing is not None and not self._playing.done():
            self._playing.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._playing
        self._playing = None

    # --- Pumps: the transport's keys and audio onto the queue.

    async def _pump_keys(self) -> None:
        async for key in self.transport.keys_in():
            await self._events.put(_KeyPressed(key.digit))

    async def _pump_audio(self) -> None:
        try:
            speaking = False
            async for frame in self.transport.audio_in():
                if self._stream is None:
                    continue  # keypad only: the audio is read and dropped
                utterance = await self._stream.feed(frame)
                started = self._stream.speech_started()
                if started and not speaking:
                    await self._events.put(_SpeechStarted())
                speaking = started
                if utterance is not None:
                    speaking = False
                    await self._events.put(_Heard(utterance))
        except Exception:
            logger.exception("call %s: audio failed", self.transport.info.call_id[:8])
        finally:
            await self._events.put(_CallEnded())
