import pytest

from guichet.choices import buttons_of_last_answer, chosen_button

RENEW = [
    {"title": "Renouveler mon permis", "payload": "/renew_licence"},
    {"title": "Permis perdu ou volé", "payload": "/lost_or_stolen_licence"},
]
NOT_FOUND = [
    {"title": "Redonner la date", "payload": "/check_status"},
    {"title": "Redonner le numéro", "payload": "/give_number_again"},
    {"title": "Parler à quelqu'un", "payload": "/ask_human"},
]
CHECK = [
    {"title": "Oui", "payload": "/affirm"},
    {"title": "Non", "payload": "/deny"},
    {"title": "Je ne sais pas", "payload": "/dont_know"},
]


def payload(text: str, buttons: list[dict]) -> str | None:
    button = chosen_button(text, buttons)
    return button["payload"] if button else None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("le premier", "/renew_licence"),
        ("Le 1er", "/renew_licence"),
        ("premier", "/renew_licence"),
        ("1", "/renew_licence"),
        ("numéro 2", "/lost_or_stolen_licence"),
        ("le deuxième svp", "/lost_or_stolen_licence"),
        ("la 2eme", "/lost_or_stolen_licence"),
        ("le second", "/lost_or_stolen_licence"),
        ("le dernier", "/lost_or_stolen_licence"),
    ],
)
def test_ordinals_and_positions(text: str, expected: str) -> None:
    assert payload(text, RENEW) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Renouveler mon permis", "/renew_licence"),
        ("renouveler mon permis", "/renew_licence"),
        ("renouvellement", "/renew_licence"),
        ("perdu", "/lost_or_stolen_licence"),
        ("il est volé", "/lost_or_stolen_licence"),
    ],
)
def test_labels_and_close_words(text: str, expected: str) -> None:
    assert payload(text, RENEW) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("la date", "/check_status"),
        ("redonner le numero", "/give_number_again"),
        ("parler a quelqu'un", "/ask_human"),
        ("3", "/ask_human"),
        ("oui", "/affirm"),
    ],
)
def test_other_lists(text: str, expected: str) -> None:
    buttons = NOT_FOUND if expected != "/affirm" else CHECK
    assert payload(text, buttons) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("oui", "/affirm"), ("Non.", "/deny"), ("je sais pas", "/dont_know"), ("pas encore", None)],
)
def test_yes_no_dont_know(text: str, expected: str | None) -> None:
    assert payload(text, CHECK) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "4",  # no fourth button
        "0",
        "2611000002",  # a request number is an answer, not a position
        "12/03/1948",
        "merci",
        "bonjour",
        "permis",  # in both labels: not plain
        "en fait je veux vendre ma voiture",  # long: a message, not a choice
        "/renew_licence",
    ],
)
def test_what_is_not_plainly_a_choice(text: str) -> None:
    assert payload(text, RENEW) is None


def test_no_buttons_no_choice() -> None:
    assert chosen_button("le premier", []) is None


def test_the_buttons_are_those_since_the_last_message() -> None:
    events = [
        {"event": "user", "text": "bonjour"},
        {"event": "bot", "text": "a", "data": {"buttons": CHECK}},
        {"event": "user", "text": "aide"},
        {"event": "bot", "text": "b", "data": {"buttons": RENEW[:1]}},
        {"event": "action", "name": "action_listen"},
        {"event": "bot", "text": "c", "data": {"buttons": RENEW[1:]}},
    ]
    assert buttons_of_last_answer(events) == RENEW
    assert buttons_of_last_answer(events[:3]) == []
