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
    """One counter of the attempt limiter (database backend); see api/ratelimit.py.

    `subject` is a keyed hash of what is counted (an asker, a number, or both), never the
    number or the address itself. Times are epoch seconds, so that every backend compares them
    alike. A row whose `expires_at` is past holds nothing any more: `purge_expired` deletes it.
    """

    __tablename__ = "attempt_counters"

    subject: Mapped[str] = mapped_column(String(64), primary_key=True)
    # Wrong dates counted until `window_ends`.
    failures: Mapped[int] = mapped_column(Integer)
    window_ends: Mapped[float] = mapped_column(Float)
    # Verifications under way (each holds a slot), until `pending_until` at the latest.
    pending: Mapped[int] = mapped_column(Integer)
    pending_until: Mapped[float] = mapped_column(Float)
    # A delay (asker and number) or an attack (number) lasts until then.
    blocked_until: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[float] = mapped_column(Float, index=True)


class LookupLock(Base):
    """A number found under attack (too many wrong dates from every asker), for the back office.

    Kept whatever the counters' backend. `locked_until` is when its strict mode would end
    without further wrong dates; each one pushes the end back.
    """

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
