"""The RTP side of one phone call: G.711 in and out, RFC 4733 keys in, over aiortp.

aiortp's RTPSession does the packet work: the jitter buffer and loss concealment on the way
in, and on the way out a `PacedSender` driven by a `MediaClock` with absolute deadlines on the
event loop's monotonic clock (one 20 ms packet per tick, no drift over a long prompt; an empty
tick advances the RTP timestamp, so pauses between prompts are silence on the wire). This
module fills its gaps, without patching it:

- it accepts packets from any address and at any rate, and a foreign SSRC resets its jitter
  buffer: here only the port the caller's SDP named is heard (from the SDP's host or the
  caller's SIP host), at most `MAX_PACKET_RATE` packets a second, and only the negotiated
  payload types (G.711, telephone-event, comfort noise);
- its telephone-event receiver waits for the end packet; voice/dtmf.py reports a key on the
  first packet of the event instead;
- it works at 8 kHz: audio is resampled to and from the gateway's 16 kHz PCM here, with the
  G.711 and resampling functions of voice/audio.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from aiortp import PortAllocator, RtpPacket, RTPSession
from aiortp.codecs import Codec

from voice import audio
from voice.dtmf import TelephoneEventDecoder
from voice.stages import FRAME_BYTES, PCM_RATE, Key

logger = logging.getLogger(__name__)

G711_RATE = 8000
PACKET_SAMPLES = 160  # 20 ms at 8 kHz: one G.711 byte per sample
MAX_PACKET_RATE = 150.0  # three times a 20 ms stream: audio and telephone-events together
MAX_PACKET_BURST = 75.0
CN_PAYLOAD_TYPE = 13
AUDIO_QUEUE_FRAMES = 250  # 5 s of caller audio kept when nobody reads it; older frames dropped
NO_DTMF = -1  # a payload type no packet carries, when the caller offered no telephone-event


class G711Codec(Codec):
    """aiortp codec backed by voice/audio.py (PCMU or PCMA, 8 kHz, 20 ms)."""

    def __init__(self, name: str) -> None:
        if name not in ("PCMU", "PCMA"):
            raise ValueError(f"not a G.711 codec: {name}")
        self._name = name
        self._encode = audio.encode_ulaw if name == "PCMU" else audio.encode_alaw
        self._decode = audio.decode_ulaw if name == "PCMU" else audio.decode_alaw
        self.silence = self._encode(bytes(2 * PACKET_SAMPLES))

    @property
    def name(self) -> str:
        return self._name

    @property
    def sample_rate(self) -> int:
        return G711_RATE

    @property
    def samples_per_frame(self) -> int:
        return PACKET_SAMPLES

    def encode(self, pcm: bytes) -> bytes:
        return self._encode(pcm)

    def decode(self, payload: bytes) -> bytes:
        return self._decode(payload)


class PacketGate:
    """Token bucket: at most `rate` packets a second on average, `burst` at once."""

    def __init__(self, rate: float = MAX_PACKET_RATE, burst: float = MAX_PACKET_BURST) -> None:
        self._rate = rate
        self._burst = burst
        self._tokens = burst
        self._at = time.monotonic()

    def admit(self) -> bool:
        now = time.monotonic()
        self._tokens = min(self._burst, self._tokens + (now - self._at) * self._rate)
        self._at = now
        if self._tokens < 1.0:
            return False
        self._tokens -= 1.0
        return True


class _GuardedSession(RTPSession):
    """RTPSession that only hears the negotiated peer and payload types, at a sane rate."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.on_key: Callable[[str], None] | None = None
        self.signalling_host = ""
        self.last_heard = time.monotonic()
        self.gate = PacketGate()
        self.decoder = TelephoneEventDecoder()
        self.dropped = 0

    def _admit(self, addr: tuple[str, int], *, rtcp: bool) -> bool:
        # The peer the SDP named (aiortp keeps it in _remote_addr and never moves it:
        # symmetric_rtp is off). A caller with several interfaces may name one address in its
        # SDP and send from another: its signalling address is heard too, on the SDP's port
        # (symmetric RTP, RFC 4961). RTCP comes from any port of those hosts: peers differ.
        expected = self._remote_addr
        if (
            expected is None
            or addr[0] not in (expected[0], self.signalling_host)
            or (not rtcp and addr[1] != expected[1])
        ):
            self.dropped += 1
            return False
        if not self.gate.admit():
            self.dropped += 1
            return False
        self.last_heard = time.monotonic()
        return True

    def _handle_rtp(self, data: bytes, addr: tuple[str, int]) -> None:
        if not self._admit(addr, rtcp=False):
            return
        try:
            packet = RtpPacket.parse(data)
        except ValueError:
            self.dropped += 1
            return
        pt = packet.payload_type
        if pt == self._dtmf_payload_type:
            if len(packet.payload) < 4:
                return
            digit = self.decoder.feed(packet.ssrc, packet.timestamp, packet.payload)
            if digit is not None and self.on_key is not None:
                self.on_key(digit)
        elif pt not in (self._payload_type, CN_PAYLOAD_TYPE):
            return  # e.g. SIPp's keep-alive "noop" packets, or a codec we did not choose
        super()._handle_rtp(data, addr)

    def _handle_rtcp(self, data: bytes, addr: tuple[str, int]) -> None:
        if self._admit(addr, rtcp=True):
            super()._handle_rtcp(data, addr)


class _FrameQueue:
    """Single-reader queue that drops its oldest item when full and ends on close()."""

    def __init__(self, maxsize: int) -> None:
        self._queue: asyncio.Queue[object] = asyncio.Queue(maxsize)
        self._closed = False

    def put(self, item: object) -> None:
        if self._closed:
            return
        if self._queue.full():
            self._queue.get_nowait()
        self._queue.put_nowait(item)

    def close(self) -> None:
        self.put(_END)
        self._closed = True

    async def __aiter__(self) -> AsyncIterator[object]:
        while True:
            item = await self._queue.get()
            if item is _END:
                self._queue.put_nowait(_END)  # later readers end at once too
                return
            yield item


_END = object()


class RtpMedia:
    """One call's RTP stream: `audio_in()` and `keys_in()`, `play()`, then `close()`."""

    def __init__(self, session: _GuardedSession, codec: G711Codec) -> None:
        self._session = session
        self._codec = codec
        self._upsampler = audio.Resampler(G711_RATE, PCM_RATE)
        self._pending = bytearray()
        self._frames = _FrameQueue(AUDIO_QUEUE_FRAMES)
        self._keys = _FrameQueue(64)
        self._playing = asyncio.Lock()
        self._closed = False
        session.on_audio = self._on_audio
        session.on_key = self._on_key

    @classmethod
    async def open(
        cls,
        *,
        local_host: str,
        remote_addr: tuple[str, int],
        codec: G711Codec,
        payload_type: int,
        dtmf_payload_type: int | None,
        ports: PortAllocator,
        signalling_host: str = "",
    ) -> RtpMedia:
        session = await _GuardedSession.create(
            local_addr=(local_host, 0),
            remote_addr=remote_addr,
            payload_type=payload_type,
            codec=codec,
            dtmf_payload_type=NO_DTMF if dtmf_payload_type is None else dtmf_payload_type,
            jitter_prefetch=0,  # deliver each frame as soon as it is complete
            skip_audio_gaps=True,  # a lost packet must not stall the caller's audio
            paced=True,
            port_allocator=ports,
        )
        session.signalling_host = signalling_host or remote_addr[0]
        return cls(session, codec)

    @property
    def local_port(self) -> int:
        port = self._session._allocated_rtp_port  # (aiortp has no public getter)
        assert port is not None
        return port

    @property
    def dropped_packets(self) -> int:
        return self._session.dropped

    @property
    def silent_for(self) -> float:
        """Seconds since the caller's last packet (or since the call was answered)."""
        return time.monotonic() - self._session.last_heard

    @property
    def packets_sent(self) -> int:
        return int(self._session.stats["packets_sent"])

    def _on_audio(self, pcm8k: bytes, _timestamp: int) -> None:
        self._pending += self._upsampler.process(pcm8k)
        while len(self._pending) >= FRAME_BYTES:
            self._frames.put(bytes(self._pending[:FRAME_BYTES]))
            del self._pending[:FRAME_BYTES]

    def _on_key(self, digit: str) -> None:
        self._keys.put(Key(digit))

    async def audio_in(self) -> AsyncIterator[bytes]:
        async for frame in self._frames:
            assert isinstance(frame, bytes)
            yield frame

    async def keys_in(self) -> AsyncIterator[Key]:
        async for key in self._keys:
            assert isinstance(key, Key)
            yield key

    async def play(self, pcm: bytes) -> None:
        """Send 16 kHz PCM as 20 ms G.711 packets on the media clock; returns once sent.

        Cancelling the task that awaits this drops whatever is still queued: the caller
        hears the prompt stop within one packet (barge-in).
        """
        async with self._playing:  # one prompt at a time: a second one waits its turn
            await self._play(pcm)

    async def _play(self, pcm: bytes) -> None:
        if self._closed or not pcm:
            return
        downsampler = audio.Resampler(PCM_RATE, G711_RATE)
        pcm8k = downsampler.process(pcm) + downsampler.flush()
        payload = self._codec.encode(pcm8k)
        for start in range(0, len(payload), PACKET_SAMPLES):
            chunk = payload[start : start + PACKET_SAMPLES]
            if len(chunk) < PACKET_SAMPLES:
                chunk += self._codec.silence[len(chunk) :]
            self._session.send_audio_auto(chunk)
        try:
            await self._session.drain()
        except asyncio.CancelledError:
            self.stop_playing()
            raise

    def stop_playing(self) -> None:
        """Drop the audio not yet sent."""
        pacer = self._session._paced_sender  # (aiortp exposes no stop)
        if pacer is not None:
            pacer.discard()

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._frames.close()
        self._keys.close()
        with contextlib.suppress(OSError):
            await self._session.close()
