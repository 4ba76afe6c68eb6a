import asyncio

import pytest
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from assistant.actions.accessibility import ActionRepeatLast, bot_turns
from assistant.actions.fallback import ActionDefaultAskAffirmation
from assistant.actions.help import ActionAnswerTopic
from assistant.actions.naming import comparable, named_in
from guichet.catalogue import get_catalogue
from tests.actions.conftest import make_tracker, sent

BUTTONS = [{"title": "Oui", "payload": "/affirm"}]
EVENTS = [
    {"event": "user", "text": "bonjour"},
    {"event": "bot", "text": "Bonjour.", "data": {}},
    {"event": "user", "text": "j'ai vendu ma voiture"},
    {"event": "bot", "text": "Vérifions.", "data": {}},
    {"event": "slot", "name": "demarche", "value": "cg_declaration_cession"},
    {"event": "bot", "text": "Avez-vous le certificat ?", "data": {"buttons": BUTTONS}},
    {"event": "user", "text": "répétez"},
]


def run(action, tracker, domain):  # type: ignore[no-untyped-def]
    dispatcher = CollectingDispatcher()
    asyncio.run(action.run(dispatcher, tracker, sent(action, domain)))
    return dispatcher.messages


def test_last_turn_is_what_came_after_the_previous_message() -> None:
    assert [e["text"] for e in bot_turns(EVENTS)[-1]] == [
        "Vérifions.",
        "Avez-vous le certificat ?",
    ]
    assert bot_turns(EVENTS[:1]) == []


def test_repeat_sends_the_same_texts_and_buttons(domain: dict) -> None:
    tracker = make_tracker({})
    tracker.events = EVENTS
    messages = run(ActionRepeatLast(), tracker, domain)
    assert [m["text"] for m in messages] == ["Vérifions.", "Avez-vous le certificat ?"]
    assert messages[1]["buttons"] == BUTTONS


def bot(text: str, response: str | None = None) -> dict:
    return {"event": "bot", "text": text, "data": {}, "metadata": {"utter_action": response}}


def test_repeat_after_slower_repeats_the_answer_before(domain: dict) -> None:
    tracker = make_tracker({})
    tracker.events = [
        {"event": "user", "text": "où en est mon dossier"},
        bot("Votre demande est en cours.", "utter_status_en_instruction"),
        {"event": "user", "text": "plus lentement"},
        bot("D'accord. Je vais parler plus lentement.", "utter_ok_slower"),
        {"event": "user", "text": "répétez"},
    ]
    messages = run(ActionRepeatLast(), tracker, domain)
    # Said again by name: Rasa picks the variation for the conversation as it is now.
    assert [m["response"] for m in messages] == ["utter_status_en_instruction"]


def test_repeat_in_a_form_after_simpler_leaves_the_question_to_the_form(domain: dict) -> None:
    tracker = make_tracker({}, active_loop="checklist_form")
    tracker.events = [
        {"event": "user", "text": "plus simple"},
        bot("D'accord. Je le dis plus simplement.", "utter_ok_simpler"),
        bot(
            "Avez-vous la carte grise ?",
            "utter_ask_checklist_form_piece_certificat_immatriculation",
        ),
        {"event": "user", "text": "répétez"},
    ]
    assert run(ActionRepeatLast(), tracker, domain) == []


def test_repeat_with_nothing_said_yet(domain: dict) -> None:
    tracker = make_tracker({})
    tracker.events = [{"event": "user", "text": "répétez"}]
    assert [m["response"] for m in run(ActionRepeatLast(), tracker, domain)] == [
        "utter_nothing_to_repeat"
    ]


def topic(domain: dict, intent: str, procedure: str | None) -> str:
    tracker = make_tracker({"demarche": procedure})
    tracker.latest_message = {"intent": {"name": intent}, "entities": []}
    return run(ActionAnswerTopic(), tracker, domain)[0]["response"]


def test_topic_for_the_procedure_in_hand(domain: dict) -> None:
    assert topic(domain, "fees_question", "permis_perte") == "utter_procedure_cost_permis_perte"
    assert (
        topic(domain, "deadline_question", "cg_duplicata")
        == "utter_procedure_deadline_cg_duplicata"
    )
    assert topic(domain, "urgent_case", "permis_vol") == "utter_procedure_temporary_permis_vol"
    assert topic(domain, "fees_question", None) == "utter_cost_general"
    for name in ("utter_cost_general", "utter_deadline_general", "utter_temporary_general"):
        assert name in domain["responses"]


def answer_topic(domain: dict, text: str, intent: str, slots: dict, loop: str | None = None):  # type: ignore[no-untyped-def]
    tracker = make_tracker(slots, text=text, active_loop=loop)
    tracker.latest_message["intent"] = {"name": intent}
    dispatcher = CollectingDispatcher()
    action = ActionAnswerTopic()
    events = asyncio.run(action.run(dispatcher, tracker, sent(action, domain)))
    return [m["response"] for m in dispatcher.messages], events


def test_a_procedure_named_in_the_question_is_answered_and_remembered(domain: dict) -> None:
    said = "combien coute la carte grise d'une voiture d'occasion"
    responses, events = answer_topic(domain, said, "fees_question", {})
    assert responses == ["utter_procedure_cost_cg_changement_titulaire_occasion"]
    assert SlotSet("demarche", "cg_changement_titulaire_occasion") in events


def test_a_procedure_named_during_a_check_does_not_change_the_check(domain: dict) -> None:
    slots = {"demarche": "permis_perte"}
    said = "et pour un duplicata de carte grise c'est combien de temps"
    responses, events = answer_topic(domain, said, "deadline_question", slots, "checklist_form")
    assert responses == ["utter_procedure_deadline_cg_duplicata"]
    assert [e for e in events if e["name"] == "demarche"] == []


PROCEDURE_NAMES = get_catalogue().procedure_names


@pytest.mark.parametrize("procedure", sorted(PROCEDURE_NAMES))
def test_every_name_of_a_procedure_leads_to_it(procedure: str) -> None:
    assert PROCEDURE_NAMES[procedure], f"{procedure} has no name people could use"
    for name in PROCEDURE_NAMES[procedure]:
        assert named_in(f"combien ça coûte, {name} ?", PROCEDURE_NAMES) == procedure, name


def test_no_name_belongs_to_two_procedures() -> None:
    owners: dict[str, set[str]] = {}
    for procedure, names in PROCEDURE_NAMES.items():
        for name in names:
            owners.setdefault(comparable(name), set()).add(procedure)
    assert {name: found for name, found in owners.items() if len(found) > 1} == {}


def test_lost_licence_cost_names_the_25_euro_stamp(domain: dict) -> None:
    text = domain["responses"]["utter_procedure_cost_permis_perte"][0]["text"]
    assert "25 €" in text


def test_did_you_mean_uses_french_words(domain: dict) -> None:
    tracker = make_tracker({})
    tracker.latest_message = {
        "intent": {"name": "nlu_fallback"},
        "intent_ranking": [
            {"name": "nlu_fallback", "confidence": 0.45},
            {"name": "fees_question", "confidence": 0.3},
        ],
    }
    message = run(ActionDefaultAskAffirmation(), tracker, domain)[0]
    assert message["response"] == "utter_affirmation_question"
    assert message["sujet"] == "savoir combien ça coûte"
    assert message["intent"] == "fees_question"


def test_did_you_mean_without_a_known_subject_asks_to_rephrase(domain: dict) -> None:
    tracker = make_tracker({})
    tracker.latest_message = {"intent_ranking": [{"name": "greet", "confidence": 0.3}]}
    assert run(ActionDefaultAskAffirmation(), tracker, domain)[0]["response"] == (
        "utter_ask_rephrase"
    )


def test_did_you_mean_never_offers_an_unlikely_second_guess(domain: dict) -> None:
    tracker = make_tracker({})
    tracker.latest_message = {
        "intent_ranking": [
            {"name": "nlu_fallback", "confidence": 0.45},
            {"name": "thank", "confidence": 0.489},
            {"name": "goodbye", "confidence": 0.488},
            {"name": "address_change", "confidence": 0.003},
        ]
    }
    assert run(ActionDefaultAskAffirmation(), tracker, domain)[0]["response"] == (
        "utter_ask_rephrase"
    )


def fallback_ranking(*guesses: tuple[str, float]) -> dict:
    return {
        "intent": {"name": "nlu_fallback", "confidence": 0.45},
        "intent_ranking": [{"name": "nlu_fallback", "confidence": 0.45}]
        + [{"name": name, "confidence": confidence} for name, confidence in guesses],
    }


def test_unsure_offers_the_two_best_guesses_a_choice_and_a_person(domain: dict) -> None:
    tracker = make_tracker({})
    tracker.latest_message = fallback_ranking(
        ("check_status", 0.28), ("deadline_question", 0.27), ("urgent_case", 0.17)
    )
    message = run(ActionDefaultAskAffirmation(), tracker, domain)[0]
    assert message["response"] == "utter_affirmation_two_guesses"
    assert (message["intent_1"], message["intent_2"]) == ("check_status", "deadline_question")
    subjects = domain["responses"]
    assert message["sujet_1"] == subjects["utter_subject_check_status"][0]["text"]
    assert message["sujet_2"] == subjects["utter_subject_deadline_question"][0]["text"]
    # The response the action names fills one button per guess, then the two ways out.
    buttons = subjects["utter_affirmation_two_guesses"][0]["buttons"]
    assert [b["payload"] for b in buttons] == [
        "/{intent_1}",
        "/{intent_2}",
        "/out_of_scope",
        "/ask_human",
    ]
    assert [b["title"] for b in buttons[2:]] == ["Autre chose", "Parler à quelqu'un"]


def test_unsure_skips_what_it_cannot_name_and_the_person_it_always_offers(
    domain: dict,
) -> None:
    tracker = make_tracker({})
    tracker.latest_message = fallback_ranking(
        ("out_of_scope", 0.36), ("ask_human", 0.3), ("cannot_reach_ants", 0.25),
        ("site_bug", 0.2),
    )  # fmt: skip
    message = run(ActionDefaultAskAffirmation(), tracker, domain)[0]
    assert (message["intent_1"], message["intent_2"]) == ("cannot_reach_ants", "site_bug")


def test_unsure_offers_one_guess_when_the_second_is_far_less_likely(domain: dict) -> None:
    tracker = make_tracker({})
    tracker.latest_message = fallback_ranking(("urgent_case", 0.44), ("renew_licence", 0.12))
    message = run(ActionDefaultAskAffirmation(), tracker, domain)[0]
    assert message["response"] == "utter_affirmation_question"
    assert message["intent"] == "urgent_case"
    payloads = [b["payload"] for b in domain["responses"][message["response"]][0]["buttons"]]
    assert payloads == ["/{intent}", "/out_of_scope", "/ask_human"]


def test_every_guess_the_fallback_can_offer_has_a_voice_wording(domain: dict) -> None:
    for response in ("utter_affirmation_question", "utter_affirmation_two_guesses"):
        variations = domain["responses"][response]
        voice = [v for v in variations if v.get("channel") == "voice"]
        assert voice and "buttons" not in voice[0], response


def test_repeat_inside_a_form_leaves_the_question_to_the_form(domain: dict) -> None:
    tracker = make_tracker({}, active_loop="checklist_form")
    tracker.events = EVENTS
    messages = run(ActionRepeatLast(), tracker, domain)
    assert [m["text"] for m in messages] == ["Vérifions."]
