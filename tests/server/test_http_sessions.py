"""Rasa's endpoint calls reuse one connection, with the same answers and errors as before."""

import asyncio

import pytest
from aiohttp import web
from rasa.utils.endpoints import ClientResponseError, EndpointConfig

from assistant import http_sessions


@pytest.fixture(autouse=True)
def kept_sessions(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(EndpointConfig, "session", http_sessions.kept_session)


async def _serve_and_call(calls: int, status: int = 200) -> tuple[list, int, list[str]]:
    """Answer `calls` POSTs on loopback; return the answers, the TCP connections opened and
    the Authorization headers received."""
    connections: set[int] = set()
    tokens: list[str] = []

    async def webhook(request: web.Request) -> web.Response:
        connections.add(id(request.transport))
        tokens.append(request.headers.get("Authorization", ""))
        body = await request.json()
        return web.json_response({"events": [], "echo": body["n"]}, status=status)

    app = web.Application()
    app.router.add_post("/webhook", webhook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    endpoint = EndpointConfig(
        f"http://127.0.0.1:{port}/webhook", headers={"Authorization": "Bearer t"}
    )
    answers = []
    try:
        for n in range(calls):
            try:
                answers.append(await endpoint.request(json={"n": n}, method="post"))
            except ClientResponseError as error:
                answers.append(error.status)
    finally:
        await http_sessions.close_all()
        await runner.cleanup()
    return answers, len(connections), tokens


def test_calls_share_one_connection_and_get_their_answers() -> None:
    answers, connections, tokens = asyncio.run(_serve_and_call(3))
    assert answers == [{"events": [], "echo": n} for n in range(3)]
    assert connections == 1
    assert tokens == ["Bearer t"] * 3


def test_errors_are_raised_as_rasa_raises_them() -> None:
    answers, _, _ = asyncio.run(_serve_and_call(2, status=500))
    assert answers == [500, 500]


def test_sessions_close_with_the_server() -> None:
    async def open_then_close() -> bool:
        endpoint = EndpointConfig("http://127.0.0.1:9/webhook")
        async with endpoint.session() as session:
            pass
        assert not session.closed  # kept for the next call
        await http_sessions.close_all()
        return session.closed

    assert asyncio.run(open_then_close())
