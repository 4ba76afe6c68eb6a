from datetime import date

import pytest

from guichet.identifiers import (
    BirthDateKind,
    BirthDateReading,
    compact_numero,
    normalise_neph,
    normalise_numero,
    normalise_plate,
    parse_birth_date,
    parse_date,
    read_birth_date,
)

TODAY = date(2026, 11, 23)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2611000002", "2611000002"),
        ("26 11 000 002", "2611000002"),
        ("26.11.000.002", "2611000002"),
        ("26-11-000-002", "2611000002"),
        ("  ab12cd34 ", "AB12CD34"),
        ("vingt six onze zéro zéro zéro zéro zéro deux", "2611000002"),
        ("deux six un un zéro zéro zéro zéro zéro deux", "2611000002"),
    ],
)
def test_numero_accepts_separators_and_case(raw: str, expected: str) -> None:
    assert normalise_numero(raw) == expected


@pytest.mark.parametrize("raw", ["", "hein", "12345", "je ne sais pas", "abcdefgh", "1" * 33])
def test_numero_rejects_what_cannot_be_a_number(raw: str) -> None:
    assert normalise_numero(raw) is None


@pytest.mark.parametrize(
    "raw",
    [
        "12/03/1948",
        "12-03-1948",
        "12.03.1948",
        "12 03 1948",
        "12031948",
        "12 mars 1948",
        "12 Mars 1948",
        "je suis née le 12 mars 1948",
        "1948-03-12",
    ],
)
def test_birth_date_formats(raw: str) -> None:
    assert parse_birth_date(raw, TODAY) == date(1948, 3, 12)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1er août 1950", date(1950, 8, 1)),
        ("1 aout 1950", date(1950, 8, 1)),
        ("2 février 1961", date(1961, 2, 2)),
        ("4/7/1961", date(1961, 7, 4)),
        ("douze mars mille neuf cent quarante-huit", date(1948, 3, 12)),
        ("le quatre juillet dix-neuf cent soixante et un", date(1961, 7, 4)),
        ("le premier août mille neuf cent cinquante", date(1950, 8, 1)),
    ],
)
def test_birth_date_months_without_accents_and_short_forms(raw: str, expected: date) -> None:
    assert parse_birth_date(raw, TODAY) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "hier",
        "31/02/1950",  # no such day
        "12/13/1950",  # no such month
        "12/03/48",  # two-digit year: ambiguous, asked again
        "12/03/2030",  # in the future
        "12/03/1850",  # implausible
        "12/03/1948 ou 13/03/1948",  # two different dates
        "12 brumaire 1948",
    ],
)
def test_birth_date_rejects_unclear_answers(raw: str) -> None:
    assert parse_birth_date(raw, TODAY) is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("AB-123-CD", "AB-123-CD"),
        ("ab123cd", "AB-123-CD"),
        ("AB 123 CD", "AB-123-CD"),
        ("1234 AB 56", "1234 AB 56"),
        ("12-abc-2A", "12 ABC 2A"),
        ("875 ZZ 974", "875 ZZ 974"),
    ],
)
def test_plate_is_given_its_printed_form(raw: str, expected: str) -> None:
    assert normalise_plate(raw) == expected


@pytest.mark.parametrize("raw", ["", "AI-123-CD", "AB-12-CD", "1234 AB 99", "la 208"])
def test_plate_rejects_what_no_plate_looks_like(raw: str) -> None:
    assert normalise_plate(raw) is None


@pytest.mark.parametrize(
    "raw",
    [
        "120575200123",
        "NEPH : 1205 7520 0123",
        "numéro de permis 12.05.75.20.01.23",
        "un deux zéro cinq sept cinq deux zéro zéro un deux trois",
    ],
)
def test_neph_keeps_its_twelve_digits(raw: str) -> None:
    assert normalise_neph(raw) == "120575200123"


@pytest.mark.parametrize("raw", ["", "NEPH", "12057520012", "1205752001234"])
def test_neph_rejects_other_lengths(raw: str) -> None:
    assert normalise_neph(raw) is None


def test_any_date_is_read_even_in_the_future() -> None:
    assert parse_date("rendez-vous le 2 janvier 2027") == date(2027, 1, 2)
    assert parse_date("le 30/02/2027") is None
    assert parse_date("demain") is None


def test_compact_numero_only_strips_separators_and_upper_cases() -> None:
    """What the API does to a number it receives (it has no reader of numbers in words)."""
    assert compact_numero(" 26.11-000_002/ab ") == "2611000002AB"
    assert compact_numero("vingt") == "VINGT"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("15/01/99", date(1999, 1, 15)),
        ("le 4 juillet 61", date(1961, 7, 4)),
        ("4/7/61", date(1961, 7, 4)),
        ("12.03.48", date(1948, 3, 12)),
        ("1er aout 50", date(1950, 8, 1)),
        ("je suis ne le quatre juillet soixante et un", date(1961, 7, 4)),
        # 2012 would make the person 14 on TODAY: only 1912 is possible.
        ("01/01/12", date(1912, 1, 1)),
    ],
)
def test_a_two_digit_year_is_a_guess_to_confirm(raw: str, expected: date) -> None:
    assert read_birth_date(raw, TODAY) == BirthDateReading(BirthDateKind.GUESSED, expected)


@pytest.mark.parametrize("raw", ["01/02/05", "12/03/11", "le 3 mai 08"])
def test_a_two_digit_year_of_either_century_asks_the_full_year(raw: str) -> None:
    # 2005, 2011 and 2008 make a person of 15 or more, as do 1905, 1911 and 1908.
    assert read_birth_date(raw, TODAY).kind is BirthDateKind.CENTURY_UNKNOWN


def test_fifteen_years_to_the_day_is_old_enough() -> None:
    assert read_birth_date("23/11/11", TODAY).kind is BirthDateKind.CENTURY_UNKNOWN
    assert read_birth_date("24/11/11", TODAY) == BirthDateReading(
        BirthDateKind.GUESSED, date(1911, 11, 24)
    )


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("12/03/1948", date(1948, 3, 12)), ("le 4 juillet 1961", date(1961, 7, 4))],
)
def test_a_four_digit_year_needs_no_confirmation(raw: str, expected: date) -> None:
    assert read_birth_date(raw, TODAY) == BirthDateReading(BirthDateKind.EXACT, expected)


@pytest.mark.parametrize(
    "raw",
    ["", "hier", "31/02/61", "12/03/48 ou 13/03/49", "2611000002", "26 11 000 002", "12/03/1850"],
)
def test_no_reading_of_what_is_not_one_date(raw: str) -> None:
    assert read_birth_date(raw, TODAY) == BirthDateReading(BirthDateKind.NONE)
