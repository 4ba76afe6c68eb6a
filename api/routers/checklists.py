"""Checks before sending, saved by the assistant, found again by a short code."""

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, status
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError

from api.codes import new_code, normalise_code
from api.deps import ReferenceDep, SessionDep
from api.errors import VALIDATION_RESPONSE, validation_response
from api.models import Checklist
from api.reference import Reference
from api.schemas import ChecklistIn, ChecklistOut, FieldError, Problem
from api.security import Scope, require_scope

router = APIRouter(
    prefix="/v1/checklists",
    tags=["vérification avant envoi"],
    responses={401: {"model": Problem, "description": "Jeton absent ou invalide."}}
    | VALIDATION_RESPONSE,
)
_CODE_ATTEMPTS = 5


def _out(checklist: Checklist, reference: Reference) -> ChecklistOut:
    return ChecklistOut.model_validate(
        {
            "code": checklist.code,
            "demarche": checklist.demarche,
            "demarche_libelle": reference.demarches.get(checklist.demarche, checklist.demarche),
            "reponses": checklist.reponses,
            "resultat": checklist.resultat,
            "cree_le": checklist.cree_le,
        }
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ChecklistOut,
    description=(
        "Enregistre une vérification avant envoi (démarche, réponses, résultat calculé par "
        "l'assistant) et donne un code court, sans caractère ambigu, à lire à un médiateur."
    ),
)
def create_checklist(
    checklist: ChecklistIn,
    session: SessionDep,
    reference: ReferenceDep,
    _scope: Annotated[Scope, Depends(require_scope(Scope.assistant))],
) -> ChecklistOut | JSONResponse:
    if checklist.demarche not in reference.demarches:
        return validation_response([FieldError(champ="demarche", message="démarche inconnue")])
    content = checklist.model_dump(mode="json")
    for _ in range(_CODE_ATTEMPTS):
        row = Checklist(
            code=new_code(),
            demarche=checklist.demarche,
            reponses=content["reponses"],
            resultat=content["resultat"],
            cree_le=datetime.now(UTC),
        )
        session.add(row)
        try:
            session.commit()
        except IntegrityError:  # the drawn code exists already: draw another
            session.rollback()
            continue
        return _out(row, reference)
    raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail="Aucun code libre trouvé.")


@router.get(
    "/{code}",
    response_model=ChecklistOut,
    responses={404: {"model": Problem, "description": "Aucune vérification sous ce code."}},
    description="Retrouve une vérification avant envoi par son code (casse et tirets ignorés).",
)
def get_checklist(
    code: Annotated[str, Path(max_length=32, description="Code donné à l'enregistrement.")],
    session: SessionDep,
    reference: ReferenceDep,
    _scope: Annotated[Scope, Depends(require_scope(Scope.assistant, Scope.admin))],
) -> ChecklistOut:
    checklist = session.get(Checklist, normalise_code(code))
    if checklist is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="Aucune vérification sous ce code.")
    return _out(checklist, reference)
