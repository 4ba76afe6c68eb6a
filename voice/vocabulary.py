"""The French words the recogniser may hear when the assistant expects yes/no, digits or a date.

Vosk is given these lists as grammars (voice/stt.py): a small vocabulary is both faster and far
more accurate than free decoding. Numbers said in words and month names are the ones
guichet/identifiers.py reads back into digits and dates (through text_to_num and its month
table; tests/voice/test_vocabulary.py checks the two agree), so a request number said
"vingt six onze zéro…" comes out of the recogniser in words the actions already understand.

A grammar also forces any sound onto its own words, with full confidence: "bonjour" may come
out as "deux". DECOYS are common words that do not answer the question; when the recogniser
picks one of them (or "[unk]"), the answer is flagged as out of vocabulary rather than trusted.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from voice.stages import Expectation

UNKNOWN = "[unk]"  # Vosk's unknown-word token, in models that have one

# Numbers as French speakers say them digit by digit, in pairs or as a year.
DIGIT_WORDS = ("zéro", "un", "deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf")
TEEN_WORDS = ("dix", "onze", "douze", "treize", "quatorze", "quinze", "seize")
TENS_WORDS = ("vingt", "vingts", "trente", "quarante", "cinquante", "soixante")
NUMBER_GLUE = ("et", "cent", "cents", "mille", "mil")
NUMBER_WORDS = DIGIT_WORDS + TEEN_WORDS + TENS_WORDS + NUMBER_GLUE

# Accented as the French model spells them; guichet/identifiers.py folds accents away.
MONTH_WORDS = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)
DATE_GLUE = ("le", "premier")

YES_WORDS = ("oui", "ouais", "d'accord", "exactement", "voilà", "c'est ça")
NO_WORDS = ("non", "pas du tout")
# "tapez 1 pour oui, 2 pour non": callers often say the key instead.
YES_NO_KEYS = ("un", "deux")

# Frequent words of callers that answer none of the questions above.
DECOYS = (
    "bonjour",
    "allô",
    "merci",
    "je",
    "voudrais",
    "rendez-vous",
    "permis",
    "carte",
    "grise",
    "dossier",
    "comment",
    "pourquoi",
    "quoi",
    "répéter",
    "aide",
    "conseiller",
    "personne",
    "lentement",
    "attendez",
    "sais",
)


@dataclass(frozen=True)
class Vocabulary:
    """The phrases each expectation accepts, and the decoys that reveal an answer outside them.

    An expectation missing from `phrases` (FREE, and MENU unless titles are given) means free
    decoding with the whole model.
    """

    phrases: dict[Expectation, tuple[str, ...]]
    decoys: tuple[str, ...] = ()
    # Filler words the caller may add around an answer ("euh"), accepted but never the answer.
    fillers: tuple[str, ...] = field(default=())

    def accepted_words(self, expectation: Expectation) -> frozenset[str]:
        """Single words that count as in vocabulary for `expectation`."""
        phrases = self.phrases.get(expectation, ())
        return frozenset(word for phrase in phrases + self.fillers for word in phrase.split())


FRENCH = Vocabulary(
    phrases={
        Expectation.YES_NO: YES_WORDS + NO_WORDS + YES_NO_KEYS,
        Expectation.DIGITS: NUMBER_WORDS,
        Expectation.DATE: NUMBER_WORDS + MONTH_WORDS + DATE_GLUE,
        Expectation.MENU: DIGIT_WORDS,
    },
    decoys=DECOYS,
    fillers=("euh",),
)
