"""The phone line's own parts, without a SIP peer: keys, offers, masking, RTP pacing."""

from __future__ import annotations

import asyncio
import itertools
import socket
import struct
import time

from aiortp import PortAllocator
from aiosipua import parse_sdp

from tests.voice.phone.peers import HOST, rms, tone
from voice.dtmf import TelephoneEventDecoder
from voice.phone import PhoneLine
from voice.rtp_media import G711Codec, PacketGate, RtpMedia
from voice.sip_offer import choose_media, mask_caller
from voice.stages import FRAME_BYTES, Key


def event(code: int, duration: int, end: bool = False) -> bytes:
    return struct.pack("!BBH", code, (0x80 if end else 0) | 10, duration)


def test_one_key_per_event_whatever_is_retransmitted() -> None:
    dec = TelephoneEventDecoder()
    got = []
    # "5": three progress packets then three end packets, all with the event's timestamp
    for d in (160, 320, 480):
        got.append(dec.feed(1, 1000, event(5, d)))
    for _ in range(3):
        got.append(dec.feed(1, 1000, event(5, 640, end=True)))
    # "5" again: a new press has a new timestamp
    got.append(dec.feed(1, 3000, event(5, 160)))
    # a late retransmitted end packet of the first press
    got.append(dec.feed(1, 1000, event(5, 640, end=True)))
    # "#" and "*"
    got.append(dec.feed(1, 5000, event(11, 160, end=True)))
    got.append(dec.feed(1, 6000, event(10, 160)))
    assert [g for g in got if g] == ["5", "5", "#", "*"]


def test_events_that_are_not_keys_are_ignored() -> None:
    dec = TelephoneEventDecoder()
    assert dec.feed(1, 10, event(12, 160)) is None  # "A"
    assert dec.feed(1, 20, event(16, 160)) is None  # flash
    assert dec.feed(1, 30, b"\x01\x00") is None  # truncated payload
    assert dec.feed(2, 30, event(1, 160)) == "1"  # another source is another event


def test_a_key_held_past_the_16_bit_duration_is_one_key() -> None:
    dec = TelephoneEventDecoder()
    assert dec.feed(1, 0, event(7, 0xFFFF)) == "7"
    # RFC 4733 §2.5.1.3: the next segment starts at the previous timestamp + its duration
    assert dec.feed(1, 0xFFFF, event(7, 800)) is None
    assert dec.feed(1, 0xFFFF, event(7, 1600, end=True)) is None
    assert dec.feed(1, 0xFFFF + 8000, event(7, 160)) == "7"


OFFER = """v=0
o=- 1 1 IN IP4 192.0.2.10
s=-
c=IN IP4 192.0.2.10
t=0 0
m=video 5000 RTP/AVP 96
a=rtpmap:96 H264/90000
m=audio 4000 RTP/AVP 18 8 0 97 101
a=rtpmap:18 G729/8000
a=rtpmap:97 telephone-event/16000
a=rtpmap:101 telephone-event/8000
"""


def test_codec_chosen_by_name_in_the_callers_order_and_its_telephone_event_kept() -> None:
    choice = choose_media(parse_sdp(OFFER), "198.51.100.1")
    assert choice is not None
    assert (choice.codec, choice.payload_type) == ("PCMA", 8)
    assert choice.dtmf_payload_type == 101  # the 8 kHz one, not the 16 kHz one
    assert choice.remote_addr == ("192.0.2.10", 4000)


def test_offer_edge_cases() -> None:
    assert choose_media(None, "h") is None
    g729_only = OFFER.replace("18 8 0 97 101", "18 97")
    assert choose_media(parse_sdp(g729_only), "h") is None
    dynamic = OFFER.replace("18 8 0 97 101", "98").replace(
        "a=rtpmap:18 G729/8000", "a=rtpmap:98 pcmu/8000"
    )
    choice = choose_media(parse_sdp(dynamic.replace("IN IP4 192.0.2.10", "IN IP4 0.0.0.0")), "h")
    assert choice is not None and choice.codec == "PCMU" and choice.payload_type == 98
    assert choice.dtmf_payload_type is None
    assert choice.remote_addr == ("h", 4000)  # unusable c= address: the signalling host
    rejected = OFFER.replace("m=audio 4000", "m=audio 0")
    assert choose_media(parse_sdp(rejected), "h") is None


def test_caller_masked_to_two_digits() -> None:
    assert mask_caller("0612345678") == "•••••••78"
    assert mask_caller("+33612345678") == "•••••••78"
    assert mask_caller("anonymous") == "•••••••••"
    assert mask_caller("101") == "•••••••••"
    assert mask_caller(None) == "•••••••••"


def test_packet_gate_bounds_the_rate() -> None:
    gate = PacketGate(rate=100, burst=50)
    start = time.monotonic()
    assert sum(gate.admit() for _ in range(500)) <= 51
    time.sleep(0.2)
    refilled = sum(gate.admit() for _ in range(500))
    elapsed = time.monotonic() - start  # more than 0.2 s on a loaded machine
    assert 19 <= refilled <= min(50, elapsed * 100 + 1)


async def open_media(peer: socket.socket, codec: str = "PCMU") -> RtpMedia:
    return await RtpMedia.open(
        local_host=HOST,
        remote_addr=peer.getsockname(),
        codec=G711Codec(codec),
        payload_type=0 if codec == "PCMU" else 8,
        dtmf_payload_type=101,
        ports=PortAllocator((30000, 40000)),
    )


def udp_peer() -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((HOST, 0))
    s.setblocking(False)
    return s


async def receive(peer: socket.socket, until: float) -> list[tuple[float, bytes]]:
    loop = asyncio.get_running_loop()
    got = []
    while (left := until - time.monotonic()) > 0:
        try:
            data = await asyncio.wait_for(loop.sock_recv(peer, 2048), left)
        except TimeoutError:
            break
        if data[1] & 0x7F in (0, 8):  # RTP audio, not RTCP
            got.append((time.monotonic(), data))
    return got


def test_play_is_paced_in_20ms_packets_without_drift() -> None:
    async def main():  # type: ignore[no-untyped-def]
        with udp_peer() as peer:
            media = await open_media(peer)
            start = time.monotonic()
            receiving = asyncio.create_task(receive(peer, start + 6.5))
            await media.play(tone(5.0))
            took = time.monotonic() - start
            got = await receiving
            await media.close()
            return took, got

    took, got = asyncio.run(main())
    assert len(got) == 250
    assert all(len(p) == 12 + 160 for _, p in got)
    seqs = [struct.unpack("!H", p[2:4])[0] for _, p in got]
    stamps = [struct.unpack("!I", p[4:8])[0] for _, p in got]
    assert all((b - a) & 0xFFFF == 1 for a, b in itertools.pairwise(seqs))
    assert all((b - a) & 0xFFFFFFFF == 160 for a, b in itertools.pairwise(stamps))
    span = got[-1][0] - got[0][0]
    assert abs(span - 249 * 0.020) < 0.05, span  # no drift over 5 s
    assert 4.95 < took < 5.2


def test_cancelling_play_stops_the_audio_at_once() -> None:
    async def main():  # type: ignore[no-untyped-def]
        with udp_peer() as peer:
            media = await open_media(peer, "PCMA")
            start = time.monotonic()
            receiving = asyncio.create_task(receive(peer, start + 2.0))
            playing = asyncio.create_task(media.play(tone(3.0)))
            await asyncio.sleep(0.5)
            playing.cancel()
            got = await receiving
            await media.close()
            return got

    got = asyncio.run(main())
    # 0.5 s is 25 packets: nothing of the remaining 2.5 s (125 packets) may follow
    assert 20 <= len(got) <= 27
    assert all(p[1] & 0x7F == 8 for _, p in got)


def test_media_hears_only_the_negotiated_peer_and_payload_types() -> None:
    async def main():  # type: ignore[no-untyped-def]
        with udp_peer() as peer, udp_peer() as stranger:
            media = await open_media(peer)
            dest = (HOST, media.local_port)
            speech = G711Codec("PCMU").encode(tone(0.02, amp=6000)[:640][::2])

            def packet(pt: int, seq: int, payload: bytes) -> bytes:
                return struct.pack("!BBHII", 0x80, pt, seq, seq * 160, 7) + payload

            for seq in range(50):
                stranger.sendto(packet(0, seq, speech), dest)
                stranger.sendto(packet(101, 1000 + seq, event(9, 160)), dest)
                peer.sendto(packet(18, seq, speech), dest)  # G.729: not what we chose
            await asyncio.sleep(0.2)
            for seq in range(100, 125):
                peer.sendto(packet(0, seq, speech), dest)
                await asyncio.sleep(0.02)
            peer.sendto(packet(101, 200, event(4, 160)), dest)
            await asyncio.sleep(0.1)
            dropped = media.dropped_packets
            await media.close()
            frames = [f async for f in media.audio_in()]
            keys = [k async for k in media.keys_in()]
            return frames, keys, dropped

    frames, keys, dropped = asyncio.run(main())
    assert keys == [Key("4")]
    assert dropped >= 100
    assert 20 <= len(frames) <= 25  # 16 kHz frames of the peer's 25 packets (resampler delay)
    assert all(len(f) == FRAME_BYTES for f in frames)
    assert rms(b"".join(frames[5:])) > 1000


def test_a_call_that_cannot_get_rtp_ports_is_refused_503_not_left_ringing() -> None:
    async def main() -> list[bytes]:
        with udp_peer() as caller, udp_peer() as busy:
            port = busy.getsockname()[1]  # the only RTP port the line may use is taken
            async with PhoneLine(HOST, 0, rtp_ports=(port, port + 1)) as line:
                me = caller.getsockname()
                sdp = (
                    f"v=0\r\no=- 1 1 IN IP4 {HOST}\r\ns=-\r\nc=IN IP4 {HOST}\r\nt=0 0\r\n"
                    f"m=audio {me[1]} RTP/AVP 0\r\n"
                )
                invite = (
                    f"INVITE sip:guichet@{HOST}:{line.port} SIP/2.0\r\n"
                    f"Via: SIP/2.0/UDP {HOST}:{me[1]};branch=z9hG4bKnoports;rport\r\n"
                    f"From: <sip:0612345678@{HOST}>;tag=a\r\nTo: <sip:guichet@{HOST}>\r\n"
                    "Call-ID: noports-1\r\nCSeq: 1 INVITE\r\n"
                    f"Contact: <sip:caller@{HOST}:{me[1]}>\r\n"
                    f"Content-Type: application/sdp\r\nContent-Length: {len(sdp)}\r\n\r\n{sdp}"
                )
                caller.sendto(invite.encode(), (HOST, line.port))
                loop = asyncio.get_running_loop()
                answers = []
                while not answers or answers[-1].startswith(b"SIP/2.0 1"):
                    answers.append(await asyncio.wait_for(loop.sock_recv(caller, 4096), 3))
                return answers

    answers = asyncio.run(main())
    assert answers[-1].startswith(b"SIP/2.0 503"), answers


def test_prompts_play_one_after_the_other_and_barge_in_stops_only_the_current_one() -> None:
    async def main():  # type: ignore[no-untyped-def]
        with udp_peer() as peer:
            media = await open_media(peer)
            start = time.monotonic()
            receiving = asyncio.create_task(receive(peer, start + 1.5))
            first = asyncio.create_task(media.play(tone(1.0)))
            second = asyncio.create_task(media.play(tone(0.5, freq=500)))
            await asyncio.sleep(0.3)
            first.cancel()
            await second
            took = time.monotonic() - start
            got = await receiving
            await media.close()
            return took, got

    took, got = asyncio.run(main())
    assert 0.75 < took < 1.2  # 0.3 s of the first, then all of the second
    assert 37 <= len(got) <= 43


def test_a_flood_from_the_callers_own_address_is_cut_to_a_sane_rate() -> None:
    async def main():  # type: ignore[no-untyped-def]
        with udp_peer() as peer:
            media = await open_media(peer)
            dest = (HOST, media.local_port)
            start = time.monotonic()
            for seq in range(1000):  # as fast as the socket goes: far above 50 a second
                peer.sendto(struct.pack("!BBHII", 0x80, 0, seq, seq * 160, 7) + b"\xff" * 160, dest)
                if seq % 50 == 0:
                    await asyncio.sleep(0.001)
            await asyncio.sleep(0.1)
            elapsed = time.monotonic() - start
            admitted = media._session.stats.get("packets_received", 0)
            dropped = media.dropped_packets
            await media.close()
            return elapsed, admitted, dropped

    elapsed, admitted, dropped = asyncio.run(main())
    assert dropped > 300
    assert admitted <= 75 + 150 * elapsed + 1  # the burst, then 150 packets a second
