"""The names the actions and the domain share: responses, slots and the answers slots hold.

The one place these names are built. scripts/generate_domain.py writes the domain's
responses, slots and rules with them, the actions utter them, and tests/actions/test_responses.py
proves every name built for a known status, procedure or document exists in the domain. Pure
functions, no framework: both Python environments import it.
"""

# --- The check before sending (assistant/domain/checklist_generated.yml).
CHECKLIST_FORM = "checklist_form"
PROCEDURE_SLOT = "demarche"
# The answer a document's slot holds, by the intent that gives it.
YES, NO, DONT_KNOW, NOT_CONCERNED = "oui", "non", "je_ne_sais_pas", "non_concerne"
ANSWER_BY_INTENT = {
    "affirm": YES,
    "deny": NO,
    "dont_know": DONT_KNOW,
    "not_concerned": NOT_CONCERNED,
}
ANSWERS = tuple(ANSWER_BY_INTENT.values())
# Intents that always start a check, before those of the catalogue's `intentions`.
CHECK_INTENTS = ("prepare_request", "documents_needed")
# How the summary sorts documents: ready, missing (with what to do), to check.
SUMMARY_KINDS = ("ready", "missing", "check")
CHOOSE_DOMAIN = "utter_choose_domain"
EXPLAIN_UNKNOWN = "utter_explain_unknown"


def piece_slot(document: str) -> str:
    """The slot that holds the answer about `document`."""
    return f"piece_{document}"


def document_of(slot: str) -> str:
    """The document whose answer `slot` holds."""
    return slot.removeprefix("piece_")


def condition_slot(condition: str) -> str:
    """The slot that holds the answer to a condition of the check ("êtes-vous logé …?")."""
    return f"condition_{condition}"


def ask_condition(condition: str) -> str:
    """The form's question for `condition` (Rasa's utter_ask_<form>_<slot>)."""
    return f"utter_ask_{CHECKLIST_FORM}_{condition_slot(condition)}"


def ask_piece(document: str) -> str:
    """The form's question about `document` (Rasa's utter_ask_<form>_<slot>)."""
    return f"utter_ask_{CHECKLIST_FORM}_{piece_slot(document)}"


def explain_piece(document: str) -> str:
    """What `document` is and its validity rule."""
    return f"utter_explain_{piece_slot(document)}"


def summary_piece(kind: str, document: str) -> str:
    """One line of the summary: `kind` is one of SUMMARY_KINDS."""
    if kind not in SUMMARY_KINDS:
        raise ValueError(f"unknown summary kind {kind!r}")
    return f"utter_checklist_{kind}_{piece_slot(document)}"


def checklist_intro(procedure: str) -> str:
    """The start of the check of `procedure`: its label, purpose, number of questions."""
    return f"utter_checklist_intro_{procedure}"


def choose_procedure(among: str) -> str:
    """Buttons to choose a procedure, `among` a domain's or an intent's candidates."""
    return f"utter_choose_procedure_{among}"


# --- Help about a procedure: what a question is about, by intent.
TOPICS = ("cost", "deadline", "temporary", "where")
TOPIC_BY_INTENT = {
    "fees_question": "cost",
    "deadline_question": "deadline",
    "urgent_case": "temporary",
}


def procedure_topic(topic: str, procedure: str) -> str:
    """The facts on `topic` (one of TOPICS) for `procedure`."""
    if topic not in TOPICS:
        raise ValueError(f"unknown topic {topic!r}")
    return f"utter_procedure_{topic}_{procedure}"


def procedure_topic_detail(topic: str, procedure: str, part: int) -> str:
    """Part `part` (from 1) of the detail offered after the short answer on `topic`."""
    return f"{procedure_topic(topic, procedure)}_detail_{part}"


# Set by action_answer_topic: the short answer whose detail was offered ("Voulez-vous le
# détail ?"), and the topic asked about while no procedure was known yet.
DETAIL_SLOT = "detail_offert"
PENDING_TOPIC_SLOT = "sujet_en_attente"


# The intent a button sends to ask about a topic for one procedure.
INTENT_BY_TOPIC = {"cost": "fees_question", "deadline": "deadline_question"}


def topic_choose(topic: str, domain: str) -> str:
    """Buttons to name the procedure a `topic` question is about, among `domain`'s."""
    if topic not in INTENT_BY_TOPIC:
        raise ValueError(f"no choice of procedure for topic {topic!r}")
    return f"utter_{topic}_choose_{domain}"


def topic_general(topic: str) -> str:
    """The answer on `topic` when no procedure is known."""
    return f"utter_{topic}_general"


# --- The status answer (assistant/domain/dossier.yml).
STATUS_OTHER = "utter_status_autre"


def status(statut: str) -> str:
    """The answer for a dossier in `statut` (an id of the catalogue's statuses)."""
    return f"utter_status_{statut}"


# --- The fallback's "did you mean …?".
def subject(intent: str) -> str:
    """How the domain names what `intent` is about."""
    return f"utter_subject_{intent}"
