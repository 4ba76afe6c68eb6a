import asyncio
import json
from datetime import date

import httpx
import pytest

from assistant.actions.api_client import (
    ApiSettings,
    ApiUnavailable,
    Asker,
    DossierApiClient,
    DossierNotFound,
    TooManyAttempts,
    header_value,
)
from tests.actions.contract import api_transport

SETTINGS = ApiSettings(base_url="http://api.test", token="secret-token")
BODY = {
    "numero": "2611000002",
    "demarche": "permis_renouvellement_fin_validite",
    "demarche_libelle": "renouvellement du permis de conduire",
    "statut": "incomplet",
    "statut_libelle": "incomplète : des pièces sont demandées",
    "depuis": "2026-11-18",
    "depuis_jours": 5,
    "delai_normal_jours": 30,
    "bloque": False,
    "pieces_manquantes": ["justificatif_domicile"],
    "pieces_manquantes_libelles": ["justificatif de domicile de moins de 6 mois"],
    "motif": "le justificatif de domicile envoyé a plus de 6 mois",
    "suivi_courrier": None,
    "historique": [],
}


def lookup_with(handler, asker: Asker | None = None, *, check_answers: bool = True) -> object:  # type: ignore[no-untyped-def]
    """Look a dossier up from a fake API held to api/openapi.json (tests/actions/contract.py)."""
    transport = api_transport(handler, check_answers=check_answers)
    client = DossierApiClient(SETTINGS, transport=transport)
    return asyncio.run(client.lookup("2611000002", date(1961, 7, 4), asker=asker))


def sent_headers(asker: Asker | None) -> httpx.Headers:
    seen = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen["headers"] = request.headers
        return httpx.Response(200, json=BODY)

    lookup_with(handler, asker)
    return seen["headers"]


def test_sends_token_number_and_iso_date() -> None:
    seen = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen["auth"] = request.headers["Authorization"]
        seen["url"] = str(request.url)
        seen["body"] = json.loads(request.content)
        return httpx.Response(200, json=BODY)

    status = lookup_with(handler)
    assert seen == {
        "auth": "Bearer secret-token",
        "url": "http://api.test/v1/dossiers/lookup",
        "body": {"numero": "2611000002", "date_naissance": "1961-07-04"},
    }
    assert status.statut == "incomplet"
    assert status.depuis == date(2026, 11, 18)
    assert status.pieces_manquantes_libelles == ["justificatif de domicile de moins de 6 mois"]


def test_sends_who_is_asking() -> None:
    headers = sent_headers(Asker(address="9f2c4e", conversation="conv-42"))
    assert headers["X-Guichet-Asker"] == "9f2c4e"
    assert headers["X-Guichet-Conversation"] == "conv-42"
    assert headers["Authorization"] == "Bearer secret-token"


def test_sends_only_what_is_known_of_the_asker() -> None:
    headers = sent_headers(Asker(conversation="conv-42"))
    assert "X-Guichet-Asker" not in headers
    assert headers["X-Guichet-Conversation"] == "conv-42"
    headers = sent_headers(None)
    assert "X-Guichet-Asker" not in headers and "X-Guichet-Conversation" not in headers


def test_any_conversation_id_fits_in_a_header() -> None:
    headers = sent_headers(Asker(address="a" * 300, conversation="Hélène\n 1"))
    assert headers["X-Guichet-Conversation"] == "H%C3%A9l%C3%A8ne%0A%201"
    assert headers["X-Guichet-Asker"].startswith("sha256:")
    assert header_value("a" * 300) == headers["X-Guichet-Asker"], "the same value each time"
    assert header_value("a" * 300) != header_value("a" * 301)


def test_404_is_not_found() -> None:
    with pytest.raises(DossierNotFound):
        lookup_with(lambda request: httpx.Response(404, json={"detail": "x"}))


def test_429_carries_retry_after() -> None:
    with pytest.raises(TooManyAttempts) as error:
        lookup_with(lambda request: httpx.Response(429, headers={"Retry-After": "600"}))
    assert error.value.retry_after_seconds == 600


@pytest.mark.parametrize("status_code", [401, 422, 500, 503])
def test_other_statuses_are_unavailable(status_code: int) -> None:
    with pytest.raises(ApiUnavailable):
        lookup_with(lambda request: httpx.Response(status_code, json={}))


def test_unreadable_body_is_unavailable() -> None:
    with pytest.raises(ApiUnavailable):
        lookup_with(lambda request: httpx.Response(200, json={"numero": "x"}), check_answers=False)


def test_connection_error_is_unavailable() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(ApiUnavailable):
        lookup_with(handler)


def test_client_from_env_uses_the_configured_api(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GUICHET_API_URL", "http://api.example:9000")
    monkeypatch.setenv("GUICHET_ASSISTANT_TOKEN", "from-env")
    client = DossierApiClient.from_env()
    assert client._settings == ApiSettings(base_url="http://api.example:9000", token="from-env")


def test_from_env_gives_the_process_one_client(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GUICHET_API_URL", "http://api.example:9000")
    monkeypatch.setenv("GUICHET_ASSISTANT_TOKEN", "from-env")
    assert DossierApiClient.from_env() is DossierApiClient.from_env()
    monkeypatch.setenv("GUICHET_ASSISTANT_TOKEN", "rotated")
    assert DossierApiClient.from_env()._settings.token == "rotated"


async def _count_connections_for(lookups: int) -> int:
    """Serve `lookups` answers over HTTP/1.1 on loopback; return how many TCP connections the
    client opened for them."""
    connections = 0
    payload = json.dumps(BODY).encode()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        try:
            while head := await reader.readuntil(b"\r\n\r\n"):
                length = next(
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length")
                )
                await reader.readexactly(length)
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    + f"Content-Length: {len(payload)}\r\n\r\n".encode()
                    + payload
                )
                await writer.drain()
        except asyncio.IncompleteReadError:  # the client closed its connection
            pass
        finally:
            writer.close()
            await writer.wait_closed()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = DossierApiClient(ApiSettings(f"http://127.0.0.1:{port}", "t"))
    try:
        for _ in range(lookups):
            await client.lookup("2611000002", date(1961, 7, 4))
    finally:
        await client.aclose()
        server.close()
        await server.wait_closed()
    return connections


def test_lookups_reuse_one_connection() -> None:
    assert asyncio.run(_count_connections_for(3)) == 1
