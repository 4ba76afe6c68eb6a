"""The back office's view: which dossiers are stuck, longest in their status first."""

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlalchemy import func, not_, select

from api.deps import ReferenceDep, SessionDep
from api.dossier_view import stuck_condition, to_admin
from api.errors import VALIDATION_RESPONSE
from api.models import Dossier
from api.schemas import DossierAdminList, Problem
from api.security import Scope, require_scope

router = APIRouter(
    prefix="/v1/admin",
    tags=["back office"],
    responses={401: {"model": Problem, "description": "Jeton absent ou invalide."}}
    | VALIDATION_RESPONSE,
)


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
