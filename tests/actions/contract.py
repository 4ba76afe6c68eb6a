"""The dossier API's contract as committed (api/openapi.json, `make openapi`), for the action
tests: the fake API they talk to may only say what the real one can.

`api_transport(handler)` wraps a test's fake API: every request the client sends must be one
the schema documents, with a body it accepts, and every 2xx answer the fake gives must match the
schema of that status. A field renamed in the API (api/schemas.py) then fails these tests in
seconds, once `make openapi` has rewritten the schema (and `make lint` fails until it has).
"""

import json
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

import httpx
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "api" / "openapi.json"

Handler = Callable[[httpx.Request], httpx.Response]


@lru_cache
def openapi() -> dict[str, Any]:
    """The committed OpenAPI document."""
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def component(name: str) -> dict[str, Any]:
    """One schema of `components.schemas`, e.g. "DossierPublic"."""
    return openapi()["components"]["schemas"][name]


def _json_schema(content: dict[str, Any]) -> dict[str, Any]:
    return content["content"]["application/json"]["schema"]


def operation(method: str, path: str) -> dict[str, Any]:
    """The documented operation, or an AssertionError naming what is not documented."""
    found = openapi()["paths"].get(path, {}).get(method.lower())
    assert found is not None, f"{method.upper()} {path} is not in api/openapi.json"
    return found


def request_schema(method: str, path: str) -> dict[str, Any]:
    return _json_schema(operation(method, path)["requestBody"])


def response_schema(method: str, path: str, status: int) -> dict[str, Any]:
    responses = operation(method, path)["responses"]
    assert str(status) in responses, f"{method.upper()} {path} never answers {status}"
    return _json_schema(responses[str(status)])


def assert_valid(instance: Any, schema: dict[str, Any], what: str) -> None:
    """`instance` matches `schema` (whose $refs point into the committed document)."""
    root = {**schema, "components": openapi()["components"]}
    error = best_match(Draft202012Validator(root).iter_errors(instance))
    if error is not None:
        where = "/".join(str(part) for part in error.absolute_path) or "(the body)"
        raise AssertionError(f"{what} does not match api/openapi.json at {where}: {error.message}")


def assert_dossier_public(body: dict[str, Any]) -> None:
    """`body` is a lookup answer the API can give (its `DossierPublic`)."""
    assert_valid(body, {"$ref": "#/components/schemas/DossierPublic"}, "the lookup answer")


def api_transport(handler: Handler, *, check_answers: bool = True) -> httpx.MockTransport:
    """A fake dossier API held to the committed contract.

    `check_answers=False` is for the tests that send the client a broken answer on purpose.
    """

    def checked(request: httpx.Request) -> httpx.Response:
        method, path = request.method, request.url.path
        operation(method, path)
        if request.content:
            body = json.loads(request.content)
            assert_valid(body, request_schema(method, path), f"the body sent to {method} {path}")
        response = handler(request)
        if check_answers and 200 <= response.status_code < 300 and response.content:
            assert_valid(
                response.json(),
                response_schema(method, path, response.status_code),
                f"the fake {response.status_code} of {method} {path}",
            )
        return response

    return httpx.MockTransport(checked)


def saved_checklist(request: httpx.Request, code: str) -> httpx.Response:
    """The API's 201 to a checklist the client saves: what it sent, under `code`."""
    sent = json.loads(request.content)
    return httpx.Response(
        201,
        json={
            "code": code,
            "demarche": sent["demarche"],
            "demarche_libelle": sent["demarche"].replace("_", " "),
            "reponses": sent["reponses"],
            "resultat": sent["resultat"],
            "cree_le": "2026-12-02T10:00:00Z",
        },
    )
