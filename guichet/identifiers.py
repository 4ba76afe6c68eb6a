"""Read request numbers, NEPH, plates and dates the way people type or say them.

The one place these identifiers are normalised, for the actions and the API alike. Numbers in
words ("vingt six onze…") are read by text_to_num, installed in the Rasa environment only: it
is imported when first needed, and the API, which receives numbers already in digits, only
uses `compact_numero`.

Dates are parsed by a few strict patterns rather than a general date library: a date of
birth must never be guessed from "demain" or "lundi", and an unclear answer is asked again.
"""

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from enum import Enum
from functools import cache

_NUMERO_SEPARATORS = re.compile(r"[\s.\-_/]+")
# What a request number is once compacted: 6 to 32 letters or digits.
NUMERO_PATTERN = r"^[A-Z0-9]{6,32}$"
_NUMERO = re.compile(NUMERO_PATTERN)

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
# The same with the year in two digits ("15/01/99", "le 4 juillet 61"): the century is guessed.
_SHORT_NUMERIC_DATE = re.compile(
    r"(?<![\d/.\-])(\d{1,2})\s*[/.\-]\s*(\d{1,2})\s*[/.\-]\s*(\d{2})(?![\d/.\-])"
)
_SHORT_WORD_DATE = re.compile(r"\b(\d{1,2}|premier)(?:er)?\s+([a-z]+)\.?\s+'?(\d{2})\b")
EARLIEST_BIRTH_YEAR = 1900
# A person asking about a licence or a registration is at least this old: a two-digit year
# is read as 19xx when 20xx would make them younger; otherwise the full year is asked.
YOUNGEST_AGE = 15
NEPH_DIGITS = 12

# SIV plates (since 2009): two letters, three digits, two letters; I, O and U are never used.
_SIV_LETTERS = "A-HJ-NP-TV-Z"
_SIV_PLATE = re.compile(rf"^([{_SIV_LETTERS}]{{2}})(\d{{3}})([{_SIV_LETTERS}]{{2}})$")
# FNI plates (before 2009): 1 to 4 digits, 1 to 3 letters, the département.
_FNI_PLATE = re.compile(r"^(\d{1,4})([A-Z]{1,3})(0[1-9]|[1-8]\d|9[0-5]|2[AB]|97[1-6])$")
_PLATE_SEPARATORS = re.compile(r"[\s.\-_]+")


@cache
def _alpha2digit():  # type: ignore[no-untyped-def]
    from text_to_num import alpha2digit

    return alpha2digit


def spoken_numbers_to_digits(text: str) -> str:
    """Turn French numbers in words ("vingt six onze zéro…") into digits, as speech gives them.

    Raises ImportError where text_to_num is not installed (the API's environment).
    """
    return _alpha2digit()(text, "fr")


def compact_numero(raw: str) -> str:
    """Upper-case and strip spaces, dots, dashes, underscores and slashes (digits as given)."""
    return _NUMERO_SEPARATORS.sub("", raw).upper()


def normalise_numero(text: str) -> str | None:
    """Return the request number upper-cased without separators, or None if it cannot be one."""
    candidate = compact_numero(spoken_numbers_to_digits(text.strip()))
    if not _NUMERO.match(candidate) or not any(char.isdigit() for char in candidate):
        return None
    return candidate


def normalise_neph(text: str) -> str | None:
    """Return the 12 digits of a NEPH (the licence file number), or None.

    Any words around the digits ("mon numéro NEPH : 1205 7520 0123") are dropped: the entity
    extractor keeps them because the keyword is what tells a NEPH from a request number.
    """
    digits = "".join(char for char in spoken_numbers_to_digits(text) if char.isdigit())
    return digits if len(digits) == NEPH_DIGITS else None


def normalise_plate(text: str) -> str | None:
    """Return a plate in its printed form ("AB-123-CD", "1234 AB 56"), or None."""
    compact = _PLATE_SEPARATORS.sub("", text.strip()).upper()
    if siv := _SIV_PLATE.match(compact):
        return "-".join(siv.groups())
    if fni := _FNI_PLATE.match(compact):
        return " ".join(fni.groups())
    return None


def fold(text: str) -> str:
    """Lower-case and drop accents, so "Août" and "aout" read the same."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def _candidates(text: str) -> list[tuple[int, int, int]]:
    """(year, month, day) triples found in `text`, in pattern order."""
    folded = fold(spoken_numbers_to_digits(text))
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


def _real_dates(text: str) -> set[date]:
    """The calendar dates written in `text`; impossible ones (31 February) are dropped."""
    dates = set()
    for year, month, day in _candidates(text):
        try:
            dates.add(date(year, month, day))
        except ValueError:
            continue
    return dates


def parse_date(text: str) -> date | None:
    """Return the one dated day in `text` (year included), or None when there is none or several."""
    dates = _real_dates(text)
    return dates.pop() if len(dates) == 1 else None


def parse_birth_date(text: str, today: date) -> date | None:
    """Return the one plausible date of birth in `text`, or None when there is none or several."""
    dates = {day for day in _real_dates(text) if day.year >= EARLIEST_BIRTH_YEAR and day <= today}
    return dates.pop() if len(dates) == 1 else None


class BirthDateKind(Enum):
    """How sure a reading of a date of birth is."""

    EXACT = "exact"  # one date, year in four digits
    GUESSED = "guessed"  # year in two digits, century guessed: confirm it with the person
    CENTURY_UNKNOWN = "century_unknown"  # year in two digits, either century possible
    NONE = "none"  # no date, several, or none plausible


@dataclass(frozen=True)
class BirthDateReading:
    kind: BirthDateKind
    day: date | None = None


def _short_year_candidates(text: str) -> list[tuple[int, int, int]]:
    """(two-digit year, month, day) triples written in `text`."""
    folded = fold(spoken_numbers_to_digits(text))
    found = [(int(m[3]), int(m[2]), int(m[1])) for m in _SHORT_NUMERIC_DATE.finditer(folded)]
    for match in _SHORT_WORD_DATE.finditer(folded):
        month = _MONTHS.get(match[2])
        if month:
            day = 1 if match[1] == "premier" else int(match[1])
            found.append((int(match[3]), month, day))
    return found


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def read_birth_date(text: str, today: date) -> BirthDateReading:
    """Read a date of birth, accepting a two-digit year as a guess to confirm.

    A four-digit year is taken as it is (`parse_birth_date`). With two digits ("15/01/99",
    "le 4 juillet 61"), the year is 19xx when 20xx would make the person younger than
    YOUNGEST_AGE (or born in the future); when both centuries are possible ("01/02/05"), the
    century is unknown and the full year must be asked.
    """
    exact = parse_birth_date(text, today)
    if exact is not None:
        return BirthDateReading(BirthDateKind.EXACT, exact)
    if _real_dates(text):
        # A four-digit date was written but is not plausible, or there are several.
        return BirthDateReading(BirthDateKind.NONE)
    readings: set[BirthDateReading] = set()
    youngest_birth = _years_before(today, YOUNGEST_AGE)
    for short_year, month, day in _short_year_candidates(text):
        try:
            recent = date(2000 + short_year, month, day)
            old = date(1900 + short_year, month, day)
        except ValueError:
            continue
        if recent <= youngest_birth:
            readings.add(BirthDateReading(BirthDateKind.CENTURY_UNKNOWN))
        else:
            readings.add(BirthDateReading(BirthDateKind.GUESSED, old))
    return readings.pop() if len(readings) == 1 else BirthDateReading(BirthDateKind.NONE)
