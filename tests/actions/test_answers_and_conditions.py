"""Right facts, short answers, and a check that asks only what applies (issue 12)."""

import asyncio
import re

import pytest
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from assistant.actions.checklist import (
    ActionChecklistHint,
    ActionChecklistSummary,
    ActionChooseProcedure,
    ValidateChecklistForm,
)
from assistant.actions.checklist_logic import (
    known_conditions,
    question_slots,
    read_answer,
    summarise,
)
from assistant.actions.help import ActionAnswerTopic, ActionTellDetail
from guichet.catalogue import get_catalogue
from guichet.responses import DONT_KNOW, NO, YES
from scripts.generate_domain import topic_responses
from tests.actions.conftest import make_tracker, sent

CATALOGUE = get_catalogue()
CONDITIONS = CATALOGUE.conditions


def run(action, tracker, domain):  # type: ignore[no-untyped-def]
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker, sent(action, domain)))
    return [m.get("response") for m in dispatcher.messages], events


def texts(domain: dict):  # type: ignore[no-untyped-def]
    for name, variations in domain["responses"].items():
        for variation in variations:
            yield name, variation.get("text", "")


# --- What a person reads --------------------------------------------------------------------


def test_no_question_of_the_check_starts_with_seulement_si(domain: dict) -> None:
    asked = [
        (name, text)
        for name, text in texts(domain)
        if name.startswith("utter_ask_checklist_form_")
        and re.search(r"seulement si|pas concern", text, re.IGNORECASE)
    ]
    assert asked == []


def test_no_source_or_hedge_is_told(domain: dict) -> None:
    hedges = re.compile(
        r"presse|à confirmer|selon (une? |des )(source|site|centre|auto)|information de \d|"
        r"sites? privés?|"
        r"source secondaire|tarifs \d{4}|probables?\b",
        re.IGNORECASE,
    )
    assert [(name, text) for name, text in texts(domain) if hedges.search(text)] == []


def test_a_caution_is_said_once_per_message(domain: dict) -> None:
    twice = [
        name
        for name, text in texts(domain)
        if len(re.findall("à vérifier sur le site de l'ANTS", text, re.IGNORECASE)) > 1
    ]
    assert twice == []


def test_the_used_car_price_is_how_it_is_computed_not_a_list_of_regions(domain: dict) -> None:
    short = domain["responses"]["utter_procedure_cost_cg_changement_titulaire_occasion"][0]
    assert "simulateur" in short["text"] and "chevaux" in short["text"]
    assert short["text"].endswith("Voulez-vous le détail ?")
    assert short["buttons"] == [{"title": "Oui, le détail", "payload": "/ask_detail"}]
    every_text = " ".join(text for _, text in texts(domain))
    assert "Normandie 60 €" not in every_text  # the 17 regional rates are gone
    assert "Martinique" not in every_text


def test_topic_answer_first_fact_then_detail_one_per_message() -> None:
    procedure = {
        "id": "p",
        "label": "la démarche",
        "cost": [
            {"text": "Vingt euros.", "status": "official"},
            {"text": "Jamais ceci.", "status": "unverified"},
            {"text": "Parfois plus.", "status": "secondary"},
            {"text": "Ni cela.", "status": "conflicting"},
        ],
    }
    templates = {
        "cout": "Le prix pour « {label} » : {faits}",
        "offre_detail": "Voulez-vous le détail ?",
        "bouton_detail": "Oui, le détail",
        "a_verifier": "À vérifier sur le site de l'ANTS.",
        "aucun_fait_sur": "Rien.",
    }
    made = topic_responses("cost", procedure, templates)
    assert made["utter_procedure_cost_p"][0]["text"] == (
        "Le prix pour « la démarche » : Vingt euros. Voulez-vous le détail ?"
    )
    assert made["utter_procedure_cost_p_detail_1"] == [
        {"text": "Parfois plus. À vérifier sur le site de l'ANTS."}
    ]
    assert set(made) == {"utter_procedure_cost_p", "utter_procedure_cost_p_detail_1"}
    procedure["cost"][2]["text"] = "Calculez-le sur le site de l'ANTS."
    detail = topic_responses("cost", procedure, templates)["utter_procedure_cost_p_detail_1"]
    assert detail == [{"text": "Calculez-le sur le site de l'ANTS."}]  # no second caution
    procedure["cost"] = procedure["cost"][:2]
    alone = topic_responses("cost", procedure, templates)
    assert alone == {
        "utter_procedure_cost_p": [{"text": "Le prix pour « la démarche » : Vingt euros."}]
    }


# --- Price and delay questions: the procedure the question names ---------------------------


def answer(domain: dict, text: str, intent: str, slots: dict, entities=()):  # type: ignore[no-untyped-def]
    tracker = make_tracker(slots, text=text)
    tracker.latest_message["intent"] = {"name": intent}
    tracker.latest_message["entities"] = list(entities)
    return run(ActionAnswerTopic(), tracker, domain)


@pytest.mark.parametrize(
    "said",
    [
        "combien coûte un duplicata de permis",
        "c'est combien un nouveau permis si je l'ai perdu",
        "cb ca coute de refaire mon permis de conduire que j'ai perdu au marché",
        "combien pour un duplicata du permis de conduire svp",
    ],
)
def test_the_licence_replacement_gets_the_licence_price_not_the_carte_grise_one(
    domain: dict, said: str
) -> None:
    # The carte grise duplicate was the last procedure talked about: the question wins.
    responses, events = answer(domain, said, "fees_question", {"demarche": "cg_duplicata"})
    assert responses == ["utter_procedure_cost_permis_perte"]
    assert "25 €" in domain["responses"][responses[0]][0]["text"]
    assert SlotSet("demarche", "permis_perte") in events


def test_duplicata_alone_is_the_carte_grise(domain: dict) -> None:
    responses, _ = answer(domain, "combien coûte un duplicata", "fees_question", {})
    assert responses == ["utter_procedure_cost_cg_duplicata"]


def test_a_question_about_the_other_domain_does_not_carry_the_procedure_over(
    domain: dict,
) -> None:
    permis = [{"entity": "domaine", "value": "permis_de_conduire"}]
    responses, events = answer(
        domain,
        "et le permis ça coûte combien",
        "fees_question",
        {"demarche": "cg_duplicata"},
        permis,
    )
    assert responses == ["utter_cost_choose_permis_de_conduire"]
    assert SlotSet("sujet_en_attente", "cost") in events


def test_a_price_for_a_whole_domain_offers_its_procedures_as_price_buttons(domain: dict) -> None:
    carte_grise = [{"entity": "domaine", "value": "carte_grise"}]
    responses, _ = answer(domain, "combien coûte une carte grise", "fees_question", {}, carte_grise)
    assert responses == ["utter_cost_choose_carte_grise"]
    buttons = domain["responses"]["utter_cost_choose_carte_grise"][0]["buttons"]
    assert len(buttons) == len(CATALOGUE.in_domain("carte_grise"))
    assert all(b["payload"].startswith("/fees_question{{") for b in buttons)
    # A button sets the procedure (its entity fills the slot): its price, not a check.
    responses, _ = answer(
        domain, "/fees_question", "fees_question", {"demarche": "cg_changement_adresse"}
    )
    assert responses == ["utter_procedure_cost_cg_changement_adresse"]
    delay = domain["responses"]["utter_deadline_choose_permis_de_conduire"]
    assert delay[0]["text"].startswith("Le délai dépend") and "délai" in delay[1]["text"]


def test_a_price_asked_before_the_procedure_is_answered_when_it_is_named(domain: dict) -> None:
    responses, events = answer(domain, "combien coûte une carte grise", "fees_question", {})
    assert responses == ["utter_cost_general"]
    assert SlotSet("sujet_en_attente", "cost") in events
    # "pour une voiture d'occasion": the NLU reads a used-car intent, which starts a check
    # unless a price is pending.
    tracker = make_tracker({"sujet_en_attente": "cost"}, text="pour une voiture d'occasion")
    tracker.latest_message["intent"] = {"name": "buy_used_vehicle"}
    tracker.events = AFTER_A_TOPIC
    responses, events = run(ActionChooseProcedure(), tracker, domain)
    assert responses == ["utter_procedure_cost_cg_changement_titulaire_occasion"]
    assert SlotSet("procedure_chosen", False) in events
    assert SlotSet("detail_offert", "cost:cg_changement_titulaire_occasion") in events
    # Without a pending price, the same message starts the check.
    tracker = make_tracker({}, text="pour une voiture d'occasion")
    tracker.latest_message["intent"] = {"name": "buy_used_vehicle"}
    responses, events = run(ActionChooseProcedure(), tracker, domain)
    assert responses == ["utter_checklist_intro_cg_changement_titulaire_occasion"]
    assert SlotSet("procedure_chosen", True) in events


def test_a_pending_price_is_only_for_the_next_message(domain: dict) -> None:
    # Something else was said in between: "j'ai acheté une voiture" starts the check.
    tracker = make_tracker({"sujet_en_attente": "cost"}, text="j'ai acheté une voiture")
    tracker.latest_message["intent"] = {"name": "buy_used_vehicle"}
    tracker.events = [*AFTER_A_TOPIC[:-1], *AFTER_SOMETHING_ELSE]
    assert run(ActionChooseProcedure(), tracker, domain)[0] == [
        "utter_checklist_intro_cg_changement_titulaire_occasion"
    ]
    # Asking for the check itself always gets the check.
    tracker = make_tracker({"sujet_en_attente": "cost"}, text="vérifier ma demande d'occasion")
    tracker.latest_message["intent"] = {"name": "prepare_request"}
    tracker.latest_message["entities"] = [
        {"entity": "demarche", "value": "cg_changement_titulaire_occasion"}
    ]
    tracker.events = AFTER_A_TOPIC
    assert run(ActionChooseProcedure(), tracker, domain)[0] == [
        "utter_checklist_intro_cg_changement_titulaire_occasion"
    ]


def test_the_licence_after_a_carte_grise_price_gets_the_licence_price(domain: dict) -> None:
    # "combien coûte un duplicata ?" then "non un nouveau permis si je l'ai perdu": the NLU
    # reads a lost licence, which would start a check; it is the same question.
    tracker = make_tracker(
        {"sujet_en_attente": "cost", "demarche": "cg_duplicata"},
        text="non un nouveau permis si je l'ai perdu",
    )
    tracker.latest_message["intent"] = {"name": "lost_or_stolen_licence"}
    tracker.latest_message["entities"] = [{"entity": "circonstance", "value": "perte"}]
    tracker.events = AFTER_A_TOPIC
    responses, events = run(ActionChooseProcedure(), tracker, domain)
    assert responses == ["utter_procedure_cost_permis_perte"]
    assert SlotSet("demarche", "permis_perte") in events


def test_words_naming_another_procedure_win_over_the_intent(domain: dict) -> None:
    # Read as a carte grise duplicate by the NLU ("duplicata"), named as the licence's.
    tracker = make_tracker({}, text="je veux faire un duplicata de permis")
    tracker.latest_message["intent"] = {"name": "duplicate_registration"}
    responses, events = run(ActionChooseProcedure(), tracker, domain)
    assert responses == ["utter_checklist_intro_permis_perte"]
    assert SlotSet("demarche", "permis_perte") in events


@pytest.mark.parametrize(
    ("said", "intent", "response"),
    [
        (
            "cb coute la carte grise pour une voiture d occasion que jai acheter a un particulier",
            "buy_used_vehicle",
            "utter_procedure_cost_cg_changement_titulaire_occasion",
        ),
        (
            "Bonjour madame je voudrais savoir le délai pour déclarer la vente de ma voiture",
            "sell_vehicle",
            "utter_procedure_deadline_cg_declaration_cession",
        ),
        (
            "j'ai acheté une voiture d'occasion, il faut combien de papiers ?",
            "buy_used_vehicle",
            "utter_checklist_intro_cg_changement_titulaire_occasion",
        ),
        (
            "j'ai acheté une voiture d'occasion",
            "buy_used_vehicle",
            "utter_checklist_intro_cg_changement_titulaire_occasion",
        ),
    ],
)
def test_a_price_or_delay_asked_in_words_is_answered_whatever_the_intent(
    domain: dict, said: str, intent: str, response: str
) -> None:
    tracker = make_tracker({}, text=said)
    tracker.latest_message["intent"] = {"name": intent}
    assert run(ActionChooseProcedure(), tracker, domain)[0] == [response]


def test_the_detail_is_told_one_fact_per_message(domain: dict) -> None:
    tracker = make_tracker({"detail_offert": "where:cg_duplicata"})
    responses, events = run(ActionTellDetail(), tracker, domain)
    assert responses[0] == "utter_procedure_where_cg_duplicata_detail_1"
    assert len(responses) >= 2 and all(r in domain["responses"] for r in responses)
    assert events == [SlotSet("detail_offert", None)]
    responses, _ = run(ActionTellDetail(), make_tracker({}), domain)
    assert responses == ["utter_anything_else"]


def test_every_detail_offered_exists(domain: dict) -> None:
    for name, variations in domain["responses"].items():
        if "Voulez-vous le détail ?" in variations[0].get("text", ""):
            assert f"{name}_detail_1" in domain["responses"], name


AFTER_A_TOPIC = [
    {"event": "user", "text": "combien coûte une carte grise"},
    {"event": "action", "name": "action_answer_topic"},
    {"event": "action", "name": "action_listen"},
    {"event": "user", "text": "la suite"},
]
AFTER_SOMETHING_ELSE = [
    {"event": "user", "text": "merci"},
    {"event": "action", "name": "utter_you_are_welcome"},
    {"event": "action", "name": "action_listen"},
    {"event": "user", "text": "la suite"},
]


# --- The check asks only what applies ------------------------------------------------------


def test_a_lost_carte_grise_is_not_asked_for_the_carte_grise() -> None:
    procedure = CATALOGUE.procedures["cg_duplicata"]
    known = known_conditions(procedure, "j'ai perdu ma carte grise", CONDITIONS)
    assert known == {"condition_carte_grise_abimee": NO}
    slots = question_slots(procedure, known, CONDITIONS)
    assert "piece_certificat_immatriculation" not in slots
    assert "condition_carte_grise_abimee" not in [s for s in slots if known.get(s) is None]
    assert "piece_declaration_perte_vol_carte_grise" in slots
    # "oui" to everything asked: the carte grise is not among what is ready.
    answers = {**known, **{slot: YES for slot in slots if slot not in known}}
    summary = summarise(procedure, answers, CONDITIONS)
    assert "certificat_immatriculation" not in summary.ready
    assert "certificat_immatriculation" in summary.not_concerned


def test_a_damaged_carte_grise_is_asked_for_and_no_loss_declaration() -> None:
    procedure = CATALOGUE.procedures["cg_duplicata"]
    known = known_conditions(procedure, "ma carte grise est toute déchirée", CONDITIONS)
    assert known == {"condition_carte_grise_abimee": YES}
    slots = question_slots(procedure, known, CONDITIONS)
    assert "piece_certificat_immatriculation" in slots
    assert "piece_declaration_perte_vol_carte_grise" not in slots


def test_the_check_started_by_a_loss_remembers_it(domain: dict) -> None:
    tracker = make_tracker({}, text="j'ai perdu ma carte grise")
    tracker.latest_message["intent"] = {"name": "duplicate_registration"}
    responses, events = run(ActionChooseProcedure(), tracker, domain)
    assert responses == ["utter_checklist_intro_cg_duplicata"]
    assert SlotSet("condition_carte_grise_abimee", NO) in events


def test_a_condition_is_one_question_asked_once_before_its_documents() -> None:
    procedure = CATALOGUE.procedures["cg_changement_adresse"]
    slots = question_slots(procedure, {}, CONDITIONS)
    # Not asked yet: the condition comes first, its document after the answer.
    assert slots.count("condition_heberge") == 1
    assert "piece_attestation_hebergement" not in slots
    answered = {s: YES for s in slots[: slots.index("condition_heberge")]}
    no = question_slots(procedure, {**answered, "condition_heberge": NO}, CONDITIONS)
    assert "piece_attestation_hebergement" not in no
    yes = question_slots(procedure, {**answered, "condition_heberge": YES}, CONDITIONS)
    assert yes.index("piece_attestation_hebergement") == yes.index("condition_heberge") + 1
    doubt = question_slots(procedure, {**answered, "condition_heberge": DONT_KNOW}, CONDITIONS)
    assert "piece_attestation_hebergement" in doubt  # never skipped by doubt


def test_a_condition_shared_by_two_documents_is_asked_once() -> None:
    procedure = CATALOGUE.procedures["permis_validation_diplome_conversion"]
    slots = question_slots(procedure, {"condition_brevet_militaire": NO}, CONDITIONS)
    assert "piece_attestation_reussite_titre_pro" in slots
    assert "piece_volet_conversion_brevet_militaire" not in slots
    assert "condition_brevet_c" not in slots  # asked only for a military licence
    slots = question_slots(procedure, {"condition_brevet_militaire": YES}, CONDITIONS)
    assert slots.count("condition_brevet_militaire") == 1
    assert "condition_brevet_c" in slots
    assert "piece_attestation_reussite_titre_pro" not in slots


def test_a_condition_read_from_another_answer_is_not_asked() -> None:
    procedure = CATALOGUE.procedures["cg_vehicule_neuf"]
    slots = question_slots(procedure, {}, CONDITIONS)
    assert not [s for s in slots if "a_cerfa_13749" in s]
    has = question_slots(procedure, {"piece_formulaire_cerfa_13749": YES}, CONDITIONS)
    assert "piece_formulaire_cerfa_13750" not in has
    lacks = question_slots(procedure, {"piece_formulaire_cerfa_13749": NO}, CONDITIONS)
    assert "piece_formulaire_cerfa_13750" in lacks


@pytest.mark.parametrize("procedure", sorted(CATALOGUE.procedures))
def test_every_condition_has_its_question(domain: dict, procedure: str) -> None:
    for condition in CATALOGUE.procedures[procedure].conditions:
        info = CONDITIONS[condition]
        if info.document is None:
            asked = domain["responses"][f"utter_ask_checklist_form_condition_{condition}"]
            assert asked[0]["text"].endswith("?") or "?" in asked[0]["text"]
            assert f"condition_{condition}" in domain["slots"]


# --- Answers in a sentence -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("said", "meaning"),
    [
        ("oui le vendeur me l'a donnée barrée", YES),
        ("Oui, je l'ai dans mon tiroir", YES),
        ("ouais", YES),
        ("je l'ai", YES),
        ("non je l'ai pas encore", NO),
        ("Non.", NO),
        ("pas encore, il doit me l'envoyer", NO),
        ("j'en ai pas", NO),
        ("je crois pas", DONT_KNOW),
        ("euh je sais pas trop", DONT_KNOW),
        ("peut-être, faut que je regarde", DONT_KNOW),
        ("jsp", DONT_KNOW),
        ("je l'ai perdu", NO),
        ("oui mais il est périmé depuis mars", DONT_KNOW),
        ("si on me le demande", None),
        ("c'est quoi ?", None),
        ("retour", None),
        ("combien ça coûte", None),
    ],
)
def test_sentence_answers_are_read(said: str, meaning: str | None) -> None:
    assert read_answer(said) == meaning


def test_a_sentence_answer_fills_the_question_whatever_the_intent(domain: dict) -> None:
    slots = {
        "demarche": "cg_changement_titulaire_occasion",
        "requested_slot": "piece_certificat_immatriculation",
    }
    tracker = make_tracker(slots, "oui le vendeur me l'a donnée barrée", "checklist_form")
    tracker.latest_message["intent"] = {"name": "buy_used_vehicle"}
    tracker.events = [{"event": "user", "text": "oui le vendeur me l'a donnée barrée"}]
    responses, events = run(ValidateChecklistForm(), tracker, domain)
    assert SlotSet("piece_certificat_immatriculation", YES) in events
    assert "utter_checklist_intro_cg_changement_titulaire_occasion" not in responses


def test_a_doubtful_no_is_dont_know_and_gets_the_rule(domain: dict) -> None:
    slots = {"demarche": "permis_perte", "requested_slot": "piece_justificatif_domicile"}
    tracker = make_tracker(slots, "je crois pas", "checklist_form")
    tracker.latest_message["intent"] = {"name": "deny"}
    # As Rasa sends it for validation: the candidate after a mark of the form's own run.
    tracker.events = [
        {"event": "user", "text": "je crois pas"},
        {"event": "slot", "name": "piece_justificatif_domicile", "value": NO},
        {"event": "slot", "name": "requested_slot", "value": "piece_justificatif_domicile"},
        {"event": "action", "name": "checklist_form"},
        {"event": "slot", "name": "piece_justificatif_domicile", "value": NO},
    ]
    responses, events = run(ValidateChecklistForm(), tracker, domain)
    assert SlotSet("piece_justificatif_domicile", DONT_KNOW) in events
    assert responses == ["utter_explain_piece_justificatif_domicile"]


def test_words_already_acted_on_are_no_answer(domain: dict) -> None:
    # "je sais pas ce que c'est" was explained by the explain rule: the form, run next, does
    # not take it as "je ne sais pas" to the question it asks again.
    slots = {"demarche": "permis_perte", "requested_slot": "piece_timbre_fiscal"}
    tracker = make_tracker(slots, "je sais pas ce que c'est un timbre fiscal", "checklist_form")
    tracker.latest_message["intent"] = {"name": "explain_document"}
    tracker.events = [
        {"event": "user", "text": "je sais pas ce que c'est un timbre fiscal"},
        {"event": "action", "name": "action_explain_current_piece"},
    ]
    _, events = run(ValidateChecklistForm(), tracker, domain)
    assert [e for e in events if e.get("name") == "piece_timbre_fiscal"] == []


def test_a_message_not_understood_is_read_before_the_hint(domain: dict) -> None:
    slots = {"demarche": "permis_perte", "requested_slot": "condition_heberge"}
    tracker = make_tracker(slots, "non j'habite chez moi depuis 30 ans", "checklist_form")
    responses, events = run(ActionChecklistHint(), tracker, domain)
    assert events == [SlotSet("condition_heberge", NO)] and responses == []
    slots = {"demarche": "permis_perte", "requested_slot": "piece_timbre_fiscal"}
    tracker = make_tracker(slots, "je crois pas l'avoir acheté", "checklist_form")
    responses, events = run(ActionChecklistHint(), tracker, domain)
    assert events == [SlotSet("piece_timbre_fiscal", DONT_KNOW)]
    assert responses == ["utter_explain_piece_timbre_fiscal"]  # the form will not say it
    tracker = make_tracker(slots, "il fait beau aujourd'hui", "checklist_form")
    responses, events = run(ActionChecklistHint(), tracker, domain)
    assert events == [] and responses == ["utter_checklist_answer_hint"]


def test_the_summary_leaves_out_what_does_not_apply(domain: dict) -> None:
    procedure = CATALOGUE.procedures["permis_perte"]
    slots = question_slots(procedure, {"condition_categorie_lourde": NO}, CONDITIONS)
    answers = {"demarche": "permis_perte", "condition_categorie_lourde": NO}
    for condition in ("condition_etranger_hors_ue", "condition_etranger_ue", "condition_heberge"):
        answers[condition] = NO
    answers.update(
        {s: YES for s in question_slots(procedure, answers, CONDITIONS) if s not in answers}
    )
    assert slots
    summary = summarise(procedure, answers, CONDITIONS)
    assert "avis_medical" in summary.not_concerned
    assert "titre_sejour" in summary.not_concerned
    assert "justificatif_identite" in summary.ready
    assert ActionChecklistSummary  # the action uses the same summarise, with the catalogue's
