"""ToneSpeech: a TextToSpeech fake for the other stages' tests (no espeak-ng, no process)."""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np

from voice.stages import PCM_RATE


class ToneSpeech:
    """Deterministic, non-silent 16 kHz PCM: a tone whose length grows with the text.

    Each text gets its own pitch (from a CRC of the text), so a test can tell prompts apart;
    `slow` makes it 1.5 times longer, as the slow voice is.
    """

    def __init__(self, *, ms_per_char: int = 20, min_ms: int = 100, amplitude: int = 8000):
        self.ms_per_char = ms_per_char
        self.min_ms = min_ms
        self.amplitude = amplitude
        self.calls: list[tuple[str, bool]] = []  # every synthesize() call, in order
        self.warmed: list[str] = []
        self.closed = False

    def duration_ms(self, text: str, *, slow: bool = False) -> int:
        ms = self.min_ms + self.ms_per_char * len(text)
        return ms * 3 // 2 if slow else ms

    def pitch(self, text: str) -> float:
        return 300.0 + zlib.crc32(text.encode()) % 500

    def render(self, text: str, *, slow: bool = False) -> bytes:
        if not text.strip():
            return b""
        samples = PCM_RATE * self.duration_ms(text, slow=slow) // 1000
        t = np.arange(samples) / PCM_RATE
        tone = self.amplitude * np.sin(2 * np.pi * self.pitch(text) * t)
        return tone.astype("<i2").tobytes()

    async def synthesize(self, text: str, *, slow: bool = False) -> bytes:
        self.calls.append((text, slow))
        return self.render(text, slow=slow)

    async def warm_up(self, texts: Sequence[str]) -> None:
        self.warmed.extend(texts)

    async def close(self) -> None:
        self.closed = True
