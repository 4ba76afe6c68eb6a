"""The one typed client of the dossier API: results or typed errors, never raw responses."""

import asyncio
import hashlib
import os
import re
from dataclasses import dataclass
from datetime import date
from urllib.parse import quote

import httpx

DEFAULT_API_URL = "http://127.0.0.1:8000"
DEFAULT_RETRY_AFTER_SECONDS = 900
ASKER_HEADER = "X-Guichet-Asker"
CONVERSATION_HEADER = "X-Guichet-Conversation"
MAX_HEADER_CHARS = 256
_HEADER_SAFE = re.compile(r"[!-~]+")


class DossierNotFound(Exception):
    """No dossier matches this number and date of birth (the API does not say which)."""


class TooManyAttempts(Exception):
    """The API refuses this person's lookups for a while (too many, or too many wrong dates)."""

    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__(f"retry after {retry_after_seconds} s")
        self.retry_after_seconds = retry_after_seconds


class ApiUnavailable(Exception):
    """The API could not answer (down, slow, misconfigured)."""


@dataclass(frozen=True)
class DossierStatus:
    """Where a dossier stands, as the API describes it."""

    numero: str
    demarche: str
    demarche_libelle: str
    statut: str
    statut_libelle: str
    depuis: date
    depuis_jours: int
    delai_normal_jours: int | None
    bloque: bool
    pieces_manquantes: list[str]
    pieces_manquantes_libelles: list[str]
    motif: str | None
    suivi_courrier: str | None

    @classmethod
    def from_json(cls, body: dict) -> "DossierStatus":
        """Build from the API's JSON body, ignoring fields this client does not use."""
        return cls(
            numero=body["numero"],
            demarche=body["demarche"],
            demarche_libelle=body["demarche_libelle"],
            statut=body["statut"],
            statut_libelle=body["statut_libelle"],
            depuis=date.fromisoformat(body["depuis"]),
            depuis_jours=body["depuis_jours"],
            delai_normal_jours=body.get("delai_normal_jours"),
            bloque=body["bloque"],
            pieces_manquantes=body["pieces_manquantes"],
            pieces_manquantes_libelles=body["pieces_manquantes_libelles"],
            motif=body.get("motif"),
            suivi_courrier=body.get("suivi_courrier"),
        )


@dataclass(frozen=True)
class Asker:
    """Who is really asking, for the API's attempt limits (they are per person, not global).

    `address` is the opaque keyed hash of the person's edge address that the chat door puts in
    each message's metadata; `conversation` is the Rasa conversation id (the API hashes it).
    """

    address: str | None = None
    conversation: str | None = None

    def headers(self) -> dict[str, str]:
        headers = {}
        if self.address:
            headers[ASKER_HEADER] = header_value(self.address)
        if self.conversation:
            headers[CONVERSATION_HEADER] = header_value(self.conversation)
        return headers


def header_value(value: str) -> str:
    """`value` as a header can carry it, always the same for the same value: printable ASCII
    as it is, anything else percent-encoded, and too long a value as its SHA-256."""
    if not _HEADER_SAFE.fullmatch(value):
        value = quote(value, safe="")
    if len(value) > MAX_HEADER_CHARS:
        value = "sha256:" + hashlib.sha256(value.encode()).hexdigest()
    return value


@dataclass(frozen=True)
class ApiSettings:
    """Where the API is and the assistant's token, from the environment."""

    base_url: str
    token: str

    @classmethod
    def from_env(cls) -> "ApiSettings":
        return cls(
            base_url=os.environ.get("GUICHET_API_URL", DEFAULT_API_URL),
            token=os.environ.get("GUICHET_ASSISTANT_TOKEN", ""),
        )


class DossierApiClient:
    """Calls the dossier API on behalf of the assistant.

    One instance keeps one connection pool: a new `httpx.AsyncClient` per call cost a TCP
    connection and an SSL context on every lookup (issue 11). The pool belongs to the event
    loop that opened it, so a client used from another loop (tests) opens its own.
    """

    def __init__(
        self,
        settings: ApiSettings,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout_seconds: float = 5.0,
    ) -> None:
        self._settings = settings
        self._transport = transport
        self._timeout = timeout_seconds
        self._http: httpx.AsyncClient | None = None
        self._http_loop: asyncio.AbstractEventLoop | None = None

    @classmethod
    def from_env(cls) -> "DossierApiClient":
        """The process's client for the API the environment names (what actions use when not
        under test): built once, so every action call reuses its connections."""
        global _shared
        settings = ApiSettings.from_env()
        if _shared is None or _shared._settings != settings:
            _shared = cls(settings)
        return _shared

    def _client(self) -> httpx.AsyncClient:
        loop = asyncio.get_running_loop()
        if self._http is None or self._http_loop is not loop or self._http.is_closed:
            self._http = httpx.AsyncClient(
                base_url=self._settings.base_url,
                transport=self._transport,
                timeout=self._timeout,
                headers={"Authorization": f"Bearer {self._settings.token}"},
            )
            self._http_loop = loop
        return self._http

    async def aclose(self) -> None:
        """Close the connection pool (the action server's shutdown)."""
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    async def lookup(
        self, numero: str, date_naissance: date, asker: Asker | None = None
    ) -> DossierStatus:
        """Return the dossier's status, or raise one of this module's errors.

        `asker` says who is asking, so that the API limits that person's attempts only.
        """
        response = await self._post(
            "/v1/dossiers/lookup",
            {"numero": numero, "date_naissance": date_naissance.isoformat()},
            headers=asker.headers() if asker else None,
        )
        if response.status_code == 404:
            raise DossierNotFound()
        if response.status_code == 429:
            raise TooManyAttempts(_retry_after(response))
        if response.status_code != 200:
            raise ApiUnavailable(f"unexpected status {response.status_code}")
        try:
            return DossierStatus.from_json(response.json())
        except (ValueError, KeyError, TypeError) as error:
            raise ApiUnavailable(f"unreadable body: {error}") from error

    async def save_checklist(
        self, demarche: str, reponses: list[dict[str, str]], resultat: dict[str, list[str]]
    ) -> str:
        """Store a check before sending; return the short code a person gives a mediator."""
        response = await self._post(
            "/v1/checklists", {"demarche": demarche, "reponses": reponses, "resultat": resultat}
        )
        if response.status_code != 201:
            raise ApiUnavailable(f"unexpected status {response.status_code}")
        try:
            return str(response.json()["code"])
        except (ValueError, KeyError, TypeError) as error:
            raise ApiUnavailable(f"unreadable body: {error}") from error

    async def _post(
        self, path: str, body: dict, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        try:
            return await self._client().post(path, json=body, headers=headers)
        except httpx.HTTPError as error:
            raise ApiUnavailable(str(error)) from error


_shared: DossierApiClient | None = None


async def close_shared() -> None:
    """Close the process's client, if one was made (the action server stops)."""
    if _shared is not None:
        await _shared.aclose()


def _retry_after(response: httpx.Response) -> int:
    try:
        return max(1, int(response.headers.get("Retry-After", DEFAULT_RETRY_AFTER_SECONDS)))
    except ValueError:
        return DEFAULT_RETRY_AFTER_SECONDS
