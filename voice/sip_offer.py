"""What to answer to a caller's SDP offer, and how a caller is named in logs and on the tracker.

aiosipua's `negotiate_sdp` picks codecs by payload-type number and answers telephone-event on
a fixed payload type (101 by default) whatever the caller offered. Here the codec is chosen by
name (PCMU or PCMA at 8 kHz, in the caller's order of preference) and telephone-event keeps the
payload type the caller offered (101, 96, ...), which is the one its packets will carry.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from aiosipua import SdpMessage

G711_NAMES = ("PCMU", "PCMA")
_STATIC = {0: "PCMU", 8: "PCMA"}  # RFC 3551 static payload types, valid without an rtpmap
MASK = "•••••••"


@dataclass(frozen=True)
class MediaChoice:
    codec: str  # "PCMU" or "PCMA"
    payload_type: int
    dtmf_payload_type: int | None  # None when the caller offered no telephone-event
    remote_addr: tuple[str, int]  # where the caller wants its RTP


def choose_media(offer: SdpMessage | None, signalling_host: str) -> MediaChoice | None:
    """The G.711 codec and telephone-event of the first usable audio stream, or None.

    `signalling_host` stands in for an unusable connection address (0.0.0.0, a host name).
    """
    if offer is None:
        return None
    for media in offer.media:
        if media.media != "audio" or media.port == 0 or not media.proto.startswith("RTP/AVP"):
            continue
        codec = dtmf = None
        for c in media.codecs:
            name = (c.encoding_name or _STATIC.get(c.payload_type, "")).upper()
            rate = c.clock_rate or 8000
            if codec is None and name in G711_NAMES and rate == 8000:
                codec = (name, c.payload_type)
            elif dtmf is None and name == "TELEPHONE-EVENT" and rate == 8000:
                dtmf = c.payload_type
        if codec is None:
            continue
        conn = media.connection or offer.connection
        host = conn.address if conn is not None else ""
        if not _is_usable_ip(host):
            host = signalling_host
        return MediaChoice(codec[0], codec[1], dtmf, (host, media.port))
    return None


def _is_usable_ip(host: str) -> bool:
    try:
        return not ipaddress.ip_address(host).is_unspecified
    except ValueError:
        return False


def mask_caller(user: str | None) -> str:
    """Keep only the last two digits of the caller's number: "•••••••78".

    The length is not kept either; a caller with fewer than four digits (an extension, an
    anonymous call) is masked entirely.
    """
    digits = "".join(ch for ch in user or "" if ch.isdigit())
    return MASK + (digits[-2:] if len(digits) >= 4 else "••")
