"""Dossier lookups for the assistant: the HTTP side of api/lookup.py.

The answer is the dossier (200), the same 404 for an unknown number and a wrong date, or a 429
with `Retry-After` when this asker may not try now (docs/limits.md).
"""

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse

from api.deps import ContextDep
from api.errors import VALIDATION_RESPONSE
from api.lookup import Found, NotFound, Refused, look_up
from api.ratelimit import Asker
from api.schemas import DossierPublic, LookupRequest, Problem
from api.security import Scope, require_scope

router = APIRouter(prefix="/v1/dossiers", tags=["dossiers"], responses=VALIDATION_RESPONSE)

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
    asker = asker_of(request, x_guichet_asker, x_guichet_conversation)
    with context.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        result = look_up(
            connection,
            context.limiter,
            context.reference,
            context.settings.dob_hash_key,
            asker,
            body.numero,
            body.date_naissance,
        )
    match result:
        case Found(dossier):
            return dossier
        case NotFound():
            return JSONResponse(status_code=404, content={"detail": NOT_FOUND_DETAIL})
        case Refused(retry_after, reason):
            return JSONResponse(
                status_code=429,
                content={"detail": DETAILS[reason]},
                headers={"Retry-After": str(retry_after)},
            )
