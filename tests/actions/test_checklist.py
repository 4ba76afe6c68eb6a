"""The check before sending, for all 18 procedures, without a Rasa server."""

import asyncio

import httpx
import pytest
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from assistant.actions.api_client import ApiSettings, DossierApiClient
from assistant.actions.checklist import (
    ActionChecklistGoBack,
    ActionChecklistSummary,
    ActionChooseProcedure,
    ActionExplainCurrentPiece,
    ValidateChecklistForm,
)
from assistant.actions.checklist_logic import previous_question, question_slots, summarise
from assistant.actions.naming import named_in
from guichet.catalogue import get_catalogue
from guichet.identifiers import fold
from tests.actions.conftest import make_tracker, sent
from tests.actions.contract import api_transport, saved_checklist

CATALOGUE = get_catalogue()
PROCEDURES = sorted(CATALOGUE.procedures)


def run(action, tracker, domain):  # type: ignore[no-untyped-def]
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker, sent(action, domain)))
    return [m.get("response") for m in dispatcher.messages], events, dispatcher.messages


def test_all_18_procedures_are_known() -> None:
    assert len(PROCEDURES) == 18


@pytest.mark.parametrize("procedure", PROCEDURES)
def test_every_document_is_asked_with_its_rule(procedure: str, domain: dict) -> None:
    slots = asyncio.run(
        ValidateChecklistForm().required_slots(
            [], CollectingDispatcher(), make_tracker({"demarche": procedure}), domain
        )
    )
    assert slots == question_slots(CATALOGUE.procedures[procedure], {}, CATALOGUE.conditions)
    assert len(slots) >= 2
    for slot in slots:
        assert f"utter_ask_checklist_form_{slot}" in domain["responses"]
        if slot.startswith("piece_"):
            assert f"utter_explain_{slot}" in domain["responses"]
        assert slot in domain["slots"]


@pytest.mark.parametrize("procedure", PROCEDURES)
def test_a_missing_document_is_reported_with_its_fix(procedure: str, domain: dict) -> None:
    documents = CATALOGUE.procedures[procedure].documents
    answers = {f"piece_{d}": "oui" for d in documents}
    answers[f"piece_{documents[0]}"] = "non"
    answers[f"piece_{documents[-1]}"] = "je_ne_sais_pas"
    saved = {}

    def handler(request: httpx.Request) -> httpx.Response:
        saved["body"] = request.read()
        return saved_checklist(request, "K7PM3Q")

    client = DossierApiClient(ApiSettings("http://api.test", "t"), api_transport(handler))
    tracker = make_tracker({"demarche": procedure, **answers})
    responses, events, messages = run(ActionChecklistSummary(client), tracker, domain)
    assert f"utter_checklist_missing_piece_{documents[0]}" in responses
    assert f"utter_checklist_check_piece_{documents[-1]}" in responses
    assert f"utter_checklist_ready_piece_{documents[-1]}" not in responses
    missing_text = domain["responses"][f"utter_checklist_missing_piece_{documents[0]}"][0]["text"]
    assert "Ce qu'il faut faire" in missing_text
    assert responses[-1] == "utter_checklist_saved"
    assert messages[-1]["code"] == "K7PM3Q"
    assert b'"manquants":["' + documents[0].encode() in saved["body"].replace(b" ", b"")
    assert SlotSet("procedure_chosen", False) in events


def test_dont_know_is_never_ready() -> None:
    procedure = CATALOGUE.procedures["permis_perte"]
    answers = {f"piece_{d}": "je_ne_sais_pas" for d in procedure.documents}
    summary = summarise(procedure, answers)
    assert summary.ready == [] and summary.missing == []
    assert summary.to_check == list(procedure.documents)


def test_unanswered_is_to_check_and_not_concerned_is_left_out() -> None:
    procedure = CATALOGUE.procedures["permis_perte"]
    first, second, *_ = procedure.documents
    summary = summarise(procedure, {f"piece_{first}": "non_concerne"})
    assert first in summary.not_concerned
    assert first not in summary.to_check + summary.ready + summary.missing
    assert second in summary.to_check


def test_dont_know_gets_the_rule_explained(domain: dict) -> None:
    tracker = make_tracker(
        {"demarche": "permis_perte", "piece_justificatif_domicile": "je_ne_sais_pas"},
        active_loop="checklist_form",
    )
    tracker.events = [
        {"event": "user", "text": "je sais pas"},
        {"event": "slot", "name": "piece_justificatif_domicile", "value": "je_ne_sais_pas"},
    ]
    dispatcher = CollectingDispatcher()
    action = ValidateChecklistForm()
    events = asyncio.run(action.run(dispatcher, tracker, sent(action, domain)))
    assert [m["response"] for m in dispatcher.messages] == [
        "utter_explain_piece_justificatif_domicile"
    ]
    assert SlotSet("piece_justificatif_domicile", "je_ne_sais_pas") in events
    # The next question is the procedure's next document, known without the domain.
    assert events[-1]["name"] == "requested_slot"
    assert events[-1]["value"] not in (None, "piece_justificatif_domicile")


def test_go_back_clears_the_previous_answer(domain: dict) -> None:
    procedure = CATALOGUE.procedures["permis_perte"]
    first, second, third, *_ = question_slots(procedure)
    tracker = make_tracker(
        {"demarche": "permis_perte", first: "oui", second: "non", "requested_slot": third}
    )
    responses, events, _ = run(ActionChecklistGoBack(), tracker, domain)
    assert events == [SlotSet(second, None), SlotSet("requested_slot", second)]
    assert responses == ["utter_checklist_going_back"]
    assert previous_question(procedure, {}, first) is None


def test_go_back_on_the_first_question_says_so(domain: dict) -> None:
    first = question_slots(CATALOGUE.procedures["permis_perte"])[0]
    tracker = make_tracker({"demarche": "permis_perte", "requested_slot": first})
    assert run(ActionChecklistGoBack(), tracker, domain)[0] == [
        "utter_checklist_nothing_to_go_back"
    ]


def test_explain_names_the_current_document(domain: dict) -> None:
    tracker = make_tracker({"requested_slot": "piece_timbre_fiscal"})
    assert run(ActionExplainCurrentPiece(), tracker, domain)[0] == [
        "utter_explain_piece_timbre_fiscal"
    ]
    assert run(ActionExplainCurrentPiece(), make_tracker({}), domain)[0] == [
        "utter_explain_unknown"
    ]


def test_explain_answers_about_the_document_asked_about(domain: dict) -> None:
    tracker = make_tracker(
        {"demarche": "permis_perte", "requested_slot": "piece_justificatif_residence_normale"},
        text="c'est quoi un justificatif de domicile ?",
    )
    assert run(ActionExplainCurrentPiece(), tracker, domain)[0] == [
        "utter_explain_piece_justificatif_domicile"
    ]


def test_explain_outside_a_check_names_the_document(domain: dict) -> None:
    tracker = make_tracker({}, text="ça veut dire quoi une attestation d'hebergement")
    assert run(ActionExplainCurrentPiece(), tracker, domain)[0] == [
        "utter_explain_piece_attestation_hebergement"
    ]


@pytest.mark.parametrize(
    ("text", "procedure", "document"),
    [
        ("c'est quoi la déclaration de perte", "permis_perte", "declaration_perte"),
        ("c'est quoi la déclaration de perte", "cg_duplicata", "declaration_perte_vol_carte_grise"),
        ("kesako le code E-PHOTO", None, "photo_signature"),
        ("le cerfa n°13750 c'est quoi", None, "formulaire_cerfa_13750"),
        ("une preuve d’adresse ça peut être quoi", None, "justificatif_domicile"),
        ("c koi le non gage", None, "certificat_situation_administrative"),
        ("et le brevet militaire C ?", None, "certificat_formation_brevet_c"),
        ("c'est quoi exactement", None, None),
        ("les cgv du site", None, None),
    ],
)
def test_a_document_is_recognised_by_the_name_people_use(
    text: str, procedure: str | None, document: str | None
) -> None:
    preferred = CATALOGUE.procedures[procedure].documents if procedure else ()
    assert named_in(text, CATALOGUE.document_names, preferred) == document


def _owners() -> dict[str, set[str]]:
    owners: dict[str, set[str]] = {}
    for document, names in CATALOGUE.document_names.items():
        for name in names:
            owners.setdefault(fold(name).replace("-", " "), set()).add(document)
    return owners


@pytest.mark.parametrize("document", sorted(CATALOGUE.document_names))
def test_every_name_of_a_document_leads_to_it(document: str) -> None:
    names = CATALOGUE.document_names[document]
    assert names, f"{document} has no name people could ask about"
    owners = _owners()
    for name in names:
        # A shared name means the document of the procedure under way.
        shared = len(owners[fold(name).replace("-", " ")]) > 1
        preferred = (document,) if shared else ()
        said = f"c'est quoi {name} ?"
        assert named_in(said, CATALOGUE.document_names, preferred) == document, name


def test_a_shared_name_never_means_two_documents_of_one_procedure() -> None:
    shared = {name: docs for name, docs in _owners().items() if len(docs) > 1}
    for procedure in CATALOGUE.procedures.values():
        for name, documents in shared.items():
            assert len(documents & set(procedure.documents)) <= 1, (procedure.id, name)


def choose(domain: dict, intent: str, entities: list[dict] | None = None):  # type: ignore[no-untyped-def]
    tracker = make_tracker({})
    tracker.latest_message = {"intent": {"name": intent}, "entities": entities or []}
    return run(ActionChooseProcedure(), tracker, domain)


def test_one_candidate_starts_the_check(domain: dict) -> None:
    responses, events, _ = choose(domain, "damaged_licence")
    assert responses == ["utter_checklist_intro_permis_deterioration"]
    assert SlotSet("demarche", "permis_deterioration") in events
    assert SlotSet("procedure_chosen", True) in events


def test_several_candidates_ask_with_buttons(domain: dict) -> None:
    responses, events, _ = choose(domain, "lost_or_stolen_licence")
    assert responses == ["utter_choose_procedure_lost_or_stolen_licence"]
    assert SlotSet("procedure_chosen", False) in events
    buttons = domain["responses"][responses[0]][0]["buttons"]
    # Doubled braces in the domain are rendered as single ones by Rasa's interpolation.
    rendered = [b["payload"].replace("{{", "{").replace("}}", "}") for b in buttons]
    assert rendered == [
        '/prepare_request{"demarche":"permis_perte"}',
        '/prepare_request{"demarche":"permis_vol"}',
    ]


def test_a_button_names_the_procedure(domain: dict) -> None:
    entities = [{"entity": "demarche", "value": "cg_duplicata"}]
    responses = choose(domain, "prepare_request", entities)[0]
    assert responses == ["utter_checklist_intro_cg_duplicata"]


def test_naming_the_domain_keeps_the_candidates_of_that_domain(domain: dict) -> None:
    permis = {"entity": "domaine", "value": "permis_de_conduire"}
    assert choose(domain, "lost_or_stolen_licence", [permis])[0] == [
        "utter_choose_procedure_lost_or_stolen_licence"
    ]
    perdu = {"entity": "circonstance", "value": "perte"}
    assert choose(domain, "lost_or_stolen_licence", [permis, perdu])[0] == [
        "utter_checklist_intro_permis_perte"
    ]
    carte_grise = {"entity": "domaine", "value": "carte_grise"}
    assert choose(domain, "renew_licence", [carte_grise])[0] == [
        "utter_choose_procedure_carte_grise"
    ]


def said(domain: dict, text: str, intent: str, term: str, value: str):  # type: ignore[no-untyped-def]
    """The choice made for `text`, classified as `intent`, with `term` found as a domain."""
    start = text.index(term)
    tracker = make_tracker({})
    tracker.latest_message = {
        "text": text,
        "intent": {"name": intent},
        "entities": [
            {"entity": "domaine", "value": value, "start": start, "end": start + len(term)}
        ],
    }
    return run(ActionChooseProcedure(), tracker, domain)[0]


@pytest.mark.parametrize(
    ("text", "term", "value", "expected"),
    [
        ("carte grise", "carte grise", "carte_grise", "utter_choose_procedure_carte_grise"),
        ("c'est pour la CG svp", "CG", "carte_grise", "utter_choose_procedure_carte_grise"),
        (
            "euh le permis",
            "permis",
            "permis_de_conduire",
            "utter_choose_procedure_permis_de_conduire",
        ),
        (
            "j'ai perdu ma carte grise",
            "carte grise",
            "carte_grise",
            "utter_checklist_intro_cg_duplicata",
        ),
    ],
)
def test_a_bare_domain_lists_its_procedures_whatever_the_intent(
    domain: dict, text: str, term: str, value: str, expected: str
) -> None:
    # The NLU reads "carte grise" alone as a duplicata request, "le permis" as a lost licence.
    intent = "duplicate_registration" if value == "carte_grise" else "lost_or_stolen_licence"
    assert said(domain, text, intent, term, value) == [expected]


def test_naming_both_domains_names_neither(domain: dict) -> None:
    both = [
        {"entity": "domaine", "value": "permis_de_conduire"},
        {"entity": "domaine", "value": "carte_grise"},
    ]
    assert choose(domain, "prepare_request", both)[0] == ["utter_choose_domain"]


def test_domain_then_procedure(domain: dict) -> None:
    assert choose(domain, "prepare_request")[0] == ["utter_choose_domain"]
    entities = [{"entity": "domaine", "value": "carte_grise"}]
    assert choose(domain, "prepare_request", entities)[0] == ["utter_choose_procedure_carte_grise"]


def test_save_failure_is_said_and_summary_still_given(domain: dict) -> None:
    client = DossierApiClient(
        ApiSettings("http://api.test", "t"),
        api_transport(lambda request: httpx.Response(503)),
    )
    tracker = make_tracker({"demarche": "cg_declaration_cession"})
    responses, _, _ = run(ActionChecklistSummary(client), tracker, domain)
    assert responses[0] == "utter_checklist_summary_intro"
    assert responses[-1] == "utter_checklist_not_saved"


def test_what_happened_picks_the_candidate(domain: dict) -> None:
    entities = [{"entity": "circonstance", "value": "perte"}]
    responses = choose(domain, "lost_or_stolen_licence", entities)[0]
    assert responses == ["utter_checklist_intro_permis_perte"]
    entities = [{"entity": "circonstance", "value": "vol"}]
    assert choose(domain, "lost_or_stolen_licence", entities)[0] == [
        "utter_checklist_intro_permis_vol"
    ]
    # a circonstance that fits none of the intent's candidates changes nothing
    assert choose(domain, "damaged_licence", entities)[0] == [
        "utter_checklist_intro_permis_deterioration"
    ]
