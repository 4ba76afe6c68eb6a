"""Which document or procedure of the catalogue a message names, by the words people use.

Plain word matching over names kept in reference/procedures.yaml, so that adding a way of
saying something is a data change, and the NLU stays about what the person wants.
"""

import re
from collections.abc import Iterable, Mapping

from guichet.identifiers import fold


def comparable(text: str) -> str:
    """Folded, with hyphens and typographic apostrophes read as a speech recogniser writes them."""
    return " ".join(fold(text).replace("’", "'").replace("-", " ").split())


# In a name, "…" stands for a few words in between: "permis … perdu" is said in
# "un nouveau permis si je l'ai perdu".
GAP = "…"
_GAP_WORDS = r"(?:\W+\w+){0,6}?\W+"


def name_pattern(name: str) -> str:
    """The regular expression that finds `name` (already comparable) as whole words."""
    # Folding may have written the ellipsis as three dots.
    parts = [re.escape(part) for part in re.split(r"\s*(?:…|\.\.\.)\s*", name)]
    return rf"(?<!\w){_GAP_WORDS.join(parts)}(?!\w)"


def named_in(
    text: str, names: Mapping[str, Iterable[str]], preferred: Iterable[str] = ()
) -> str | None:
    """The id whose name the text contains ("c'est quoi un justificatif d'adresse ?"), if any.

    The `preferred` ids (those of the procedure under way) win, then the longest name, then
    the first id listed: in a carte grise check "déclaration de perte" is the carte grise's;
    elsewhere it is the licence's, listed first.
    """
    said = comparable(text)
    preferred = set(preferred)
    found = [
        (key in preferred, len(name), -order, key)
        for order, (key, key_names) in enumerate(names.items())
        for name in map(comparable, key_names)
        if re.search(name_pattern(name), said)
    ]
    return max(found)[-1] if found else None
