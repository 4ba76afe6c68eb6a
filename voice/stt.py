"""Speech-to-text with Vosk: one recogniser per call, decoded off the event loop.

The model is loaded once per gateway from GUICHET_VOSK_MODEL (`model_path_from_env`); without
one, `available` is False and the call goes on with the keypad only. Nothing is downloaded
here: `make voice-model` installs the French model beforehand.

Each stream (one call) owns one KaldiRecognizer. Audio is decoded only while the caller
speaks (plus a short pre-roll), end of speech is decided by voice/endpoint.py after
`trailing_silence`, and the recogniser's words are checked against what the assistant expects:
a Vosk grammar forces every sound onto its words with full confidence, so an answer made of
decoys or "[unk]" comes back with `in_vocabulary=False` and a low confidence.

Vosk's Python binding calls libvosk through cffi, which releases the GIL during each call: the
decoding threads of several calls run in parallel with the event loop.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from voice.endpoint import FRAME_SECONDS, EnergyEndpointer, Event
from voice.stages import FRAME_BYTES, PCM_RATE, Expectation, Utterance
from voice.vocabulary import FRENCH, UNKNOWN, Vocabulary

log = logging.getLogger(__name__)

MODEL_ENV = "GUICHET_VOSK_MODEL"
ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL_PATH = ROOT / "var" / "models" / "vosk-model-small-fr-0.22"
# Measured on vosk 0.3.45: -1 still prints Kaldi's warnings, -2 silences warnings and errors
# (a model that fails to load is reported by this module's own log instead).
QUIET_LOG_LEVEL = -2
PREROLL_SECONDS = 0.3  # audio kept before speech starts, so the first syllable is decoded
# An answer outside the expected words is never trusted more than this.
OUT_OF_VOCABULARY_CEILING = 0.3


def model_path_from_env(environ: dict[str, str] | None = None) -> Path:
    """The Vosk model folder: GUICHET_VOSK_MODEL, or where `make voice-model` installs it."""
    value = (os.environ if environ is None else environ).get(MODEL_ENV, "").strip()
    return Path(value).expanduser() if value else DEFAULT_MODEL_PATH


def check_words(words: Sequence[tuple[str, float]], accepted: frozenset[str] | None) -> Utterance:
    """Turn Vosk's words (word, confidence) into an Utterance, checked against `accepted`.

    `accepted` None means any word (free decoding). "[unk]" and words outside `accepted` make
    the answer out of vocabulary, with its confidence capped at OUT_OF_VOCABULARY_CEILING and
    scaled by the share of words that were expected.
    """
    heard = [(word, conf) for word, conf in words if word]
    known = [word for word, _ in heard if word != UNKNOWN]
    if not heard:
        return Utterance(text="", confidence=0.0, in_vocabulary=False)
    expected = [
        (word, conf)
        for word, conf in heard
        if word != UNKNOWN and (accepted is None or word in accepted)
    ]
    mean = sum(conf for _, conf in heard) / len(heard)
    if len(expected) == len(heard):
        return Utterance(text=" ".join(known), confidence=round(mean, 3), in_vocabulary=True)
    share = len(expected) / len(heard)
    confidence = min(mean, OUT_OF_VOCABULARY_CEILING) * share
    return Utterance(text=" ".join(known), confidence=round(confidence, 3), in_vocabulary=False)


def build_grammar(
    vocabulary: Vocabulary,
    expectation: Expectation,
    extra: Sequence[str],
    knows: Callable[[str], bool],
) -> str | None:
    """The Vosk grammar (a JSON list) for `expectation`, keeping the phrases the model `knows`.

    None means free decoding: nothing is expected, or the model knows none of the expected
    words (a vocabulary of another language), which is logged rather than turned into an
    empty grammar.
    """
    wanted = tuple(vocabulary.phrases.get(expectation, ())) + tuple(extra)
    if not wanted:
        return None

    def known(phrase: str) -> bool:
        return all(knows(word) for word in phrase.split())

    if not any(known(phrase) for phrase in wanted):
        log.warning(
            "The Vosk model knows none of the %s words: free decoding instead", expectation.value
        )
        return None
    candidates = dict.fromkeys(wanted + vocabulary.fillers + vocabulary.decoys)
    kept = [phrase for phrase in candidates if known(phrase)]
    dropped = [phrase for phrase in candidates if phrase not in kept]
    if dropped:
        log.info("Vosk model lacks %s: left out of the %s grammar", dropped, expectation.value)
    if knows(UNKNOWN):
        kept.append(UNKNOWN)
    # ensure_ascii=False: Vosk's JSON reader does not decode \u escapes.
    return json.dumps(kept, ensure_ascii=False)


def _words_of(result_json: str) -> list[tuple[str, float]]:
    """(word, confidence) pairs of one Vosk result (SetWords on)."""
    result: dict[str, Any] = json.loads(result_json)
    if "result" in result:
        return [(item["word"], float(item.get("conf", 1.0))) for item in result["result"]]
    # No word timings (empty result): fall back on the text, at full confidence.
    return [(word, 1.0) for word in result.get("text", "").split()]


class VoskSpeechToText:
    """SpeechToText over one Vosk model; `available` is False when there is none."""

    def __init__(
        self,
        model_path: Path | None,
        trailing_silence: float = 0.5,
        *,
        vocabulary: Vocabulary = FRENCH,
        quiet: bool = True,
        workers: int | None = None,
    ) -> None:
        self.model_path = model_path
        self.trailing_silence = trailing_silence
        self.vocabulary = vocabulary
        self.available = False
        self.problem = ""
        self._model: Any = None
        self._grammars: dict[tuple[Expectation, tuple[str, ...]], str | None] = {}
        self._executor: ThreadPoolExecutor | None = None
        if model_path is None or not (Path(model_path) / "am").is_dir():
            self.problem = "missing"
            return
        import vosk

        if quiet:
            vosk.SetLogLevel(QUIET_LOG_LEVEL)
        try:
            self._model = vosk.Model(str(model_path))
        except Exception as error:  # vosk raises a bare Exception on a broken model
            log.error("Vosk could not load the model at %s: %s", model_path, error)
            self.problem = "broken"
            return
        self.available = True
        self._executor = ThreadPoolExecutor(
            max_workers=workers or os.cpu_count() or 2, thread_name_prefix="vosk"
        )

    def startup_message(self) -> str:
        """One line for the gateway's start, in French then English."""
        if self.available:
            return (
                f"Reconnaissance vocale active : modèle Vosk {self.model_path}. / "
                f"Speech recognition on: Vosk model {self.model_path}."
            )
        if self.problem == "broken":
            return (
                f"Reconnaissance vocale désactivée : le modèle Vosk à {self.model_path} est "
                "illisible (make voice-model pour le réinstaller). Le téléphone fonctionne au "
                f"clavier. / Speech recognition off: the Vosk model at {self.model_path} could "
                "not be loaded (run make voice-model to reinstall it). The phone line works "
                "with the keypad."
            )
        where = self.model_path or "(aucun chemin)"
        return (
            f"Reconnaissance vocale désactivée : aucun modèle Vosk à {where} "
            f"(make voice-model, ou {MODEL_ENV}=…). Le téléphone fonctionne au clavier. / "
            f"Speech recognition off: no Vosk model at {where} (run make voice-model, "
            f"or set {MODEL_ENV}). The phone line works with the keypad."
        )

    def grammar(self, expectation: Expectation, phrases: Sequence[str] = ()) -> str | None:
        """The Vosk grammar (JSON) for `expectation`, or None for free decoding.

        Words the model does not know are dropped (Vosk would only warn and ignore them), and
        "[unk]" is added where the model has it.
        """
        key = (expectation, tuple(phrases))
        if key not in self._grammars:
            self._grammars[key] = self._build_grammar(expectation, tuple(phrases))
        return self._grammars[key]

    def _build_grammar(self, expectation: Expectation, extra: tuple[str, ...]) -> str | None:
        return build_grammar(self.vocabulary, expectation, extra, self._knows)

    def _knows(self, word: str) -> bool:
        return self._model is not None and self._model.vosk_model_find_word(word) >= 0

    def accepted_words(
        self, expectation: Expectation, phrases: Sequence[str] = ()
    ) -> frozenset[str] | None:
        """Words counted as in vocabulary; None (anything) under free decoding."""
        if self.grammar(expectation, phrases) is None:
            return None
        extra = frozenset(word for phrase in phrases for word in phrase.split())
        return self.vocabulary.accepted_words(expectation) | extra

    def open_stream(self, trailing_silence: float | None = None) -> VoskRecognitionStream:
        """A recogniser for one call; `trailing_silence` overrides the gateway's for it."""
        if not self.available:
            raise RuntimeError("no Vosk model loaded: check `available` before opening a stream")
        return VoskRecognitionStream(self, trailing_silence or self.trailing_silence)

    async def run(self, function: Any, *args: Any) -> Any:
        """Run a blocking Vosk call in the decoding threads."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, function, *args)

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True)


class VoskRecognitionStream:
    """One call's recogniser: feed 20 ms frames (or any length), get utterances back."""

    def __init__(self, stt: VoskSpeechToText, trailing_silence: float) -> None:
        import vosk

        self._stt = stt
        self._recognizer = vosk.KaldiRecognizer(stt._model, PCM_RATE)
        self._recognizer.SetWords(True)
        self._endpointer = EnergyEndpointer(trailing_silence)
        self._preroll: deque[bytes] = deque(maxlen=round(PREROLL_SECONDS / FRAME_SECONDS))
        self._buffer = b""
        self._words: list[tuple[str, float]] = []
        self._expectation = Expectation.FREE
        self._phrases: tuple[str, ...] = ()
        self._grammar: str | None = None  # the grammar the recogniser holds now
        self._lock = asyncio.Lock()
        self._closed = False

    def expect(self, expectation: Expectation, phrases: Sequence[str] = ()) -> None:
        """Narrow the vocabulary for the next utterance; `phrases` adds words (menu titles)."""
        self._expectation = expectation
        self._phrases = tuple(phrases)

    def speech_started(self) -> bool:
        return self._endpointer.speaking

    async def feed(self, pcm: bytes) -> Utterance | None:
        async with self._lock:
            if self._closed:
                return None
            self._buffer += pcm
            to_decode: list[bytes] = []
            while len(self._buffer) >= FRAME_BYTES:
                frame, self._buffer = self._buffer[:FRAME_BYTES], self._buffer[FRAME_BYTES:]
                event = self._endpointer.push(frame)
                if event is Event.STARTED:
                    self._start_utterance()
                    to_decode.extend(self._preroll)
                    self._preroll.clear()
                    to_decode.append(frame)
                elif event is Event.ENDED:
                    to_decode.append(frame)
                    # Frames after the end wait in the buffer for the next feed.
                    return await self._stt.run(self._finish, b"".join(to_decode))
                elif self._endpointer.speaking:
                    to_decode.append(frame)
                else:
                    self._preroll.append(frame)
            if to_decode:
                await self._stt.run(self._accept, b"".join(to_decode))
            return None

    def _start_utterance(self) -> None:
        """Load the grammar of the current expectation (the recogniser is idle here)."""
        self._words = []
        grammar = self._stt.grammar(self._expectation, self._phrases)
        if grammar != self._grammar:
            # "[]" takes the grammar away: free decoding with the whole model.
            self._recognizer.SetGrammar(grammar if grammar is not None else "[]")
            self._grammar = grammar

    def _accept(self, audio: bytes) -> None:
        """Decode (in a Vosk thread); keep the words of any endpoint Vosk finds itself."""
        if self._recognizer.AcceptWaveform(audio):
            self._words.extend(_words_of(self._recognizer.Result()))

    def _finish(self, audio: bytes) -> Utterance:
        """Decode the last audio and check the whole utterance (in a Vosk thread)."""
        self._accept(audio)
        self._words.extend(_words_of(self._recognizer.FinalResult()))
        accepted = self._stt.accepted_words(self._expectation, self._phrases)
        utterance = check_words(self._words, accepted)
        self._words = []
        return utterance

    async def close(self) -> None:
        async with self._lock:
            self._closed = True
            self._recognizer = None
