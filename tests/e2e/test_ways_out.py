"""End to end, through the chat door: every question has a way out, simpler answers, typed
choices and dates with two-digit years (issue 12)."""

from tests.e2e.conftest import Person


def text(answers: list[str]) -> str:
    return " ".join(answers)


def titles(person: Person, message: str) -> tuple[str, list[str]]:
    """Send `message`; return the answer's text and the titles of its buttons."""
    answers = person.answers(message)
    said = " ".join(answer.get("text", "") for answer in answers)
    return said, [b["title"] for answer in answers for b in answer.get("buttons") or []]


# --- No number at hand, change of mind, wrong date.


def test_no_number_at_hand_says_where_to_find_it_then_a_person(person: Person) -> None:
    person.say("Où en est mon dossier ?")
    said, buttons = titles(person, "je l'ai pas mon numéro")
    assert "accusé d'enregistrement" in said and "Mes démarches" in said
    assert "ne semble pas complet" not in said
    assert "Quel est le numéro" not in said, "the form does not ask again"
    assert buttons == ["J'ai mon numéro", "Parler à quelqu'un", "Autre chose"]
    # "le deuxième", typed: the second button.
    assert "34 00" in text(person.say("le deuxième"))


def test_sms_spelling_without_the_number(person: Person) -> None:
    person.say("bjr je voudrai savoir ou en est ma cg")
    said = text(person.say("jsais pas ou il est le numero"))
    assert "accusé d'enregistrement" in said
    # The person finds it and comes back: the form starts again.
    assert "numéro de votre demande" in text(person.say("j'ai mon numéro"))


def test_two_numbers_that_cannot_be_one_then_where_to_find_it(person: Person) -> None:
    person.say("suivi de mon dossier")
    assert "ne semble pas complet" in text(person.say("1234"))
    said = text(person.say("98"))
    assert "accusé d'enregistrement" in said
    assert "Quel est le numéro" not in said


def test_a_change_of_mind_while_the_number_is_asked(person: Person) -> None:
    person.say("Où en est mon dossier ?")
    said = text(person.say("en fait je veux vendre ma voiture"))
    assert "ne semble pas complet" not in said
    assert "déclaration de vente" in said


def test_a_change_of_mind_while_the_date_is_asked(person: Person) -> None:
    person.say("où en est mon dossier 2611000008")
    said = text(person.say("non laissez, je veux savoir combien ça coûte"))
    assert "Je n'ai pas compris cette date" not in said
    assert "€" in said or "coût" in said or "prix" in said, said


def test_an_elderly_person_who_lost_the_licence_meanwhile(person: Person) -> None:
    person.say("Bonjour Madame, je voudrais savoir où en est mon dossier s'il vous plaît")
    said = text(person.say("attendez en fait c'est que j'ai perdu mon permis de conduire"))
    assert "ne semble pas complet" not in said
    assert "perte" in said or "perdu" in said, said


def test_after_a_wrong_date_only_the_date_is_asked_again(person: Person) -> None:
    person.say("Où en est mon dossier ?")
    person.say("2611000005")
    said, buttons = titles(person, "22/05/1972")
    assert "Vérifions la date de naissance" in said
    assert said.endswith("Quelle est votre date de naissance ? Par exemple : 12/03/1948.")
    assert "Quel est le numéro" not in said
    assert buttons == ["Redonner le numéro", "Parler à quelqu'un"]
    assert "envoyé par la Poste" in text(person.say("21/05/1972"))


def test_after_a_wrong_date_the_number_can_be_given_again(person: Person) -> None:
    person.conversation(["Où en est mon dossier ?", "2611000012", "19/08/1987"])
    # The button's label, typed.
    assert "numéro de votre demande" in text(person.say("redonner le numéro"))
    person.say("2611000010")
    assert "paiement" in text(person.say("08/04/1966"))


def test_after_a_wrong_date_a_person_says_it_in_words(person: Person) -> None:
    person.conversation(["ou en est ma demande", "2611000003", "30/11/1956"])
    assert "numéro de votre demande" in text(person.say("je me suis trompée de numéro"))


# --- "Je n'ai pas compris" / "plus simple".


def test_not_understood_says_the_status_again_simpler(person: Person) -> None:
    person.conversation(["Où en est mon dossier ?", "2611000002"])
    first = text(person.say("04/07/1961"))
    assert "Prochaine étape : envoyez les pièces demandées" in first
    again = text(person.say("j'ai pas compris"))
    assert "Votre demande est incomplète : il manque des pièces." in again
    assert "renouvellement du permis" in again
    assert "Prochaine étape : envoyez" not in again


def test_simpler_while_the_number_is_asked(person: Person) -> None:
    person.say("Où en est mon dossier ?")
    said = text(person.say("c'est trop compliqué, plus simple"))
    assert "Donnez le numéro de votre demande" in said


# --- Typed choices.


def test_typed_choices_work_like_buttons(person: Person) -> None:
    _, buttons = titles(person, "vous pouvez faire quoi ?")
    assert buttons[0] == "Où en est mon dossier ?"
    assert "numéro de votre demande" in text(person.say("le premier"))


def test_a_close_word_chooses_a_procedure(person: Person) -> None:
    _, buttons = titles(person, "je dois faire une démarche pour ma carte grise")
    assert "Déclaration de vente d'un véhicule" in buttons
    assert "déclaration de vente" in text(person.say("la vente"))


# --- Dates.


def test_a_two_digit_year_is_confirmed(person: Person) -> None:
    person.conversation(["Où en est mon dossier ?", "2611000002"])
    said, buttons = titles(person, "le 4 juillet 61")
    assert "04/07/1961, c'est bien ça ?" in said
    assert buttons == ["Oui", "Non"]
    assert "incomplète" in text(person.say("oui"))


def test_a_wrong_guess_asks_the_year_in_full(person: Person) -> None:
    person.conversation(["ma demande 2611000004 elle en est où"])
    assert "15/01/1999" in text(person.say("15/01/99"))
    assert "4 chiffres" in text(person.say("non"))
    assert "désolés" in text(person.say("15/01/1999"))


def test_a_number_and_a_date_in_one_sentence(person: Person) -> None:
    person.say("Bonjour, où en est ma demande ?")
    said = text(person.say("mon numero c 2611000001 et je suis né le 12 mars 1948"))
    assert "en cours d'instruction" in said
    assert "date de naissance" not in said


def test_a_number_and_a_date_in_the_first_message(person: Person) -> None:
    said = text(person.say("où en est mon dossier 2611000011 je suis née le 10/10/51"))
    assert "10/10/1951, c'est bien ça ?" in said
    assert "incomplète" in text(person.say("Oui"))


# --- No date at hand, time to look for the number, simpler check questions.


def test_no_date_of_birth_at_hand_says_whose_then_the_date_alone(person: Person) -> None:
    person.say("où en est mon dossier")
    person.say("2611000002")
    said, buttons = titles(person, "je sais pas")
    assert "carte d'identité" in said
    assert "Je n'ai pas compris cette date" not in said
    assert buttons == ["J'ai la date", "Parler à quelqu'un", "Autre chose"]
    # "J'ai la date": only the date is asked, the number kept.
    said = text(person.say("/check_status"))
    assert "date de naissance" in said and "numéro" not in said
    assert "justificatif de domicile" in text(person.say("04/07/1961"))


def test_time_to_look_for_the_number_then_giving_it(person: Person) -> None:
    person.say("bonjour je voudrai savoir ou en est mon dossier")
    said = text(person.say("attendez je cherche le papier"))
    assert "prenez votre temps" in said
    assert "ne semble pas complet" not in said
    assert "date de naissance" in text(person.say("2611000002"))


def test_back_with_the_number_after_being_told_where_it_is(person: Person) -> None:
    person.say("j'ai pas mon numéro de demande")
    assert "numéro de votre demande" in text(person.say("c'est bon je l'ai trouvé"))


def test_simpler_during_the_check_asks_the_question_in_plainer_words(person: Person) -> None:
    person.say("je veux vérifier ma demande de changement d'adresse carte grise")
    person.say("oui")  # the proof of address is recent
    said = text(person.say("plus simple"))
    assert "Habitez-vous chez quelqu'un d'autre ?" in said
    said = text(person.say("oui"))
    assert "La personne qui vous loge a-t-elle signé une attestation ?" in said
