"""Tables: dossiers and their history, checklists, attempt limits and processed events."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    """Declarative base of every table of the API."""


class Dossier(Base):
    """One ANTS request as the instruction system knows it."""

    __tablename__ = "dossiers"
    # The back office lists stuck dossiers by status and time in status.
    __table_args__ = (Index("ix_dossiers_statut_depuis", "statut", "statut_depuis"),)

    numero: Mapped[str] = mapped_column(String(32), primary_key=True)
    demarche: Mapped[str] = mapped_column(String(64))
    titulaire: Mapped[str] = mapped_column(String(200))
    # HMAC-SHA256 of the ISO date of birth with the server key: never the date itself.
    date_naissance_hmac: Mapped[str] = mapped_column(String(64))
    statut: Mapped[str] = mapped_column(String(32))
    statut_depuis: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    motif: Mapped[str | None] = mapped_column(Text, default=None)
    suivi_courrier: Mapped[str | None] = mapped_column(String(32), default=None)

    historique: Mapped[list["StatusChange"]] = relationship(
        back_populates="dossier", order_by="StatusChange.le", cascade="all, delete-orphan"
    )
    pieces_manquantes: Mapped[list["MissingPiece"]] = relationship(
        back_populates="dossier", order_by="MissingPiece.id", cascade="all, delete-orphan"
    )


class StatusChange(Base):
    """One step of a dossier's status history."""

    __tablename__ = "status_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    numero: Mapped[str] = mapped_column(
        ForeignKey("dossiers.numero", ondelete="CASCADE"), index=True
    )
    statut: Mapped[str] = mapped_column(String(32))
    le: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    dossier: Mapped[Dossier] = relationship(back_populates="historique")


class MissingPiece(Base):
    """A document the instruction service still asks for."""

    __tablename__ = "missing_pieces"

    id: Mapped[int] = mapped_column(primary_key=True)
    numero: Mapped[str] = mapped_column(
        ForeignKey("dossiers.numero", ondelete="CASCADE"), index=True
    )
    piece: Mapped[str] = mapped_column(String(64))

    dossier: Mapped[Dossier] = relationship(back_populates="pieces_manquantes")


class Checklist(Base):
    """A check before sending, saved by the assistant under a code a person can read out."""

    __tablename__ = "checklists"

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    demarche: Mapped[str] = mapped_column(String(64))
    reponses: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    resultat: Mapped[dict[str, Any]] = mapped_column(JSON)
    cree_le: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AttemptCounter(Base):
    """A fixed-window counter of the attempt limiter (database backend).

    Times are epoch seconds so that one atomic upsert compares them the same way on SQLite and
    PostgreSQL. `attempts` counts verifications under way or failed in the window, `failures`
    only the failed ones.
    """

    __tablename__ = "attempt_counters"

    subject: Mapped[str] = mapped_column(String(80), primary_key=True)
    attempts: Mapped[int] = mapped_column(Integer)
    failures: Mapped[int] = mapped_column(Integer)
    window_ends: Mapped[float] = mapped_column(Float)
    locked_until: Mapped[float | None] = mapped_column(Float, default=None)


class LookupLock(Base):
    """A number locked after too many failed verifications: kept as a record, whatever backend."""

    __tablename__ = "lookup_locks"

    id: Mapped[int] = mapped_column(primary_key=True)
    # No foreign key: unknown numbers are locked exactly like known ones.
    numero: Mapped[str] = mapped_column(String(32), index=True)
    failures: Mapped[int] = mapped_column(Integer)
    locked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    locked_until: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ProcessedEvent(Base):
    """An instruction-system event already applied: a replay returns the stored result."""

    __tablename__ = "processed_events"

    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    numero: Mapped[str] = mapped_column(
        ForeignKey("dossiers.numero", ondelete="CASCADE"), index=True
    )
    # SHA-256 of the event's canonical JSON: the same id with another content is a conflict.
    payload_sha256: Mapped[str] = mapped_column(String(64))
    resultat: Mapped[dict[str, Any]] = mapped_column(JSON)
    recu_le: Mapped[datetime] = mapped_column(DateTime(timezone=True))
