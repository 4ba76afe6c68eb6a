"""Read request numbers and dates of birth the way people type or say them.

Dates are parsed by a few strict patterns rather than a general date library: a date of
birth must never be guessed from "demain" or "lundi", and an unclear answer is asked again.
"""

import re
import unicodedata
from datetime import date

from text_to_num import alpha2digit

_NUMERO_SEPARATORS = re.compile(r"[\s.\-_/]+")
_NUMERO = re.compile(r"^[A-Z0-9]{6,32}$")

_MONTHS = {
    "janvier": 1,
    "janv": 1,
    "fevrier": 2,
    "fev": 2,
    "mars": 3,
    "avril": 4,
    "avr": 4,
    "mai": 5,
    "juin": 6,
    "juillet": 7,
    "juil": 7,
    "aout": 8,
    "septembre": 9,
    "sept": 9,
    "octobre": 10,
    "oct": 10,
    "novembre": 11,
    "nov": 11,
    "decembre": 12,
    "dec": 12,
}
_NUMERIC_DATE = re.compile(r"\b(\d{1,2})\s*[/.\- ]\s*(\d{1,2})\s*[/.\- ]\s*(\d{4})\b")
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_COMPACT_DATE = re.compile(r"(?<!\d)(\d{2})(\d{2})(\d{4})(?!\d)")
_WORD_DATE = re.compile(r"\b(\d{1,2}|premier)(?:er)?\s+([a-z]+)\.?\s+(\d{4})\b")
EARLIEST_BIRTH_YEAR = 1900


def spoken_numbers_to_digits(text: str) -> str:
    """Turn French numbers in words ("vingt six onze zéro…") into digits, as speech gives them."""
    return alpha2digit(text, "fr")


def normalise_numero(text: str) -> str | None:
    """Return the request number upper-cased without separators, or None if it cannot be one."""
    candidate = _NUMERO_SEPARATORS.sub("", spoken_numbers_to_digits(text.strip())).upper()
    if not _NUMERO.match(candidate) or not any(char.isdigit() for char in candidate):
        return None
    return candidate


def _fold(text: str) -> str:
    """Lower-case and drop accents, so "Août" and "aout" read the same."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def _candidates(text: str) -> list[tuple[int, int, int]]:
    """(year, month, day) triples found in `text`, in pattern order."""
    folded = _fold(spoken_numbers_to_digits(text))
    found: list[tuple[int, int, int]] = []
    for match in _ISO_DATE.finditer(folded):
        found.append((int(match[1]), int(match[2]), int(match[3])))
    for pattern in (_NUMERIC_DATE, _COMPACT_DATE):
        for match in pattern.finditer(folded):
            found.append((int(match[3]), int(match[2]), int(match[1])))
    for match in _WORD_DATE.finditer(folded):
        month = _MONTHS.get(match[2])
        if month:
            day = 1 if match[1] == "premier" else int(match[1])
            found.append((int(match[3]), month, day))
    return found


def parse_birth_date(text: str, today: date) -> date | None:
    """Return the one plausible date of birth in `text`, or None when there is none or several."""
    dates = set()
    for year, month, day in _candidates(text):
        try:
            candidate = date(year, month, day)
        except ValueError:
            continue
        if candidate.year >= EARLIEST_BIRTH_YEAR and candidate <= today:
            dates.add(candidate)
    return dates.pop() if len(dates) == 1 else None
