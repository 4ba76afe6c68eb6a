"""RFC 4733 telephone-events to keys: one key per key press, whatever the caller retransmits.

aiortp's own receiver (aiortp.dtmf.DtmfReceiver) reports a digit only when an end packet
arrives, so a key is lost when the three end packets are, and it adds the key's whole duration
to the latency. Here a key is reported on the first packet of an event, and every later packet
of the same event (progress updates, the retransmitted end packets, a long key split into
segments) is recognised by its SSRC and RTP timestamp and ignored.
"""

from __future__ import annotations

from collections import deque

# RFC 4733 §3.2: events 0-9, 10 = "*", 11 = "#" (12-15 are A-D, not on a phone's keypad).
_DIGITS = "0123456789*#"
_MAX_DURATION = 0xFFFF


class TelephoneEventDecoder:
    """Turns telephone-event payloads into keys, de-duplicated per event."""

    def __init__(self, memory: int = 16) -> None:
        # (ssrc, timestamp) of the last events seen: a late retransmission of an event that
        # is no longer the current one must not count as a new key press.
        self._seen: deque[tuple[int, int]] = deque(maxlen=memory)
        self._last: tuple[int, int, int, int, bool] | None = None  # ssrc, ts, event, dur, end

    def feed(self, ssrc: int, timestamp: int, payload: bytes) -> str | None:
        """Return the key of a new key press, or None for anything else."""
        if len(payload) < 4:
            return None
        event = payload[0]
        end = bool(payload[1] & 0x80)
        duration = int.from_bytes(payload[2:4], "big")
        ident = (ssrc, timestamp)
        if ident in self._seen:
            if self._last is not None and self._last[:2] == ident:
                self._last = (ssrc, timestamp, event, duration, end or self._last[4])
            return None
        continuing = self._continues_last(ssrc, timestamp, event)
        self._seen.append(ident)
        self._last = (ssrc, timestamp, event, duration, end)
        if continuing or event >= len(_DIGITS):
            return None
        return _DIGITS[event]

    def _continues_last(self, ssrc: int, timestamp: int, event: int) -> bool:
        """A key held longer than the 16-bit duration goes on in a new segment (RFC 4733
        §2.5.1.3) whose timestamp is the previous one plus its duration."""
        if self._last is None:
            return False
        l_ssrc, l_ts, l_event, l_duration, l_end = self._last
        return (
            ssrc == l_ssrc
            and event == l_event
            and not l_end
            and l_duration >= _MAX_DURATION - 160
            and timestamp == (l_ts + l_duration) & 0xFFFFFFFF
        )
