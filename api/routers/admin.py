"""The back office: which dossiers are stuck, longest in their status first; erasing a
conversation on request."""

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Response, status
from sqlalchemy import func, not_, select

from api.deps import ReferenceDep, SessionDep, SettingsDep
from api.dossier_view import stuck_condition, to_admin
from api.errors import VALIDATION_RESPONSE
from api.logging import get_logger
from api.models import Dossier
from api.retention import forget_conversation
from api.schemas import DossierAdminList, Problem
from api.security import Scope, require_scope

router = APIRouter(
    prefix="/v1/admin",
    tags=["back office"],
    responses={401: {"model": Problem, "description": "Jeton absent ou invalide."}}
    | VALIDATION_RESPONSE,
)
log = get_logger()


@router.get(
    "/dossiers",
    response_model=DossierAdminList,
    description=(
        "Liste les dossiers pour le back office, du plus ancien dans son statut au plus récent. "
        "`bloque=true` ne garde que ceux qui dépassent le délai normal de leur statut. Ni date "
        "de naissance ni historique."
    ),
)
def list_dossiers(
    session: SessionDep,
    reference: ReferenceDep,
    _scope: Annotated[Scope, Depends(require_scope(Scope.admin))],
    bloque: Annotated[
        bool | None, Query(description="Vrai : bloqués seulement ; faux : les autres.")
    ] = None,
    limite: Annotated[int, Query(ge=1, le=500, description="Nombre maximal de dossiers.")] = 100,
) -> DossierAdminList:
    now = datetime.now(UTC)
    query = select(Dossier)
    if bloque is not None:
        stuck = stuck_condition(reference, now)
        query = query.where(stuck if bloque else not_(stuck))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    dossiers = session.scalars(
        query.order_by(Dossier.statut_depuis, Dossier.numero).limit(limite)
    ).all()
    return DossierAdminList(
        total=total, dossiers=[to_admin(dossier, reference, now) for dossier in dossiers]
    )


@router.delete(
    "/conversations/{conversation_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses={404: {"model": Problem, "description": "Aucune conversation sous cet identifiant."}},
    description=(
        "Efface une conversation de l'assistant, tous ses messages compris, à la demande de la "
        "personne (droit à l'effacement). Sans effet sur les dossiers ni sur les "
        "vérifications enregistrées."
    ),
)
def delete_conversation(
    conversation_id: Annotated[
        str,
        Path(
            min_length=1,
            max_length=255,
            description="Identifiant de la conversation (celui que Rasa connaît).",
        ),
    ],
    settings: SettingsDep,
    _scope: Annotated[Scope, Depends(require_scope(Scope.admin))],
) -> Response:
    deleted = forget_conversation(settings, conversation_id)
    if not deleted:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, detail="Aucune conversation sous cet identifiant."
        )
    log.info("admin: one conversation erased on request (%d events)", deleted)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
