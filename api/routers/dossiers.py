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
from sqlalchemy import Connection, insert, select

from api.config import Settings
from api.db import get_engine
from api.deps import LimiterDep, ReferenceDep, SettingsDep
from api.dossier_view import to_public
from api.errors import VALIDATION_RESPONSE
from api.logging import get_logger, mask_numero
from api.models import Dossier, LookupLock, MissingPiece, StatusChange
from api.ratelimit import AttemptLimiter, Denial
from api.reference import Reference
from api.schemas import DossierPublic, LookupRequest, Problem
from api.security import Scope, hash_birth_date, require_scope

router = APIRouter(prefix="/v1/dossiers", tags=["dossiers"], responses=VALIDATION_RESPONSE)
log = get_logger()

NOT_FOUND_DETAIL = "Aucun dossier ne correspond à ce numéro et à cette date de naissance."
LOCKED_DETAIL = "Trop d'essais pour ce numéro. Réessayez plus tard."
CLIENT_DETAIL = "Trop de demandes en peu de temps. Réessayez dans une minute."
# Plain rows, not ORM objects: the lookup is the hot path. Children are read only once verified.
_DOSSIER = select(
    Dossier.numero,
    Dossier.demarche,
    Dossier.statut,
    Dossier.statut_depuis,
    Dossier.motif,
    Dossier.suivi_courrier,
    Dossier.date_naissance_hmac,
)
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


def _record_lock(connection: Connection, numero: str, failures: int, locked_until: float) -> None:
    connection.execute(
        insert(LookupLock).values(
            numero=numero,
            failures=failures,
            locked_at=datetime.now(UTC),
            locked_until=datetime.fromtimestamp(locked_until, UTC),
        )
    )
    connection.commit()


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
    settings: SettingsDep,
    reference: ReferenceDep,
    limiter: LimiterDep,
    _scope: Annotated[Scope, Depends(require_scope(Scope.assistant))],
) -> DossierPublic | JSONResponse:
    # The hot path: Core rows on a plain connection opened here, in the request's thread,
    # rather than an ORM session dependency (two more thread hops per request). Reads need no
    # transaction (BEGIN and ROLLBACK were two round trips); a status change landing between
    # the dossier read and the history read could at worst show the new step a request early.
    with get_engine().connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        return _lookup(body, request, connection, settings, reference, limiter)


def _lookup(
    body: LookupRequest,
    request: Request,
    connection: Connection,
    settings: Settings,
    reference: Reference,
    limiter: AttemptLimiter,
) -> DossierPublic | JSONResponse:
    numero = body.numero
    denial = limiter.begin(client_key(request, settings), numero)
    if denial is not None:
        log.info("lookup %s: refused (%s limit)", mask_numero(numero), denial.reason)
        return _too_many(denial)
    verified = False
    try:
        dossier = connection.execute(_DOSSIER.where(Dossier.numero == numero)).one_or_none()
        given = hash_birth_date(settings.dob_hash_key, body.date_naissance)
        stored = dossier.date_naissance_hmac if dossier is not None else _ABSENT_HASH
        verified = hmac.compare_digest(given, stored) and dossier is not None
    except BaseException:
        limiter.finish(numero, verified=True)  # an error is not a wrong date: give the slot back
        raise
    lock = limiter.finish(numero, verified=verified)
    if not verified or dossier is None:
        if lock is not None:
            _record_lock(connection, numero, lock.failures, lock.locked_until)
            log.warning("lookup %s: locked after %d failures", mask_numero(numero), lock.failures)
        else:
            log.info("lookup %s: not verified", mask_numero(numero))
        return JSONResponse(status_code=404, content={"detail": NOT_FOUND_DETAIL})
    log.info("lookup %s: verified", mask_numero(numero))
    historique = connection.execute(
        select(StatusChange.statut, StatusChange.le)
        .where(StatusChange.numero == numero)
        .order_by(StatusChange.le)
    ).all()
    pieces = connection.scalars(
        select(MissingPiece.piece).where(MissingPiece.numero == numero).order_by(MissingPiece.id)
    ).all()
    return to_public(dossier, historique, pieces, reference, datetime.now(UTC))
