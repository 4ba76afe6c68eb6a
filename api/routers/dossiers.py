"""Dossier lookups for the assistant: a status only for the right number and date of birth.

An unknown number and a wrong date take the same path: one query, the keyed hash, a
constant-time comparison, one counted failure, the same 404. Both are limited the same way.
"""

import hashlib
import hmac
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.config import Settings, get_settings
from api.db import get_session
from api.dossier_view import to_public
from api.errors import VALIDATION_RESPONSE
from api.logging import get_logger, mask_numero
from api.models import Dossier, LookupLock
from api.ratelimit import AttemptLimiter, Denial, get_limiter
from api.reference import Reference, get_reference
from api.schemas import DossierPublic, LookupRequest, Problem
from api.security import Scope, hash_birth_date, require_scope

router = APIRouter(prefix="/v1/dossiers", tags=["dossiers"], responses=VALIDATION_RESPONSE)
log = get_logger()

NOT_FOUND_DETAIL = "Aucun dossier ne correspond à ce numéro et à cette date de naissance."
LOCKED_DETAIL = "Trop d'essais pour ce numéro. Réessayez plus tard."
CLIENT_DETAIL = "Trop de demandes en peu de temps. Réessayez dans une minute."
# Compared against when the number is unknown, so both paths do the same work.
_ABSENT_HASH = "0" * 64


def client_key(request: Request, settings: Settings) -> str:
    """Who is asking, as a keyed hash of the address: counted, never stored in clear."""
    address = request.client.host if request.client else "inconnu"
    return hmac.new(settings.dob_hash_key.encode(), address.encode(), hashlib.sha256).hexdigest()[
        :24
    ]


def _too_many(denial: Denial) -> JSONResponse:
    detail = LOCKED_DETAIL if denial.reason == "numero" else CLIENT_DETAIL
    return JSONResponse(
        status_code=429,
        content={"detail": detail},
        headers={"Retry-After": str(denial.retry_after)},
    )


def _record_lock(session: Session, numero: str, failures: int, locked_until: float) -> None:
    session.add(
        LookupLock(
            numero=numero,
            failures=failures,
            locked_at=datetime.now(UTC),
            locked_until=datetime.fromtimestamp(locked_until, UTC),
        )
    )
    session.commit()


@router.post(
    "/lookup",
    response_model=DossierPublic,
    responses={
        401: {"model": Problem, "description": "Jeton absent ou invalide."},
        404: {"model": Problem, "description": "Numéro inconnu ou date de naissance fausse."},
        429: {
            "model": Problem,
            "description": (
                "Trop d'essais : ce numéro est verrouillé après trop de dates fausses, ou cet "
                "appelant a dépassé sa limite par minute. L'en-tête `Retry-After` donne le délai "
                "en secondes."
            ),
            "headers": {
                "Retry-After": {
                    "description": "Secondes à attendre avant de réessayer.",
                    "schema": {"type": "integer"},
                }
            },
        },
    },
    description=(
        "Donne l'état d'un dossier à son titulaire. Le numéro et la date de naissance doivent "
        "correspondre ; sinon la réponse est la même que pour un numéro inconnu. Après "
        "plusieurs dates fausses pour un même numéro, ce numéro est verrouillé pour un temps "
        "(réponse 429), même avec la bonne date."
    ),
)
def lookup(
    body: LookupRequest,
    request: Request,
    session: Annotated[Session, Depends(get_session)],
    settings: Annotated[Settings, Depends(get_settings)],
    reference: Annotated[Reference, Depends(get_reference)],
    limiter: Annotated[AttemptLimiter, Depends(get_limiter)],
    _scope: Annotated[Scope, Depends(require_scope(Scope.assistant))],
) -> DossierPublic | JSONResponse:
    numero = body.numero
    denial = limiter.begin(client_key(request, settings), numero)
    if denial is not None:
        log.info("lookup %s: refused (%s limit)", mask_numero(numero), denial.reason)
        return _too_many(denial)
    verified = False
    try:
        dossier = session.scalars(select(Dossier).where(Dossier.numero == numero)).one_or_none()
        given = hash_birth_date(settings.dob_hash_key, body.date_naissance)
        stored = dossier.date_naissance_hmac if dossier is not None else _ABSENT_HASH
        verified = hmac.compare_digest(given, stored) and dossier is not None
    except BaseException:
        limiter.finish(numero, verified=True)  # an error is not a wrong date: give the slot back
        raise
    lock = limiter.finish(numero, verified=verified)
    if not verified or dossier is None:
        if lock is not None:
            _record_lock(session, numero, lock.failures, lock.locked_until)
            log.warning("lookup %s: locked after %d failures", mask_numero(numero), lock.failures)
        else:
            log.info("lookup %s: not verified", mask_numero(numero))
        return JSONResponse(status_code=404, content={"detail": NOT_FOUND_DETAIL})
    log.info("lookup %s: verified", mask_numero(numero))
    return to_public(dossier, reference, datetime.now(UTC))
