"""Status updates from the instruction system, applied once per event id."""

import hashlib
import json
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, status
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError

from api.deps import ReferenceDep, SessionDep
from api.errors import VALIDATION_RESPONSE, validation_response
from api.logging import get_logger, mask_numero
from api.models import Dossier, MissingPiece, ProcessedEvent, StatusChange
from api.reference import Reference
from api.schemas import DossierEventIn, DossierEventReceipt, FieldError, Problem
from api.security import Scope, require_scope
from guichet.identifiers import NUMERO_PATTERN

router = APIRouter(
    prefix="/v1/dossiers",
    tags=["instruction"],
    responses={401: {"model": Problem, "description": "Jeton absent ou invalide."}}
    | VALIDATION_RESPONSE,
)
log = get_logger()

REUSED_ID_DETAIL = "Cet identifiant d'événement a déjà servi pour un autre contenu."


def _utc(moment: datetime) -> datetime:
    """Naive datetimes (SQLite, or a sender without offset) are taken as UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _fingerprint(numero: str, event: DossierEventIn) -> str:
    content = {"numero": numero, **event.model_dump(mode="json", exclude={"event_id"})}
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def _unknown_ids(event: DossierEventIn, reference: Reference) -> list[FieldError]:
    errors = []
    if event.statut not in reference.statuts:
        errors.append(FieldError(champ="statut", message="statut inconnu"))
    errors += [
        FieldError(champ=f"pieces_manquantes.{index}", message="pièce inconnue")
        for index, piece in enumerate(event.pieces_manquantes)
        if piece not in reference.pieces
    ]
    return errors


def _replay(stored: ProcessedEvent, fingerprint: str) -> JSONResponse:
    if stored.payload_sha256 != fingerprint:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=REUSED_ID_DETAIL)
    return JSONResponse(stored.resultat, headers={"Idempotent-Replay": "true"})


def _apply(dossier: Dossier, event: DossierEventIn, moment: datetime) -> None:
    if event.statut != dossier.statut:
        dossier.historique.append(StatusChange(statut=event.statut, le=moment))
        dossier.statut = event.statut
        dossier.statut_depuis = moment
    dossier.pieces_manquantes = [MissingPiece(piece=piece) for piece in event.pieces_manquantes]
    dossier.motif = event.motif
    dossier.suivi_courrier = event.suivi_courrier


@router.post(
    "/{numero}/events",
    response_model=DossierEventReceipt,
    responses={
        404: {"model": Problem, "description": "Dossier inconnu."},
        409: {
            "model": Problem,
            "description": "Identifiant déjà utilisé pour un autre contenu, ou événement "
            "antérieur au statut actuel.",
        },
    },
    description=(
        "Enregistre un changement venu du système d'instruction : nouveau statut, liste "
        "complète des pièces encore demandées, motif, suivi postal. Un même `event_id` envoyé "
        "plusieurs fois n'est appliqué qu'une fois et reçoit la même réponse."
    ),
)
def post_event(
    event: DossierEventIn,
    numero: Annotated[
        str, Path(pattern=NUMERO_PATTERN, description="Numéro normalisé du dossier.")
    ],
    session: SessionDep,
    reference: ReferenceDep,
    _scope: Annotated[Scope, Depends(require_scope(Scope.instruction))],
) -> JSONResponse:
    errors = _unknown_ids(event, reference)
    if errors:
        return validation_response(errors)
    fingerprint = _fingerprint(numero, event)
    stored = session.get(ProcessedEvent, event.event_id)
    if stored is not None:
        return _replay(stored, fingerprint)
    dossier = session.get(Dossier, numero)
    if dossier is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="Dossier inconnu.")
    now = datetime.now(UTC)
    moment = _utc(event.le) if event.le else now
    if moment < _utc(dossier.statut_depuis):
        raise HTTPException(
            status.HTTP_409_CONFLICT, detail="Événement antérieur au statut actuel du dossier."
        )
    _apply(dossier, event, moment)
    receipt = DossierEventReceipt(
        event_id=event.event_id,
        numero=numero,
        statut=dossier.statut,
        depuis=_utc(dossier.statut_depuis),
        pieces_manquantes=event.pieces_manquantes,
        motif=dossier.motif,
        suivi_courrier=dossier.suivi_courrier,
        historique_etapes=len(dossier.historique),
    ).model_dump(mode="json")
    session.add(
        ProcessedEvent(
            event_id=event.event_id,
            numero=numero,
            payload_sha256=fingerprint,
            resultat=receipt,
            recu_le=now,
        )
    )
    try:
        session.commit()
    except IntegrityError:
        # The same event arrived twice at once: the other request applied it.
        session.rollback()
        stored = session.get(ProcessedEvent, event.event_id)
        if stored is None:
            raise
        return _replay(stored, fingerprint)
    log.info("event applied to %s: %s", mask_numero(numero), event.statut)
    return JSONResponse(receipt)
