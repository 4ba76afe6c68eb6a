"""Property-based fuzzing of the OpenAPI schema with schemathesis, in process.

Every operation gets generated requests, valid and invalid, with the token of its scope: no
answer may be a 5xx, and every answer must match its documented status, media type, headers
and body schema. Bounded (examples per operation and mode) to stay well under a minute.
"""

import httpx
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.config import Settings
from api.main import create_app
from tests.api.conftest import bearer

EXAMPLES_PER_OPERATION_AND_MODE = 30
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def token_for(path: str) -> dict[str, str]:
    if path.startswith("/v1/admin"):
        return bearer("GUICHET_ADMIN_TOKEN")
    if path.endswith("/events"):
        return bearer("GUICHET_INSTRUCTION_TOKEN")
    return bearer()


def takes_input(operation) -> bool:  # type: ignore[no-untyped-def]
    return any(len(part) for part in (operation.body, operation.path_parameters, operation.query))


def fuzz(operation, mode: GenerationMode) -> None:  # type: ignore[no-untyped-def]
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES_PER_OPERATION_AND_MODE,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case) -> None:  # type: ignore[no-untyped-def]
        headers = token_for(case.path)
        response = case.call(headers=headers)
        case.validate_response(response, checks=CHECKS, headers=headers)

    check()


def fake_rasa(request: httpx.Request) -> httpx.Response:
    """The chat door's Rasa: answers every message (the real one is tested end to end)."""
    return httpx.Response(200, json=[{"recipient_id": "x", "text": "D'accord."}])


def test_no_server_error_and_answers_match_the_schema(seeded: None) -> None:
    app = create_app(Settings(), rasa_transport=httpx.MockTransport(fake_rasa))
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 12
    for operation in operations:
        fuzz(operation, GenerationMode.POSITIVE)
        if takes_input(operation):  # nothing can be invalid in a request without input
            fuzz(operation, GenerationMode.NEGATIVE)
