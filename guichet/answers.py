"""How long a message a person reads may be, and which facts of the catalogue may be told.

One rule for the whole domain: at most three short sentences and about 300 characters per
message (tests/actions/test_answer_length.py). scripts/generate_domain.py splits a procedure's
facts into messages that keep to it, and offers the rest as detail.
"""

import re
from collections.abc import Iterable, Mapping
from typing import Any

MAX_CHARACTERS = 300
MAX_SENTENCES = 3
# Facts a person may be told: "secondary" ones with one caution; never "unverified" or
# "conflicting" (reference/procedures.yaml, status_legend).
TELLABLE = frozenset({"official", "secondary"})

# A sentence ends with . ! ? or … followed by a space or the end (closing quotes allowed):
# "2,76 €" or "cerfa n°13753" do not end one.
_SENTENCE_END = re.compile(r"[.!?…]+(?:\s*[»)])?(?=\s|$)")
_QUOTED = re.compile(r"«[^»]*»")


def sentence_count(text: str) -> int:
    """How many sentences `text` has; a text without final punctuation is one."""
    # What is quoted is a label or an example to say, not a sentence of the message:
    # « Où en est mon dossier ? » is one button's words.
    stripped = _QUOTED.sub("«»", text).strip()
    if not stripped:
        return 0
    ends = _SENTENCE_END.findall(stripped)
    return len(ends) + (0 if _SENTENCE_END.search(stripped[-3:]) else 1)


def is_short(text: str) -> bool:
    """Whether a message keeps to the rule."""
    return len(text) <= MAX_CHARACTERS and sentence_count(text) <= MAX_SENTENCES


def told(facts: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The facts a person may be told, in order."""
    return [fact for fact in facts if fact["status"] in TELLABLE]


# Where each topic of a procedure's help keeps its facts in reference/procedures.yaml, in the
# order they are told. "Combien de temps ?" asks for the time limit to act or for the wait, so
# the delay answer tells both.
TOPIC_FACTS = {
    "cost": ("cost",),
    "deadline": ("deadline", "processing_time"),
    "temporary": ("temporary_documents",),
    "where": ("where",),
}


def procedure_topic_facts(procedure: Mapping[str, Any], topic: str) -> list[Mapping[str, Any]]:
    """The facts told on `topic` for one procedure entry of the catalogue: the first is the
    short answer, each other one a message of the detail offered after it."""
    return told(fact for key in TOPIC_FACTS[topic] for fact in procedure.get(key) or ())


def topic_facts(data: Mapping[str, Any], topic: str, procedure: str) -> list[Mapping[str, Any]]:
    """`procedure_topic_facts` of the procedure named `procedure` in the catalogue `data`."""
    for entry in data["procedures"]:
        if entry["id"] == procedure:
            return procedure_topic_facts(entry, topic)
    return []
