"""Short codes a person can read out to a mediator, letter by letter, without ambiguity."""

import re
import secrets

# No 0/O/Q, 1/I/L, 2/Z, 5/S, 6/G, 8/B, U/V: characters mistaken for one another, on paper or
# aloud. 21 characters, 8 of them: about 3.8e10 codes.
ALPHABET = "ACDEFHJKMNPRTWXY34679"
LENGTH = 8
CODE_PATTERN = rf"^[{ALPHABET}]{{{LENGTH}}}$"
_SEPARATORS = re.compile(r"[\s.\-_]+")


def new_code() -> str:
    """Draw a random code from the unambiguous alphabet."""
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def normalise_code(raw: str) -> str:
    """Accept the code as typed: lower case, spaces or dashes."""
    return _SEPARATORS.sub("", raw).upper()
