"""Normalisation of the request numbers people read out or type."""

import re

_SEPARATORS = re.compile(r"[\s.\-_/]+")
NUMERO_PATTERN = r"^[A-Z0-9]{6,32}$"


def normalise_numero(raw: str) -> str:
    """Upper-case and strip spaces, dots, dashes, underscores and slashes."""
    return _SEPARATORS.sub("", raw).upper()
