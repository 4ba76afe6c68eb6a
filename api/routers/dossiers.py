"""Dossier lookups for the assistant: a status only for the right number and date of birth.

An unknown number and a wrong date take the same path: one query, the keyed hash, a
constant-time comparison, one counted failure, the same 404. Both are limited the same way,
per asker (see api/ratelimit.py and docs/limits.md).
"""

import hmac
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Connection, insert, select

from api.config import Settings
from api.deps import ContextDep
from api.dossier_view import to_public
from api.errors import VALIDATION_RESPONSE
from api.logging import get_logger, mask_numero
from api.models import Dossier, LookupLock, MissingPiece, StatusChange
from api.ratelimit import Asker, AttemptLimiter, Denial
from api.reference import Reference
from api.schemas import DossierPublic, LookupRequest, Problem
from api.security import Scope, hash_birth_date, require_scope

router = APIRouter(prefix="/v1/dossiers", tags=["dossiers"], responses=VALIDATION_RESPONSE)
log = get_logger()

NOT_FOUND_DETAIL = "Aucun dossier ne correspond à ce numéro et à cette date de naissance."
LOCKED_DETAIL = "Trop d'essais pour ce numéro. Réessayez plus tard."
ASKER_DETAIL = "Trop d'essais de dates de naissance. Réessayez plus tard."
CLIENT_DETAIL = "Trop de demandes en peu de temps. Réessayez dans une minute."
DETAILS = {
    "asker_rate": CLIENT_DETAIL,
    "conversation_rate": CLIENT_DETAIL,
    "asker_failures": ASKER_DETAIL,
    "delay": LOCKED_DETAIL,
    "attack": LOCKED_DETAIL,
    "busy": LOCKED_DETAIL,
}
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


def asker_of(request: Request, asker: str | None, conversation: str | None) -> Asker:
    """Who asks: the asker and conversation the assistant passes on, else the caller's address.

    The headers are trusted because only the assistant's token reaches this route; the limiter
    hashes every value before counting it.
    """
    if asker:
        address = f"asker:{asker}"
    else:
        address = f"client:{request.client.host if request.client else 'inconnu'}"
    return Asker(address=address, conversation=conversation or None)


def _too_many(denial: Denial) -> JSONResponse:
    return JSONResponse(
        status_code=429,
        content={"detail": DETAILS[denial.reason]},
        headers={"Retry-After": str(denial.retry_after)},
    )


def _record_attack(connection: Connection, numero: str, failures: int, until: float) -> None:
    connection.execute(
        insert(LookupLock).values(
            numero=numero,
            failures=failures,
            locked_at=datetime.now(UTC),
            locked_until=datetime.fromtimestamp(until, UTC),
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
                "Trop d'essais de la part de cette personne : trop de demandes par minute, un "
                "délai après plusieurs dates fausses pour ce numéro, trop de dates fausses en "
                "24 heures, ou ce numéro est attaqué et cette personne s'y est déjà trompée. "
                "L'en-tête `Retry-After` donne le délai en secondes."
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
        "correspondre ; sinon la réponse est la même que pour un numéro inconnu. Les essais "
        "sont limités pour chaque personne qui demande (en-têtes `X-Guichet-Asker` et "
        "`X-Guichet-Conversation`, sinon l'adresse de l'appelant), jamais pour tout le monde "
        "à la fois : les dates fausses d'autres personnes n'empêchent pas le titulaire "
        "d'obtenir son état avec la bonne date."
    ),
)
def lookup(
    body: LookupRequest,
    request: Request,
    context: ContextDep,
    _scope: Annotated[Scope, Depends(require_scope(Scope.assistant))],
    x_guichet_asker: Annotated[
        str | None,
        Header(
            max_length=256,
            description=(
                "Qui demande : empreinte opaque de l'adresse de la personne, calculée par la "
                "porte de discussion. Par défaut, l'adresse de l'appelant."
            ),
        ),
    ] = None,
    x_guichet_conversation: Annotated[
        str | None,
        Header(max_length=256, description="Identifiant de la conversation de l'assistant."),
    ] = None,
) -> DossierPublic | JSONResponse:
    # The hot path: Core rows on a plain connection opened here, in the request's thread,
    # rather than an ORM session dependency (two more thread hops per request). Reads need no
    # transaction (BEGIN and ROLLBACK were two round trips); a status change landing between
    # the dossier read and the history read could at worst show the new step a request early.
    engine = context.engine
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        asker = asker_of(request, x_guichet_asker, x_guichet_conversation)
        return _lookup(
            body, asker, connection, context.settings, context.reference, context.limiter
        )


def _lookup(
    body: LookupRequest,
    asker: Asker,
    connection: Connection,
    settings: Settings,
    reference: Reference,
    limiter: AttemptLimiter,
) -> DossierPublic | JSONResponse:
    numero = body.numero
    ticket = limiter.begin(asker, numero)
    if isinstance(ticket, Denial):
        log.info("lookup %s: refused (%s)", mask_numero(numero), ticket.reason)
        return _too_many(ticket)
    verified = False
    try:
        dossier = connection.execute(_DOSSIER.where(Dossier.numero == numero)).one_or_none()
        given = hash_birth_date(settings.dob_hash_key, body.date_naissance)
        stored = dossier.date_naissance_hmac if dossier is not None else _ABSENT_HASH
        verified = hmac.compare_digest(given, stored) and dossier is not None
    except BaseException:
        limiter.release(ticket)  # an error is not a wrong date: give the slots back
        raise
    attack = limiter.finish(ticket, verified=verified)
    if not verified or dossier is None:
        if attack is not None:
            _record_attack(connection, numero, attack.failures, attack.strict_until)
            log.warning(
                "lookup %s: under attack after %d wrong dates from all askers; "
                "askers who failed on it are refused",
                mask_numero(numero),
                attack.failures,
            )
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
