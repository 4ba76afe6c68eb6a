from guichet.fallback import best_guesses

NAMED = {"check_status", "deadline_question", "fees_question", "address_change", "site_bug"}


def ranking(*entries: tuple[str, float]) -> list[dict]:
    return [{"name": name, "confidence": confidence} for name, confidence in entries]


def test_two_close_guesses_are_both_offered_best_first() -> None:
    guesses = best_guesses(
        ranking(("nlu_fallback", 0.45), ("deadline_question", 0.27), ("check_status", 0.28)),
        NAMED.__contains__,
    )
    assert guesses == ["deadline_question", "check_status"]


def test_at_most_two_guesses() -> None:
    entries = ranking(("check_status", 0.3), ("site_bug", 0.3), ("fees_question", 0.3))
    assert best_guesses(entries, NAMED.__contains__) == ["check_status", "site_bug"]


def test_intents_it_cannot_name_and_the_person_are_skipped() -> None:
    entries = ranking(("thank", 0.5), ("ask_human", 0.4), ("site_bug", 0.2))
    assert best_guesses(entries, lambda name: name != "thank") == ["site_bug"]


def test_unlikely_guesses_are_not_offered() -> None:
    assert best_guesses(ranking(("address_change", 0.09)), NAMED.__contains__) == []
    entries = ranking(("check_status", 0.5), ("fees_question", 0.14))
    assert best_guesses(entries, NAMED.__contains__) == ["check_status"]
