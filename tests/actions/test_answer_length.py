"""Every message a person reads is short: at most three short sentences, about 300 characters.

Over the whole domain (hand-written and generated), default and voice variations; the
"plus simple" variations are shorter still by design. A failure names each offender.
"""

import pytest

from guichet.answers import MAX_CHARACTERS, MAX_SENTENCES, is_short, sentence_count


def _simple(variation: dict) -> bool:
    return any(c.get("name") == "simple_mode" for c in variation.get("condition") or [])


def test_every_default_message_is_short(domain: dict) -> None:
    offenders = [
        f"{name} [{variation.get('channel', 'text')}] {len(text)} car., "
        f"{sentence_count(text)} phrases : {text[:70]}…"
        for name, variations in domain["responses"].items()
        for variation in variations
        if not _simple(variation)
        for text in [variation.get("text", "")]
        if not is_short(text)
    ]
    assert offenders == [], "\n".join(offenders)


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("Bonjour.", 1),
        ("Le prix est de 2,76 €. Payez par carte.", 2),
        ("Remplissez le cerfa n°13753. C'est tout !", 2),
        ("Voulez-vous le détail ?", 1),
        ("Dites « stop ». Ou « retour ».", 2),
        ("Sans point final", 1),
        ("Un. Deux. Trois. Quatre.", 4),
    ],
)
def test_sentences_are_counted_as_a_reader_sees_them(text: str, count: int) -> None:
    assert sentence_count(text) == count


def test_the_rule_refuses_a_wall_of_text() -> None:
    assert not is_short("Une phrase courte. " * 4)
    assert not is_short("x" * (MAX_CHARACTERS + 1))
    assert is_short("Une phrase. " * MAX_SENTENCES)
