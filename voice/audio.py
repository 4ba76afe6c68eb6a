"""The audio contract's conversions: G.711 µ-law / A-law and streaming resampling.

The phone speaks 8 kHz G.711; the gateway works in 16 kHz 16-bit little-endian mono PCM
(voice/stages.py). `audioop` is gone in Python 3.13, so G.711 is written here with numpy,
following the ITU-T G.711 reference algorithm (the Sun / CCITT `g711.c` that SoX and
`audioop` also use), and checked against SoX's output (tests/voice/g711_golden.txt).
Resampling uses soxr, a maintained binding of the SoX resampler.
"""

from __future__ import annotations

import numpy as np
import soxr

_PCM16 = np.dtype("<i2")

# Segment end points of the reference algorithm (14-bit for µ-law, 13-bit for A-law).
_ULAW_SEG_END = np.array([0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF], dtype=np.int32)
_ALAW_SEG_END = np.array([0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF], dtype=np.int32)
_ULAW_BIAS = 0x84
_ULAW_CLIP = 8159


def _pcm16_array(pcm16: bytes) -> np.ndarray:
    if len(pcm16) % 2:
        msg = f"16-bit PCM needs an even number of bytes, got {len(pcm16)}"
        raise ValueError(msg)
    return np.frombuffer(pcm16, dtype=_PCM16)


def _linear_to_ulaw(samples: np.ndarray) -> np.ndarray:
    """µ-law codes of 16-bit samples (reference `linear2ulaw` on the 14 top bits)."""
    pcm = samples.astype(np.int32) >> 2
    negative = pcm < 0
    mask = np.where(negative, 0x7F, 0xFF)
    pcm = np.minimum(np.abs(pcm), _ULAW_CLIP) + (_ULAW_BIAS >> 2)
    seg = np.searchsorted(_ULAW_SEG_END, pcm, side="left")
    code = (seg << 4) | ((pcm >> (seg + 1)) & 0x0F)
    code = np.where(seg >= 8, 0x7F, code)
    return (code ^ mask).astype(np.uint8)


def _ulaw_to_linear(codes: np.ndarray) -> np.ndarray:
    u = ~codes.astype(np.int32) & 0xFF
    t = (((u & 0x0F) << 3) + _ULAW_BIAS) << ((u & 0x70) >> 4)
    return np.where(u & 0x80, _ULAW_BIAS - t, t - _ULAW_BIAS).astype(_PCM16)


def _linear_to_alaw(samples: np.ndarray) -> np.ndarray:
    """A-law codes of 16-bit samples (reference `linear2alaw` on the 13 top bits)."""
    pcm = samples.astype(np.int32) >> 3
    negative = pcm < 0
    mask = np.where(negative, 0x55, 0xD5)
    pcm = np.where(negative, -pcm - 1, pcm)
    seg = np.searchsorted(_ALAW_SEG_END, pcm, side="left")
    shift = np.maximum(seg, 1)
    code = (seg << 4) | ((pcm >> shift) & 0x0F)
    code = np.where(seg >= 8, 0x7F, code)
    return (code ^ mask).astype(np.uint8)


def _alaw_to_linear(codes: np.ndarray) -> np.ndarray:
    a = codes.astype(np.int32) ^ 0x55
    seg = (a & 0x70) >> 4
    t = (a & 0x0F) << 4
    t = np.where(seg == 0, t + 8, (t + 0x108) << np.maximum(seg - 1, 0))
    return np.where(a & 0x80, t, -t).astype(_PCM16)


# Whole tables, computed once: encoding is then one lookup per sample.
_ALL_PCM16 = np.arange(-32768, 32768, dtype=np.int32).astype(_PCM16)
_ALL_CODES = np.arange(256, dtype=np.uint8)
_ULAW_ENCODE = _linear_to_ulaw(_ALL_PCM16)  # index: sample + 32768
_ALAW_ENCODE = _linear_to_alaw(_ALL_PCM16)
_ULAW_DECODE = _ulaw_to_linear(_ALL_CODES)
_ALAW_DECODE = _alaw_to_linear(_ALL_CODES)


def _encode(pcm16: bytes, table: np.ndarray) -> bytes:
    samples = _pcm16_array(pcm16)
    return table[samples.astype(np.int32) + 32768].tobytes()


def _decode(data: bytes, table: np.ndarray) -> bytes:
    return table[np.frombuffer(data, dtype=np.uint8)].astype(_PCM16).tobytes()


def encode_ulaw(pcm16: bytes) -> bytes:
    """16-bit LE PCM to G.711 µ-law (PCMU), one byte per sample."""
    return _encode(pcm16, _ULAW_ENCODE)


def decode_ulaw(data: bytes) -> bytes:
    """G.711 µ-law (PCMU) to 16-bit LE PCM."""
    return _decode(data, _ULAW_DECODE)


def encode_alaw(pcm16: bytes) -> bytes:
    """16-bit LE PCM to G.711 A-law (PCMA), one byte per sample."""
    return _encode(pcm16, _ALAW_ENCODE)


def decode_alaw(data: bytes) -> bytes:
    """G.711 A-law (PCMA) to 16-bit LE PCM."""
    return _decode(data, _ALAW_DECODE)


class Resampler:
    """Streaming 16-bit mono resampler: one per direction of a call, fed chunk by chunk.

    soxr keeps the filter state between chunks, so 20 ms frames join without clicks; its
    small delay means the first chunks may come out shorter (`flush` returns the rest).
    """

    def __init__(self, in_rate: int, out_rate: int) -> None:
        if in_rate <= 0 or out_rate <= 0:
            msg = f"sample rates must be positive, got {in_rate} -> {out_rate}"
            raise ValueError(msg)
        self.in_rate = in_rate
        self.out_rate = out_rate
        self._stream = (
            None
            if in_rate == out_rate
            else soxr.ResampleStream(in_rate, out_rate, 1, dtype="int16")
        )

    def process(self, pcm16: bytes) -> bytes:
        """Resample the next chunk of the stream."""
        samples = _pcm16_array(pcm16)
        if self._stream is None:
            return bytes(pcm16)
        out = self._stream.resample_chunk(samples.astype(np.int16))
        return out.astype(_PCM16).tobytes()

    def flush(self) -> bytes:
        """End of the stream: the samples still held by the filter; the resampler starts anew."""
        if self._stream is None:
            return b""
        out = self._stream.resample_chunk(np.zeros(0, dtype=np.int16), last=True)
        self._stream.clear()
        return out.astype(_PCM16).tobytes()


def resample(pcm16: bytes, in_rate: int, out_rate: int) -> bytes:
    """Resample a whole clip at once (a fresh stream, flushed)."""
    resampler = Resampler(in_rate, out_rate)
    return resampler.process(pcm16) + resampler.flush()
