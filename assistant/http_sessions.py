"""Rasa's calls to the action server over kept-alive connections.

Rasa 3.6's `EndpointConfig.request` opens a new aiohttp session, so a new TCP connection, for
every call it makes: about a tenth of Rasa's time per message went into setting connections up
(docs/performance.md). Here each endpoint keeps one session per event loop; Rasa's own
`request` still builds every request and reads every answer. The sessions close when the
server stops.
"""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import rasa.core.run
from rasa.utils.endpoints import EndpointConfig

# The session Rasa would open for one call (headers, basic auth, timeout of the endpoint).
_open_session: Callable[[EndpointConfig], aiohttp.ClientSession] = EndpointConfig.session
_rasa_close_resources: Callable[..., Awaitable[None]] = rasa.core.run.close_resources

# Each endpoint keeps its sessions by event loop (an attribute of its own: EndpointConfig is not
# hashable); every session opened is also listed here by loop, to be closed with the server.
_SESSIONS_ATTRIBUTE = "_guichet_sessions"
_opened: dict[int, list[aiohttp.ClientSession]] = {}


class _KeptSession:
    """What `async with endpoint.session()` gets: the kept session, left open on exit."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self._session = session

    async def __aenter__(self) -> aiohttp.ClientSession:
        return self._session

    async def __aexit__(self, *_exc: object) -> None:
        return None


def kept_session(endpoint: EndpointConfig) -> _KeptSession:
    """The endpoint's session for the running event loop, opened on first use."""
    loop_id = id(asyncio.get_running_loop())
    by_loop = endpoint.__dict__.setdefault(_SESSIONS_ATTRIBUTE, {})
    session = by_loop.get(loop_id)
    if session is None or session.closed:
        session = by_loop[loop_id] = _open_session(endpoint)
        _opened.setdefault(loop_id, []).append(session)
    return _KeptSession(session)


async def close_all() -> None:
    """Close every kept session of the running event loop."""
    for session in _opened.pop(id(asyncio.get_running_loop()), []):
        await session.close()


async def _close_resources(app: Any, loop: asyncio.AbstractEventLoop) -> None:
    await _rasa_close_resources(app, loop)
    await close_all()


def install() -> None:
    """Make Rasa's endpoints keep their sessions, and close them when the server stops."""
    EndpointConfig.session = kept_session  # type: ignore[method-assign,assignment]
    rasa.core.run.close_resources = _close_resources
