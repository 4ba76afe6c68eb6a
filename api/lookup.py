"""The dossier lookup: a status only for the right number and date of birth.

`look_up` says what happened, `Found`, `NotFound` or `Refused`; the router
(api/routers/dossiers.py) only turns that into HTTP. An unknown number and a wrong date take
the same path: one query, the keyed hash, a constant-time comparison, one counted failure, the
same `NotFound`. Both are limited the same way, per asker (api/ratelimit.py, docs/limits.md).
"""

import hmac
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import Connection, insert, select

from api.dossier_view import to_public
from api.logging import get_logger, mask_numero
from api.models import Dossier, LookupLock, MissingPiece, StatusChange
from api.ratelimit import Asker, AttemptLimiter, AttemptRefused, Reason
from api.reference import Reference
from api.schemas import DossierPublic
from api.security import hash_birth_date

log = get_logger()

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


@dataclass(frozen=True)
class Found:
    """The number and the date of birth match: what the owner is told."""

    dossier: DossierPublic


@dataclass(frozen=True)
class NotFound:
    """No dossier under this number, or not with this date of birth: nobody may tell which."""


@dataclass(frozen=True)
class Refused:
    """This asker may not try now (`reason`, see api/ratelimit.py); retry in `retry_after` s."""

    retry_after: int
    reason: Reason


LookupResult = Found | NotFound | Refused


def look_up(
    connection: Connection,
    limiter: AttemptLimiter,
    reference: Reference,
    dob_hash_key: str,
    asker: Asker,
    numero: str,
    date_naissance: date,
) -> LookupResult:
    """Verify `date_naissance` for the normalised `numero` on behalf of `asker`.

    `connection` reads the dossier (and records the start of an attack on the number); the
    limiter counts the attempt, whatever its outcome.
    """
    try:
        with limiter.attempt(asker, numero) as attempt:
            dossier = connection.execute(_DOSSIER.where(Dossier.numero == numero)).one_or_none()
            given = hash_birth_date(dob_hash_key, date_naissance)
            stored = dossier.date_naissance_hmac if dossier is not None else _ABSENT_HASH
            if hmac.compare_digest(given, stored) and dossier is not None:
                attempt.verified()
    except AttemptRefused as refused:
        log.info("lookup %s: refused (%s)", mask_numero(numero), refused.denial.reason)
        return Refused(retry_after=refused.denial.retry_after, reason=refused.denial.reason)
    if not attempt.right_date or dossier is None:
        if attempt.attack is not None:
            _record_attack(connection, numero, attempt.attack.failures, attempt.attack.strict_until)
            log.warning(
                "lookup %s: under attack after %d wrong dates from all askers; "
                "askers who failed on it are refused",
                mask_numero(numero),
                attempt.attack.failures,
            )
        else:
            log.info("lookup %s: not verified", mask_numero(numero))
        return NotFound()
    log.info("lookup %s: verified", mask_numero(numero))
    historique = connection.execute(
        select(StatusChange.statut, StatusChange.le)
        .where(StatusChange.numero == numero)
        .order_by(StatusChange.le)
    ).all()
    pieces = connection.scalars(
        select(MissingPiece.piece).where(MissingPiece.numero == numero).order_by(MissingPiece.id)
    ).all()
    return Found(to_public(dossier, historique, pieces, reference, datetime.now(UTC)))


def _record_attack(connection: Connection, numero: str, failures: int, until: float) -> None:
    """Keep the start of an attack for the back office (`lookup_locks`)."""
    connection.execute(
        insert(LookupLock).values(
            numero=numero,
            failures=failures,
            locked_at=datetime.now(UTC),
            locked_until=datetime.fromtimestamp(until, UTC),
        )
    )
    connection.commit()
