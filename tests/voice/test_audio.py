"""G.711 against SoX's golden values (tests/voice/g711_golden.txt), and the soxr resampler."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from voice.audio import (
    Resampler,
    decode_alaw,
    decode_ulaw,
    encode_alaw,
    encode_ulaw,
    resample,
)

GOLDEN = Path(__file__).with_name("g711_golden.txt")
RAMP = np.arange(-32768, 32768, dtype="<i2")
CODES = bytes(range(256))
LAWS = {"ulaw": (encode_ulaw, decode_ulaw), "alaw": (encode_alaw, decode_alaw)}


def _golden() -> dict[str, list[tuple[int, int]]]:
    sections: dict[str, list[tuple[int, int]]] = {}
    current: list[tuple[int, int]] = []
    for line in GOLDEN.read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), [])
            continue
        a, b = line.split()
        current.append((int(a), int(b)))
    return sections


GOLDEN_SECTIONS = _golden()


def _golden_encode_table(law: str) -> np.ndarray:
    """Expand the runs of the golden file to one code per 16-bit sample."""
    runs = GOLDEN_SECTIONS[f"{law}_encode"]
    table = np.empty(65536, dtype=np.uint8)
    bounds = [first + 32768 for first, _ in runs] + [65536]
    for (_, code), start, end in zip(runs, bounds, bounds[1:], strict=False):
        table[start:end] = code
    assert bounds[0] == 0
    return table


def _golden_decode_table(law: str) -> np.ndarray:
    pairs = GOLDEN_SECTIONS[f"{law}_decode"]
    assert [code for code, _ in pairs] == list(range(256))
    return np.array([sample for _, sample in pairs], dtype="<i2")


@pytest.mark.parametrize("law", LAWS)
def test_encoding_matches_sox_for_every_16_bit_sample(law):
    encode, _ = LAWS[law]
    got = np.frombuffer(encode(RAMP.tobytes()), dtype=np.uint8)
    expected = _golden_encode_table(law)
    wrong = np.flatnonzero(got != expected)
    assert wrong.size == 0, f"{law}: {wrong.size} samples differ, first {int(wrong[0]) - 32768}"


@pytest.mark.parametrize("law", LAWS)
def test_decoding_matches_sox_for_every_code(law):
    _, decode = LAWS[law]
    got = np.frombuffer(decode(CODES), dtype="<i2")
    assert got.tolist() == _golden_decode_table(law).tolist()


@pytest.mark.parametrize("law", LAWS)
def test_code_round_trip_is_exact(law):
    encode, decode = LAWS[law]
    expected = bytearray(CODES)
    if law == "ulaw":
        expected[0x7F] = 0xFF  # µ-law has two zeros (+0 and -0); 0 encodes as +0
    assert encode(decode(CODES)) == bytes(expected)


@pytest.mark.parametrize(("law", "max_step"), [("ulaw", 1024), ("alaw", 1024)])
def test_sample_round_trip_stays_within_one_quantisation_step(law, max_step):
    encode, decode = LAWS[law]
    back = np.frombuffer(decode(encode(RAMP.tobytes())), dtype="<i2").astype(np.int32)
    error = np.abs(back - RAMP.astype(np.int32))
    assert error.max() <= max_step
    # Small samples keep fine steps: the logarithmic law is what makes G.711 worth it.
    small = np.abs(RAMP.astype(np.int32)) < 256
    assert error[small].max() <= 16


@pytest.mark.parametrize("law", LAWS)
def test_odd_length_pcm_is_refused_clearly(law):
    encode, _ = LAWS[law]
    with pytest.raises(ValueError, match="even number of bytes, got 3"):
        encode(b"\x00\x01\x02")


def test_empty_input_gives_empty_output():
    assert encode_ulaw(b"") == b"" and decode_alaw(b"") == b""


def test_one_rtp_packet_is_160_bytes():
    pcm_20ms_8k = np.zeros(160, dtype="<i2").tobytes()
    assert len(encode_ulaw(pcm_20ms_8k)) == 160
    assert len(decode_alaw(bytes(160))) == 320


def _tone(freq: float, rate: int, seconds: float, amplitude: int = 8000) -> bytes:
    t = np.arange(int(rate * seconds)) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype("<i2").tobytes()


def _peak_frequency(pcm: bytes, rate: int) -> float:
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.size)))
    return float(np.fft.rfftfreq(samples.size, 1 / rate)[np.argmax(spectrum)])


@pytest.mark.parametrize(("in_rate", "out_rate"), [(8000, 16000), (16000, 8000)])
def test_streaming_resampling_keeps_length_and_tone(in_rate, out_rate):
    """20 ms frames in, as on a call: total length scales by the ratio, a 440 Hz tone stays."""
    pcm = _tone(440.0, in_rate, 1.0)
    frame = in_rate * 2 * 20 // 1000
    resampler = Resampler(in_rate, out_rate)
    out = b"".join(resampler.process(pcm[i : i + frame]) for i in range(0, len(pcm), frame))
    out += resampler.flush()
    assert len(out) == len(pcm) * out_rate // in_rate
    assert _peak_frequency(out, out_rate) == pytest.approx(440.0, abs=3.0)
    assert np.abs(np.frombuffer(out, dtype="<i2")).max() > 6000  # not attenuated


def test_resampling_removes_what_8_khz_cannot_carry():
    """A 5 kHz tone at 16 kHz is above the 4 kHz limit of the phone: it must not fold back."""
    out = resample(_tone(5000.0, 16000, 0.5), 16000, 8000)
    assert np.abs(np.frombuffer(out, dtype="<i2")[200:-200]).max() < 200


def test_resampler_can_be_reused_after_flush():
    resampler = Resampler(8000, 16000)
    pcm = _tone(300.0, 8000, 0.2)
    first = np.frombuffer(resampler.process(pcm) + resampler.flush(), dtype="<i2")
    second = np.frombuffer(resampler.process(pcm) + resampler.flush(), dtype="<i2")
    assert first.size == second.size == pcm.__len__()  # 2x the samples, 2 bytes each
    assert np.abs(first.astype(np.int32) - second).max() <= 4  # soxr dithers its int16 output


def test_same_rate_passes_through_and_odd_chunk_is_refused():
    assert Resampler(16000, 16000).process(b"\x01\x02") == b"\x01\x02"
    with pytest.raises(ValueError, match="even number of bytes"):
        Resampler(8000, 16000).process(b"\x01")
    with pytest.raises(ValueError, match="positive"):
        Resampler(0, 16000)
