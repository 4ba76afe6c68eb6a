"""Logs without personal data: request numbers masked, dates (of birth or not) removed.

Our code logs through the "api" logger and masks what it logs; the redacting filter is a
safety net on that logger and on uvicorn's, whose access log shows request paths.
"""

import logging
import re
from datetime import date

LOGGER_NAME = "api"
_WATCHED_LOGGERS = (LOGGER_NAME, "uvicorn.access", "uvicorn.error")
_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2}/\d{1,2}/\d{4}\b")
_TOKEN = re.compile(r"\b[A-Za-z0-9]{6,}\b")


def get_logger() -> logging.Logger:
    """Return the API's logger (the one the redacting filter watches)."""
    return logging.getLogger(LOGGER_NAME)


def mask_numero(numero: str) -> str:
    """Keep the first two and last two characters: 2611000002 → 26******02."""
    if len(numero) < 6:
        return "*" * len(numero)
    return f"{numero[:2]}{'*' * (len(numero) - 4)}{numero[-2:]}"


def redact(text: str) -> str:
    """Remove dates and mask every number-like token (four digits or more)."""
    text = _DATE.sub("[date]", text)
    return _TOKEN.sub(
        lambda match: (
            mask_numero(match.group())
            if sum(char.isdigit() for char in match.group()) >= 4
            else match.group()
        ),
        text,
    )


def _redact_value(value: object) -> object:
    if isinstance(value, date):
        return "[date]"
    if isinstance(value, str):
        return redact(value)
    return value


class RedactingFilter(logging.Filter):
    """Rewrite a record's message and arguments in place; never drop a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_redact_value(arg) for arg in record.args)
        elif isinstance(record.args, dict):
            record.args = {key: _redact_value(arg) for key, arg in record.args.items()}
        return True


def install_redaction() -> None:
    """Attach the filter once to the API's and uvicorn's loggers."""
    for name in _WATCHED_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(existing, RedactingFilter) for existing in logger.filters):
            logger.addFilter(RedactingFilter())
