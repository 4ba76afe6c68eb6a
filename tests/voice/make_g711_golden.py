"""Writes tests/voice/g711_golden.txt from an independent G.711 reference: SoX.

Run once, by hand, where Debian's `sox` is installed (`apt-get install sox`):

    .venv/bin/python tests/voice/make_g711_golden.py

G.711 encodes 14-bit (µ-law) and 13-bit (A-law) linear samples; the reference code (CCITT / Sun
`g711.c`, used by audioop, PJSIP and voice/audio.py) takes 16-bit samples by dropping their low
bits (an arithmetic shift). SoX instead rounds to 14 / 13 bits first, which moves the decision
points of negative samples by one step. So SoX is given the ramp of all 65,536 16-bit samples
with those low bits already cleared (no rounding left to do), which gives the table of the
reference for every 16-bit sample; and all 256 codes of each law to decode back to 16-bit PCM.
Dithering is off (`-D`: otherwise SoX adds noise when it reduces the bit depth). Where Python
still has `audioop` (up to 3.12), its encoding of the raw ramp and its decoding are compared
too, as a second reference. The tests need only the committed text file, not SoX.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

GOLDEN = Path(__file__).with_name("g711_golden.txt")
RAW16 = ["-t", "raw", "-e", "signed-integer", "-b", "16", "-c", "1", "-r", "8000", "-L"]


def _law(name: str) -> list[str]:
    return ["-t", "raw", "-e", name, "-b", "8", "-c", "1", "-r", "8000"]


def _sox(args_in: list[str], data: bytes, args_out: list[str]) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp, "in.raw"), Path(tmp, "out.raw")
        src.write_bytes(data)
        subprocess.run(["sox", "-D", *args_in, str(src), *args_out, str(dst)], check=True)
        return dst.read_bytes()


def _runs(codes: np.ndarray) -> list[tuple[int, int]]:
    """(first sample, code) for each run of equal codes along the ramp."""
    starts = np.flatnonzero(np.diff(codes.astype(np.int32), prepend=-1))
    return [(int(i) - 32768, int(codes[i])) for i in starts]


def main() -> None:
    ramp = np.arange(-32768, 32768, dtype="<i2").tobytes()
    codes = bytes(range(256))
    version = subprocess.run(["sox", "--version"], capture_output=True, text=True).stdout.split()[
        -1
    ]
    lines = [
        "# G.711 golden values from an independent reference, written by",
        f"# tests/voice/make_g711_golden.py with SoX {version} (Debian package sox):",
        "#   encode: sox -D -t raw -e signed-integer -b 16 -c 1 -r 8000 -L ramp.raw"
        " -t raw -e {u-law|a-law} -b 8 -c 1 -r 8000 out.raw",
        "#     on a ramp of all 65,536 16-bit samples (-32768..32767) with their 2 (u-law) or",
        "#     3 (A-law) low bits cleared first, as the G.711 reference code drops them (SoX",
        "#     would round instead), stored as runs:",
        "#     'first_sample code' for each run of samples that encode to the same code;",
        "#   decode: sox -D -t raw -e {u-law|a-law} -b 8 -c 1 -r 8000 codes.raw"
        " -t raw -e signed-integer -b 16 -c 1 -r 8000 -L out.raw",
        "#     on all 256 codes (0..255), stored as 'code sample'.",
    ]
    for law, sox_name in (("ulaw", "u-law"), ("alaw", "a-law")):
        low_bits = 2 if law == "ulaw" else 3
        aligned = ((np.frombuffer(ramp, dtype="<i2") >> low_bits) << low_bits).astype("<i2")
        encoded = np.frombuffer(_sox(RAW16, aligned.tobytes(), _law(sox_name)), dtype=np.uint8)
        decoded = np.frombuffer(_sox(_law(sox_name), codes, RAW16), dtype="<i2")
        assert encoded.size == 65536 and decoded.size == 256
        if _check_audioop(law, ramp, codes, encoded, decoded):
            lines.append(f"# {law}: identical to audioop of Python {sys.version.split()[0]}.")
        lines.append(f"[{law}_encode]")
        lines += [f"{first} {code}" for first, code in _runs(encoded)]
        lines.append(f"[{law}_decode]")
        lines += [f"{code} {int(sample)}" for code, sample in enumerate(decoded)]
    GOLDEN.write_text("\n".join(lines) + "\n")
    print(f"wrote {GOLDEN}")


def _check_audioop(law: str, ramp: bytes, codes: bytes, encoded, decoded) -> bool:
    try:
        import audioop  # gone in Python 3.13: an optional second reference
    except ImportError:
        print("audioop unavailable: SoX only", file=sys.stderr)
        return False
    to_law, from_law = (
        (audioop.lin2ulaw, audioop.ulaw2lin)
        if law == "ulaw"
        else (audioop.lin2alaw, audioop.alaw2lin)
    )
    assert to_law(ramp, 2) == encoded.tobytes(), f"SoX and audioop disagree on {law} encoding"
    assert from_law(codes, 2) == decoded.tobytes(), f"SoX and audioop disagree on {law} decoding"
    print(f"{law}: SoX and audioop agree", file=sys.stderr)
    return True


if __name__ == "__main__":
    main()
