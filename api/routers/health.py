"""Liveness and readiness probes."""

from fastapi import APIRouter, HTTPException, status
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from api.deps import SessionDep

router = APIRouter(tags=["santé"])


@router.get("/health", description="Le processus répond.")
def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/ready", description="La base de données est joignable.")
def ready(session: SessionDep) -> dict[str, str]:
    try:
        session.execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, detail="Base de données injoignable."
        ) from error
    return {"status": "ok"}
