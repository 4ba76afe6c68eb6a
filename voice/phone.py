"""The phone line: answers SIP calls over UDP and hands each one over as a `CallTransport`.

API (everything else in voice/phone.py, voice/rtp_media.py, voice/sip_offer.py and
voice/dtmf.py is internal)::

    async def handle(call: PhoneCall) -> None:      # one task per answered call
        await call.play(greeting_pcm)                # 16 kHz PCM, paced in real time
        async for key in call.keys_in():             # Key("1"), Key("#"), ...
            ...
        # returning hangs up (BYE) if the caller has not already

    async with PhoneLine(host="127.0.0.1", port=5060, on_call=handle) as line:
        await line.serve_forever()

or, without `on_call`, take the calls yourself: ``async for call in line.calls(): ...``
(then spawn a task per call and call `hang_up()` when done).

A `PhoneCall` implements `voice.stages.CallTransport`:

- `info`: a `CallInfo` with channel "phone", a call id of ours (never the SIP Call-ID) and
  the caller masked to its last two digits ("•••••••78"); `info.extra["codec"]`.
- `audio_in()`: the caller's audio as 16 kHz PCM frames of `FRAME_BYTES` (20 ms), decoded
  from G.711 and resampled; ends when the call ends. At most 5 s are kept if nobody reads.
- `keys_in()`: one `Key` per key press (RFC 4733 telephone-event, on the payload type the
  caller offered); ends when the call ends.
- `play(pcm)`: sends 16 kHz PCM as 8 kHz G.711 in 20 ms RTP packets on a monotonic media
  clock and returns when the last packet has gone. Cancel the task awaiting it to barge in:
  the audio stops at once. Returns at once once the call has ended. Two prompts played at
  the same time play one after the other.
- `hang_up()`: sends BYE (idempotent). `ended` / `wait_ended()` tell when the call is over,
  whichever side hung up.

The line answers at once (or after `ring_seconds` of 180 Ringing), and hangs up a call
whose caller has sent no RTP for `rtp_timeout` seconds (a caller gone without a BYE). It
refuses an offer with no PCMU/PCMA with 488, more than `max_calls` calls with 486; answers
OPTIONS with 200, a CANCEL before the answer with 487 (aiosipua), a request it cannot parse
with 400 (or ignores it when it cannot even answer). It hears RTP only on the port in the
caller's SDP (from the SDP's host or the caller's SIP host), at a bounded rate
(voice/rtp_media.py): a caller behind a NAT that rewrites ports is not heard, the line is
meant for a trunk or a local network. Nothing is recorded. The caller's number is never
logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from aiortp import PortAllocator
from aiosipua import (
    DialogState,
    IncomingCall,
    SipRequest,
    SipResponse,
    SipUAS,
    UdpSipTransport,
    negotiate_sdp,
)
from aiosipua import transport as aiosipua_transport

from voice.rtp_media import G711Codec, RtpMedia
from voice.sip_offer import MediaChoice, choose_media, mask_caller
from voice.stages import CallInfo, Key

logger = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 5060
DEFAULT_RTP_PORTS = (10000, 20000)
BYE_RETRIES = (0.5, 1.0, 2.0)  # seconds before each BYE retransmission over UDP

CallHandler = Callable[["PhoneCall"], Awaitable[None]]


class PhoneCall:
    """One answered call (a `voice.stages.CallTransport`)."""

    def __init__(
        self,
        line: PhoneLine,
        incoming: IncomingCall,
        media: RtpMedia,
        choice: MediaChoice,
    ) -> None:
        self._line = line
        self._incoming = incoming
        self._media = media
        self.sip_call_id = incoming.call_id
        self.codec = choice.codec
        self.dtmf_payload_type = choice.dtmf_payload_type
        from_addr = incoming.invite.from_addr
        self.info = CallInfo(
            call_id=f"phone-{uuid.uuid4().hex[:16]}",
            channel="phone",
            masked_caller=mask_caller(from_addr.uri.user if from_addr else None),
            extra={"codec": choice.codec},
        )
        self._ended = asyncio.Event()

    def audio_in(self) -> AsyncIterator[bytes]:
        return self._media.audio_in()

    def keys_in(self) -> AsyncIterator[Key]:
        return self._media.keys_in()

    async def play(self, pcm: bytes) -> None:
        if not self.ended:
            await self._media.play(pcm)

    async def hang_up(self) -> None:
        if self.ended:
            return
        bye = self._incoming.hangup()  # sends the BYE
        if bye is not None:
            self._line._retransmit_until_answered(bye, self._incoming.source_addr)
        await self._finish("hung up by the line")

    @property
    def ended(self) -> bool:
        return self._ended.is_set()

    async def wait_ended(self) -> None:
        await self._ended.wait()

    @property
    def rtp_port(self) -> int:
        """Our RTP port for this call (the one in our SDP answer)."""
        return self._media.local_port

    @property
    def dropped_packets(self) -> int:
        """RTP packets refused (wrong address, flood, unparseable): for tests and logs."""
        return self._media.dropped_packets

    async def _finish(self, why: str) -> None:
        if self.ended:
            return
        self._ended.set()
        self._incoming._stop_retransmissions()  # a 200 OK still awaiting its ACK
        self._line._forget(self)
        await self._media.close()
        logger.info("Call %s ended: %s", self.info.call_id, why)


class _UdpProtocol(aiosipua_transport._UdpProtocol):
    """aiosipua asserts that it gets an `asyncio.DatagramTransport`, which Python 3.11's
    selector transport is not a subclass of: the assertion logs an error at every start."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._owner._udp_transport = transport  # type: ignore[assignment]


class _UdpTransport(UdpSipTransport):
    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        udp, _ = await loop.create_datagram_endpoint(
            lambda: _UdpProtocol(self), local_addr=self.local_addr
        )
        self._udp_transport = udp


class _GuardedUAS(SipUAS):
    """SipUAS that answers 400 to a request its handlers choke on (a bad SDP, a bad header)
    instead of leaving it unanswered, and lets the line see responses to its BYEs."""

    on_response: Callable[[SipResponse], None] | None = None

    def _handle_request(self, request: SipRequest, addr: tuple[str, int]) -> None:
        try:
            super()._handle_request(request, addr)
        except Exception as exc:  # anything a hostile datagram can provoke
            # The exception's type only: its text may quote a header, hence a phone number.
            logger.warning(
                "Malformed %s from %s refused (%s)", request.method, addr[0], type(exc).__name__
            )
            with contextlib.suppress(Exception):
                self._send_error(request, 400, "Bad Request")

    def _on_message(self, msg: SipRequest | SipResponse, addr: tuple[str, int]) -> None:
        if isinstance(msg, SipResponse):
            if self.on_response is not None:
                self.on_response(msg)
            return
        super()._on_message(msg, addr)


class PhoneLine:
    """A SIP user agent that answers calls on UDP `host:port`; see the module docstring."""

    def __init__(
        self,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        *,
        on_call: CallHandler | None = None,
        rtp_ports: tuple[int, int] = DEFAULT_RTP_PORTS,
        max_calls: int = 50,
        ring_seconds: float = 0.0,
        rtp_timeout: float = 60.0,
        advertise: str | None = None,
        user_agent: str = "Guichet",
    ) -> None:
        self.host = host
        self._advertise = advertise
        self.port = port
        self._on_call = on_call
        self._ports = PortAllocator(rtp_ports)
        self._max_calls = max_calls
        self._ring_seconds = ring_seconds
        self._rtp_timeout = rtp_timeout
        self._user_agent = user_agent
        self._uas: _GuardedUAS | None = None
        self._answering: dict[str, asyncio.Task[None]] = {}
        self._calls: dict[str, PhoneCall] = {}
        self._handlers: set[asyncio.Task[None]] = set()
        self._new_calls: asyncio.Queue[PhoneCall] = asyncio.Queue()
        self._bye_waits: dict[str, asyncio.Task[None]] = {}
        self._stopped = asyncio.Event()

    # --- lifecycle ---

    async def start(self) -> None:
        transport = _UdpTransport(local_addr=(self.host, self.port))
        uas = _GuardedUAS(transport, user_agent=self._user_agent)
        if self._advertise:
            uas.advertised_addr = (self._advertise, self.port)
        uas.on_invite = self._on_invite
        uas.on_bye = self._on_bye
        uas.on_cancel = self._on_cancel
        uas.on_reinvite = self._on_reinvite
        uas.on_ack_timeout = self._on_ack_timeout
        uas.on_response = self._on_response
        await uas.start()
        udp = transport._udp_transport  # (the bound port, when port=0)
        assert udp is not None
        self.port = udp.get_extra_info("sockname")[1]
        transport.local_addr = (self.host, self.port)  # what Via/Contact advertise
        if self._advertise:
            uas.advertised_addr = (self._advertise, self.port)
        self._uas = uas
        logger.info("Phone line listening on sip:guichet@%s:%d (UDP)", self.host, self.port)

    async def stop(self) -> None:
        for task in list(self._answering.values()):
            task.cancel()
        for call in list(self._calls.values()):
            await call.hang_up()
        for task in list(self._handlers):
            task.cancel()
        await asyncio.gather(*self._handlers, *self._answering.values(), return_exceptions=True)
        for task in list(self._bye_waits.values()):
            task.cancel()
        await asyncio.sleep(0)  # let the last BYEs leave
        if self._uas is not None:
            await self._uas.stop()
            self._uas = None
        self._stopped.set()

    async def __aenter__(self) -> PhoneLine:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def serve_forever(self) -> None:
        await self._stopped.wait()

    async def calls(self) -> AsyncIterator[PhoneCall]:
        """Answered calls, when the line was made without `on_call`."""
        while True:
            yield await self._new_calls.get()

    @property
    def active_calls(self) -> int:
        return len(self._calls)

    # --- SIP events (aiosipua callbacks, synchronous) ---

    def _on_invite(self, incoming: IncomingCall) -> None:
        sip_id = incoming.call_id
        if sip_id in self._answering or sip_id in self._calls:
            return  # a retransmitted INVITE: aiosipua has answered 100 Trying again
        if len(self._answering) + len(self._calls) >= self._max_calls:
            logger.warning("Call refused: %d calls already (486 Busy Here)", self._max_calls)
            incoming.reject(486, "Busy Here")
            return
        choice = choose_media(incoming.sdp_offer, incoming.source_addr[0])
        if choice is None:
            logger.warning(
                "Call refused from %s: no PCMU/PCMA audio offered (488)", incoming.source_addr[0]
            )
            incoming.reject(488, "Not Acceptable Here")
            return
        task = asyncio.get_running_loop().create_task(self._answer(incoming, choice))
        self._answering[sip_id] = task
        task.add_done_callback(lambda t: self._answer_done(t, incoming))

    async def _answer(self, incoming: IncomingCall, choice: MediaChoice) -> None:
        if self._ring_seconds > 0:
            incoming.ringing()
            await asyncio.sleep(self._ring_seconds)
        opening = asyncio.ensure_future(self._open_media(incoming, choice))
        try:
            media = await asyncio.shield(opening)
        except asyncio.CancelledError:  # CANCEL while the ports were being bound
            opening.add_done_callback(self._close_orphan_media)
            raise
        try:
            answer, _ = negotiate_sdp(
                incoming.sdp_offer,  # type: ignore[arg-type] (choose_media checked it)
                local_ip=self._sdp_host(incoming.source_addr[0]),
                rtp_port=media.local_port,
                supported_codecs=[choice.payload_type],
                dtmf_payload_type=choice.dtmf_payload_type or 0,
                session_name="Guichet",
            )
            incoming.accept(answer)
        except BaseException:
            await media.close()
            raise
        call = PhoneCall(self, incoming, media, choice)
        self._calls[incoming.call_id] = call
        logger.info(
            "Call %s answered: caller %s, %s, telephone-event %s",
            call.info.call_id,
            call.info.masked_caller,
            choice.codec,
            choice.dtmf_payload_type,
        )
        self._spawn(self._watch(call))
        if self._on_call is None:
            self._new_calls.put_nowait(call)
        else:
            handler = asyncio.get_running_loop().create_task(self._run_handler(call))
            self._handlers.add(handler)
            handler.add_done_callback(self._handlers.discard)

    async def _open_media(self, incoming: IncomingCall, choice: MediaChoice) -> RtpMedia:
        """Bind an RTP/RTCP port pair; another process may take a pair the allocator saw
        free, so try a few."""
        for attempt in range(3):
            try:
                return await RtpMedia.open(
                    local_host=self.host,
                    remote_addr=choice.remote_addr,
                    codec=G711Codec(choice.codec),
                    payload_type=choice.payload_type,
                    dtmf_payload_type=choice.dtmf_payload_type,
                    ports=self._ports,
                    signalling_host=incoming.source_addr[0],
                )
            except OSError:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _answer_done(self, task: asyncio.Task[None], incoming: IncomingCall) -> None:
        """Never leave a caller without a final answer: 503 if answering failed."""
        self._answering.pop(incoming.call_id, None)
        if task.cancelled() or task.exception() is None:
            return
        logger.error("Call could not be answered (503)", exc_info=task.exception())
        if not incoming._answered and incoming.dialog.state != DialogState.TERMINATED:
            incoming.reject(503, "Service Unavailable")

    async def _run_handler(self, call: PhoneCall) -> None:
        assert self._on_call is not None
        try:
            await self._on_call(call)
        except Exception:
            logger.exception("Call handler failed on %s", call.info.call_id)
        finally:
            await call.hang_up()

    async def _watch(self, call: PhoneCall) -> None:
        """Hang up a call whose caller vanished without a BYE (no RTP for `rtp_timeout`)."""
        while not call.ended:
            await asyncio.sleep(min(5.0, self._rtp_timeout / 4))
            if not call.ended and call._media.silent_for > self._rtp_timeout:
                logger.warning(
                    "Call %s: no RTP for %.0f s, hanging up", call.info.call_id, self._rtp_timeout
                )
                await call.hang_up()

    def _on_bye(self, incoming: IncomingCall, _request: SipRequest) -> None:
        call = self._calls.get(incoming.call_id)
        if call is not None:
            self._spawn(call._finish("the caller hung up"))

    def _on_cancel(self, request: SipRequest, _addr: tuple[str, int]) -> None:
        sip_id = request.call_id or ""
        task = self._answering.get(sip_id)
        if task is not None:
            task.cancel()
            logger.info("Call cancelled by the caller before the answer (487)")
        call = self._calls.get(sip_id)
        if call is not None and self._uas is not None:
            # A CANCEL that crossed our 200 OK has no effect (RFC 3261 §9.2), but aiosipua
            # forgets the call anyway: keep it known, so that the caller's BYE still ends it.
            self._uas._calls[sip_id] = call._incoming

    def _close_orphan_media(self, opening: asyncio.Future[RtpMedia]) -> None:
        if not opening.cancelled() and opening.exception() is None:
            self._spawn(opening.result().close())

    def _on_ack_timeout(self, incoming: IncomingCall) -> None:
        call = self._calls.get(incoming.call_id)
        if call is not None:
            self._spawn(call._finish("no ACK for the answer"))

    # --- helpers ---

    def _forget(self, call: PhoneCall) -> None:
        self._calls.pop(call.sip_call_id, None)
        if self._uas is not None:
            # aiosipua forgets a call on an incoming BYE only, not on the BYE we send
            self._uas._calls.pop(call.sip_call_id, None)

    def _on_reinvite(self, incoming: IncomingCall) -> None:
        """A session refresh or hold: keep the media as answered (the same SDP again)."""
        if incoming.call_id in self._calls:
            incoming.accept(incoming.sdp_answer)

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._handlers.add(task)
        task.add_done_callback(self._handlers.discard)

    def _sdp_host(self, peer_host: str) -> str:
        """The address for our SDP: `advertise`, the bound one, or the one reaching the peer."""
        if self._advertise:
            return self._advertise
        if self.host not in ("0.0.0.0", "::", ""):
            return self.host
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect((peer_host, 9))  # no packet is sent: this only picks a route
            return str(probe.getsockname()[0])

    def _retransmit_until_answered(self, request: SipRequest, addr: tuple[str, int]) -> None:
        """Resend a BYE until it is answered (RFC 3261 §17.1.2, shortened): aiosipua sends
        it once only, and a lost BYE over UDP would leave the caller on the line."""
        assert self._uas is not None
        transport = self._uas.transport
        key = f"{request.call_id} {request.get_header('cseq')}"

        async def retransmit() -> None:
            for delay in BYE_RETRIES:
                await asyncio.sleep(delay)
                transport.send(request, addr)

        task = asyncio.get_running_loop().create_task(retransmit())
        self._bye_waits[key] = task
        task.add_done_callback(lambda _t: self._bye_waits.pop(key, None))

    def _on_response(self, response: SipResponse) -> None:
        key = f"{response.call_id} {response.get_header('cseq')}"
        task = self._bye_waits.get(key)
        if task is not None and response.status_code >= 200:
            task.cancel()
