"""End of speech: when has the caller stopped talking?

Vosk 0.3.45 has its own endpointing, but its delays come from the model's conf/model.conf
(rules of 0.5 s, 1 s and 2 s of trailing silence, chosen by how sure the decoder is) and its C
API has no call to change them: measured on synthesized speech with the Korean test model,
the free model ended an utterance 2.3 s after the last word, a grammar 0.65 s after. So the
gateway decides itself, on the energy of each 20 ms frame: speech starts after `min_speech`
of loud frames, and ends once `trailing_silence` of quiet frames follow it. The quiet level
follows the line's noise floor, so a hissing phone line does not count as speech.
"""

from __future__ import annotations

import enum
import math

import numpy as np

from voice.stages import FRAME_BYTES, FRAME_MS

FRAME_SECONDS = FRAME_MS / 1000


class Event(enum.Enum):
    NONE = "none"
    STARTED = "started"  # the caller started speaking (barge-in)
    ENDED = "ended"  # trailing silence reached: the utterance is complete


def frame_level_dbfs(frame: bytes) -> float:
    """RMS level of 16-bit PCM, in dB relative to full scale (silence is -inf)."""
    samples = np.frombuffer(frame, dtype="<i2").astype(np.float64)
    if samples.size == 0:
        return -math.inf
    rms = math.sqrt(float(np.mean(samples * samples)))
    return 20 * math.log10(rms / 32768) if rms > 0 else -math.inf


class EnergyEndpointer:
    """Speech start and end from frame energy, one 20 ms frame at a time."""

    def __init__(
        self,
        trailing_silence: float = 0.5,
        *,
        min_speech: float = 0.06,
        threshold_dbfs: float = -45.0,
        noise_margin_db: float = 12.0,
        max_utterance: float = 20.0,
    ) -> None:
        if trailing_silence < FRAME_SECONDS:
            raise ValueError(f"trailing_silence must be at least {FRAME_SECONDS} s")
        self.trailing_silence = trailing_silence
        self._min_speech_frames = max(1, round(min_speech / FRAME_SECONDS))
        self._end_frames = round(trailing_silence / FRAME_SECONDS)
        self._max_frames = round(max_utterance / FRAME_SECONDS)
        self._threshold = threshold_dbfs
        self._margin = noise_margin_db
        self._noise_floor = threshold_dbfs - noise_margin_db
        self.speaking = False
        self._voiced_run = 0
        self._silent_run = 0
        self._utterance_frames = 0

    def _voiced(self, level: float) -> bool:
        return level > max(self._threshold, self._noise_floor + self._margin)

    def push(self, frame: bytes) -> Event:
        """Take one frame of FRAME_BYTES; say whether speech started or ended with it."""
        if len(frame) != FRAME_BYTES:
            raise ValueError(f"expected {FRAME_BYTES} bytes, got {len(frame)}")
        level = frame_level_dbfs(frame)
        voiced = self._voiced(level)
        if not voiced and not self.speaking and math.isfinite(level):
            # Follow the line's noise slowly, only while nobody speaks.
            self._noise_floor = 0.95 * self._noise_floor + 0.05 * level
        if not self.speaking:
            self._voiced_run = self._voiced_run + 1 if voiced else 0
            if self._voiced_run >= self._min_speech_frames:
                self.speaking = True
                self._silent_run = 0
                self._utterance_frames = self._voiced_run
                return Event.STARTED
            return Event.NONE
        self._utterance_frames += 1
        self._silent_run = 0 if voiced else self._silent_run + 1
        if self._silent_run >= self._end_frames or self._utterance_frames >= self._max_frames:
            self.reset()
            return Event.ENDED
        return Event.NONE

    def reset(self) -> None:
        """Forget the current utterance (the noise floor is kept: same line)."""
        self.speaking = False
        self._voiced_run = 0
        self._silent_run = 0
        self._utterance_frames = 0
