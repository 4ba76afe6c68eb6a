"""Dossier lookups for the assistant: a status only for the right number and date of birth."""

import hmac
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from api.config import Settings, get_settings
from api.db import get_session
from api.dossier_view import to_public
from api.models import Dossier
from api.reference import Reference, get_reference
from api.schemas import DossierPublic, LookupRequest, Problem
from api.security import Scope, hash_birth_date, require_scope

router = APIRouter(prefix="/v1/dossiers", tags=["dossiers"])

NOT_FOUND_DETAIL = "Aucun dossier ne correspond à ce numéro et à cette date de naissance."
# Compared against when the number is unknown, so both paths do the same work.
_ABSENT_HASH = "0" * 64


@router.post(
    "/lookup",
    response_model=DossierPublic,
    responses={404: {"model": Problem}, 401: {"model": Problem}},
    description=(
        "Donne l'état d'un dossier à son titulaire. Le numéro et la date de naissance doivent "
        "correspondre ; sinon la réponse est la même que pour un numéro inconnu."
    ),
)
def lookup(
    request: LookupRequest,
    session: Annotated[Session, Depends(get_session)],
    settings: Annotated[Settings, Depends(get_settings)],
    reference: Annotated[Reference, Depends(get_reference)],
    _scope: Annotated[Scope, Depends(require_scope(Scope.assistant))],
) -> DossierPublic | JSONResponse:
    dossier = session.scalars(
        select(Dossier)
        .where(Dossier.numero == request.numero)
        .options(selectinload(Dossier.historique), selectinload(Dossier.pieces_manquantes))
    ).one_or_none()
    given = hash_birth_date(settings.dob_hash_key, request.date_naissance)
    stored = dossier.date_naissance_hmac if dossier else _ABSENT_HASH
    if dossier is None or not hmac.compare_digest(given, stored):
        return JSONResponse(status_code=404, content={"detail": NOT_FOUND_DETAIL})
    return to_public(dossier, reference, datetime.now(UTC))
