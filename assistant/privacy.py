"""Mask the personal data people type (dates, phone numbers, long numbers) in text and logs.

Pure functions and a logging filter, standard library only, so that the Python 3.11 side
could use it too (the dossier API masks its own logs with api/logging.py for now). Where
`guichet.identifiers` can read numbers in words (the Rasa and action-server environment, which
has text_to_num), numbers said in words ("quatre juillet mille neuf cent soixante et un")
are read as digits first, as speech gives them; elsewhere only digits are masked.

The patterns find *spans* to hide, where the parsers of `guichet.identifiers` read
*values*: they accept two-digit years and any number of six digits or more, which the
parsers rightly refuse as dates of birth or request numbers.
"""

import ipaddress
import logging
import re
import traceback
from collections.abc import Callable
from functools import cache

DATE_MASK = "[date]"
PHONE_MASK = "[téléphone]"
NUMBER_MASK = "[numéro]"
PLATE_MASK = "[plaque]"
EMAIL_MASK = "[courriel]"
IP_MASK = "[adresse IP]"
MASKS = frozenset({DATE_MASK, PHONE_MASK, NUMBER_MASK, PLATE_MASK, EMAIL_MASK, IP_MASK})

# Ordinary and non-breaking spaces (French typing puts U+202F before some signs).
_SPACE = "[ \u00a0\u202f]"
_SEP = rf"(?:{_SPACE}|[.\-/])"
_DAY = r"(?:0?[1-9]|[12]\d|3[01])"
_MONTH = r"(?:0?[1-9]|1[0-2])"
_DAY2 = r"(?:0[1-9]|[12]\d|3[01])"
_MONTH2 = r"(?:0[1-9]|1[0-2])"
_YEAR4 = r"(?:1[89]\d\d|20\d\d)"
# No digit group right before or after: "04 07 1961 23" is one long number, not a date.
_ALONE_BEFORE = rf"(?<!\d)(?<!\d{_SEP})"
_ALONE_AFTER = rf"(?!{_SEP}?\d)"
# With or without accents, and with them escaped as JSON writes them (structlog's records).
_E = r"(?:[ée]|\\u00e9)"
_MONTH_NAMES = (
    rf"(?:janvier|janv|f{_E}vrier|f{_E}vr|f{_E}v|mars|avril|avr|mai|juin|juillet|juil"
    rf"|ao(?:[uû]|\\u00fb)t|septembre|sept|octobre|oct|novembre|nov|d{_E}cembre|d{_E}c)\.?"
)

_EMAIL = re.compile(r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+")
_DATES = [
    # 4 juillet 1961, le 1er août 61, premier mai 1950, 12 mars 48
    re.compile(
        rf"(?<!\w)(?:premier|{_DAY}(?:er)?){_SPACE}+{_MONTH_NAMES}{_SPACE}+(?:{_YEAR4}|\d\d)"
        r"(?!\d)",
        re.IGNORECASE,
    ),
    # 1961-07-04, 1961/07/04
    re.compile(rf"{_ALONE_BEFORE}{_YEAR4}([\-/.]){_MONTH}\1{_DAY}{_ALONE_AFTER}"),
    # 04/07/1961, 4-7-1961, 04.07.1961, 04 07 1961
    re.compile(
        rf"{_ALONE_BEFORE}{_DAY}{_SPACE}*([\-/.]|{_SPACE}){_SPACE}*{_MONTH}{_SPACE}*\1{_SPACE}*"
        rf"{_YEAR4}{_ALONE_AFTER}"
    ),
    # 4-7-61, 04/07/61 (not with dots: "3.6.21" is a version number)
    re.compile(rf"{_ALONE_BEFORE}{_DAY}([\-/]){_MONTH}\1\d\d{_ALONE_AFTER}"),
    # 04071961, 19610704
    re.compile(rf"(?<!\d){_DAY2}{_MONTH2}{_YEAR4}(?!\d)"),
    re.compile(rf"(?<!\d){_YEAR4}{_MONTH2}{_DAY2}(?!\d)"),
]
_PHONES = [
    # 06 12 34 56 78, 06.12.34.56.78, 0612345678, +33 6 12 34 56 78, 0033 (0)6…
    re.compile(
        rf"{_ALONE_BEFORE}(?<!\+)(?:(?:\+|00)33{_SEP}?(?:\(0\){_SEP}?)?|0)[1-9](?:{_SEP}?\d\d){{4}}"
        rf"{_ALONE_AFTER}"
    ),
    # Other international numbers: +32 2 123 45 67
    re.compile(rf"(?<![\w+])\+\d(?:{_SEP}?\d){{7,14}}{_ALONE_AFTER}"),
]
_SIV_LETTERS = "[A-HJ-NP-TV-Z]"
_PLATES = [
    # AB-123-CD, ab123cd (the spaced form only in capitals: "le 123 de" is not a plate)
    re.compile(rf"(?<![\w\-]){_SIV_LETTERS}{{2}}-?\d{{3}}-?{_SIV_LETTERS}{{2}}(?![\w\-])", re.I),
    re.compile(rf"(?<![\w\-]){_SIV_LETTERS}{{2}} \d{{3}} {_SIV_LETTERS}{{2}}(?![\w\-])"),
    # 1234 AB 56 (before 2009): letters in capitals, then the département
    re.compile(
        r"(?<![\w\-])\d{1,4}[ \-]?[A-HJ-NP-TV-Z]{1,3}[ \-]?"
        r"(?:0[1-9]|[1-8]\d|9[0-5]|2[AB]|97[1-6])(?![\w\-])"
    ),
]
# Six digits or more, possibly grouped: request numbers (26 11 000 002), NEPH, IBAN… Small
# numbers stay: "2 voitures", "le 34 00", a postcode.
_LONG_NUMBER = re.compile(rf"(?<!\d)\d(?:{_SEP}?\d){{5,}}(?!\d)")

_RULES: list[tuple[re.Pattern[str], str]] = [
    (_EMAIL, EMAIL_MASK),
    *((pattern, DATE_MASK) for pattern in _DATES),
    *((pattern, PHONE_MASK) for pattern in _PHONES),
    *((pattern, PLATE_MASK) for pattern in _PLATES),
    (_LONG_NUMBER, NUMBER_MASK),
]


# Kept as they are, and out of the rules' reach: decimals such as Rasa's confidences
# ("0.9876543" in debug logs) and the servers' own IPv4 addresses; public ones are masked.
_SHIELDED = re.compile(r"(?<![\d.])(?:\d{1,3}(?:\.\d{1,3}){3}|\d{1,3}\.\d+)(?![\d.])")


def _shielded(token: str) -> str | None:
    """What a decimal or an IPv4 address becomes, or None to let the rules decide."""
    if token.count(".") == 1:
        return token
    try:
        address = ipaddress.IPv4Address(token)
    except ValueError:
        return None  # not an address ("26.11.000.002"): maybe a request number
    own = address.is_private or address.is_loopback or address.is_unspecified
    return token if own else IP_MASK


def _apply_rules(text: str) -> str:
    for pattern, mask in _RULES:
        text = pattern.sub(mask, text)
    return text


def _mask_digits(text: str) -> str:
    pieces, done_until = [], 0
    for match in _SHIELDED.finditer(text):
        replacement = _shielded(match[0])
        if replacement is not None:
            pieces += [_apply_rules(text[done_until : match.start()]), replacement]
            done_until = match.end()
    return "".join(pieces) + _apply_rules(text[done_until:])


@cache
def _spoken_numbers_reader() -> Callable[[str], str] | None:
    """`guichet.identifiers.spoken_numbers_to_digits` where text_to_num is installed, else None."""
    from guichet.identifiers import spoken_numbers_to_digits

    try:
        spoken_numbers_to_digits("")
    except ImportError:
        return None
    return spoken_numbers_to_digits


def mask_personal_data(text: str) -> str:
    """`text` with dates, phone numbers, e-mail addresses, plates, long numbers and public
    IP addresses masked.

    Each is replaced by a short French marker ("[date]", "[téléphone]", "[numéro]",
    "[plaque]", "[courriel]", "[adresse IP]"); other words and small numbers are left as
    they are. Numbers
    said in words are masked too where they can be read: the text then comes back with its
    numbers in digits, since the markers cannot be placed in the words.
    """
    if not text:
        return text
    masked = _mask_digits(text)
    read_spoken = _spoken_numbers_reader()
    if read_spoken is None:
        return masked
    try:
        spoken = read_spoken(text)
    except Exception:  # a reader failure must not stop the masking
        return masked
    if spoken == text:
        return masked
    masked_spoken = _mask_digits(spoken)
    return masked_spoken if masked_spoken != spoken else masked


def _masked_traceback(exc_info: tuple) -> str:
    """The traceback as `logging.Formatter` writes it, with the exception messages masked."""
    return mask_personal_data("".join(traceback.format_exception(*exc_info)).rstrip("\n"))


# Attributes every LogRecord has; any other one came from `extra=` (Sanic's "request", …).
_STANDARD_RECORD_ATTRIBUTES = frozenset(
    logging.LogRecord("", logging.INFO, "", 0, "", None, None).__dict__
) | {"message", "asctime"}


def mask_log_record(record: logging.LogRecord) -> logging.LogRecord:
    """Mask `record` in place: its message with its arguments, exception, stack and extras.

    The arguments are merged into the message (then cleared), so that nothing a formatter
    reads later holds the data. The exception is formatted now and only its masked text is
    kept: formatters write `exc_text` when `exc_info` is gone.
    """
    try:
        message = record.getMessage()
    except Exception:  # a bad format string: the formatter will report it
        message = f"{record.msg} {record.args}"
    record.msg = mask_personal_data(message)
    record.args = None
    if record.exc_info and record.exc_info[0] is not None:
        record.exc_text = _masked_traceback(record.exc_info)
        record.exc_info = None
    elif record.exc_text:
        record.exc_text = mask_personal_data(record.exc_text)
    if record.stack_info:
        record.stack_info = mask_personal_data(record.stack_info)
    for name, value in list(record.__dict__.items()):
        if name not in _STANDARD_RECORD_ATTRIBUTES and isinstance(value, str):
            setattr(record, name, mask_personal_data(value))
    return record


class PersonalDataFilter(logging.Filter):
    """Mask personal data in every record a handler emits; never drops a record.

    Put it on handlers, not on loggers: a logger's filters do not see the records of its
    child loggers ("rasa" would not filter "rasa.core.processor").
    """

    def filter(self, record: logging.LogRecord) -> bool:
        mask_log_record(record)
        return True


class _MaskingRecordFactory:
    """A log record factory that masks each record the previous factory makes."""

    def __init__(self, previous: Callable[..., logging.LogRecord]) -> None:
        self.previous = previous

    def __call__(self, *args: object, **kwargs: object) -> logging.LogRecord:
        return mask_log_record(self.previous(*args, **kwargs))


def install_record_masking() -> None:
    """Mask every log record of this process when it is created (idempotent).

    A handler filter only covers the handlers it is put on. Rasa installs coloredlogs'
    handler on the root logger after reading its logging file, and Sanic (when Rasa's HTTP
    API is on) replaces the handlers of its own loggers: neither carries the filter. A record
    factory masks the message and the exception before any handler sees them.
    """
    if not isinstance(logging.getLogRecordFactory(), _MaskingRecordFactory):
        logging.setLogRecordFactory(_MaskingRecordFactory(logging.getLogRecordFactory()))


def uninstall_record_masking() -> None:
    """Put back the record factory `install_record_masking` replaced (for tests)."""
    factory = logging.getLogRecordFactory()
    if isinstance(factory, _MaskingRecordFactory):
        logging.setLogRecordFactory(factory.previous)


def masking_filter() -> PersonalDataFilter:
    """The filter factory of assistant/logging.yml: a PersonalDataFilter for its handlers,
    and, as the loggers configured after the file would escape it, record masking for the
    whole process (`install_record_masking`)."""
    install_record_masking()
    return PersonalDataFilter()
