"""Validation errors in plain French, without echoing what was sent (it may be a birth date)."""

from fastapi import Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from api.schemas import FieldError, Problem, ValidationProblem

# Documents the 422 body of every endpoint that takes input (instead of FastAPI's default).
VALIDATION_RESPONSE: dict[int | str, dict] = {
    400: {"model": Problem, "description": "Corps de requête illisible."},
    422: {"model": ValidationProblem, "description": "Requête invalide : détail en français."},
}
UNREADABLE_BODY_DETAIL = "Corps de requête illisible : JSON en UTF-8 attendu."

_MESSAGES = {
    "missing": "champ obligatoire",
    "extra_forbidden": "champ non prévu",
    "string_type": "texte attendu",
    "string_too_short": "texte trop court",
    "string_too_long": "texte trop long",
    "string_pattern_mismatch": "format non reconnu",
    "date_type": "date attendue (AAAA-MM-JJ)",
    "date_parsing": "date invalide : format attendu AAAA-MM-JJ",
    "date_from_datetime_parsing": "date invalide : format attendu AAAA-MM-JJ",
    "date_from_datetime_inexact": "date attendue, sans heure (AAAA-MM-JJ)",
    "datetime_type": "date et heure attendues (ISO 8601)",
    "datetime_parsing": "date et heure invalides : format ISO 8601 attendu",
    "datetime_from_date_parsing": "date et heure invalides : format ISO 8601 attendu",
    "bool_type": "vrai ou faux attendu",
    "bool_parsing": "vrai ou faux attendu (true / false)",
    "int_type": "nombre entier attendu",
    "int_parsing": "nombre entier attendu",
    "greater_than_equal": "valeur trop petite",
    "less_than_equal": "valeur trop grande",
    "list_type": "liste attendue",
    "too_short": "liste trop courte",
    "too_long": "liste trop longue",
    "model_type": "objet JSON attendu",
    "model_attributes_type": "objet JSON attendu",
    "dict_type": "objet JSON attendu",
    "json_invalid": "corps JSON illisible",
    "literal_error": "valeur non autorisée",
    "enum": "valeur non autorisée",
}


def _field(location: tuple) -> str:
    parts = [str(part) for part in location[1:]] or [str(location[0]) if location else "requête"]
    return ".".join(parts) if parts != ["body"] else "corps"


def _message(error: dict) -> str:
    if error["type"] == "value_error":
        # Our own validators already speak French; pydantic prefixes "Value error, ".
        return str(error["msg"]).removeprefix("Value error, ")
    message = _MESSAGES.get(error["type"], "valeur invalide")
    expected = (error.get("ctx") or {}).get("expected")
    if error["type"] in ("literal_error", "enum") and expected:
        message += f" (attendu : {expected})"
    return message


def field_errors(errors: list[dict]) -> list[FieldError]:
    """Turn pydantic's errors into field / French message pairs, without the input."""
    return [
        FieldError(champ=_field(tuple(error["loc"])), message=_message(error)) for error in errors
    ]


def validation_response(errors: list[FieldError]) -> JSONResponse:
    """The 422 body every endpoint uses."""
    summary = "; ".join(f"{error.champ} : {error.message}" for error in errors[:3])
    problem = ValidationProblem(detail=f"Requête invalide — {summary}.", erreurs=errors)
    return JSONResponse(status_code=422, content=problem.model_dump())


async def request_validation_handler(_request: Request, exc: Exception) -> JSONResponse:
    """Answer 422 in French, listing each faulty field."""
    assert isinstance(exc, RequestValidationError)
    return validation_response(field_errors(list(exc.errors())))


async def http_error_handler(request: Request, exc: Exception) -> Response:
    """Keep FastAPI's HTTP errors, but say in French when a body cannot even be parsed."""
    assert isinstance(exc, HTTPException)
    if exc.status_code == 400:
        return JSONResponse(status_code=400, content={"detail": UNREADABLE_BODY_DETAIL})
    return await http_exception_handler(request, exc)
