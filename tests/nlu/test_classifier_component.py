"""The Rasa component around the intent model: messages as Rasa's featurizers leave them."""

import warnings

from tests.nlu.conftest import featurise

# Rasa's component machinery imports TensorFlow 2.12, Keras and JAX, whose modules raise
# DeprecationWarnings (and a SyntaxWarning-turned-error in Keras) while they load: silenced
# for these imports only; the test itself runs with warnings as errors.
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource
    from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, INTENT, TEXT
    from rasa.shared.nlu.training_data.features import Features
    from rasa.shared.nlu.training_data.message import Message

    from assistant.nlu.tfidf_svm_classifier import TfidfSvmIntentClassifier


def featured(text: str, words, chars) -> Message:
    """A message with the sentence features the two CountVectorsFeaturizers would add."""
    message = Message(data={TEXT: text})
    blocks, _, _ = featurise([text], words, chars)
    for origin, block in blocks.items():
        message.add_features(Features(block, FEATURE_TYPE_SENTENCE, TEXT, origin))
    return message


def test_a_message_without_features_gets_no_intent_and_the_others_are_classified(trained, tmp_path):
    model, words, chars = trained
    classifier = TfidfSvmIntentClassifier(
        {}, LocalModelStorage(tmp_path), Resource("intent_classifier"), model
    )
    empty = Message(data={TEXT: "?"})  # the tokenizer keeps nothing, so no feature is made
    greeting = featured("bonjour", words, chars)

    returned = classifier.process([empty, greeting])

    assert returned == [empty, greeting]
    assert empty.get(INTENT) == {"name": None, "confidence": 0.0}
    assert empty.get("intent_ranking") == []
    assert greeting.get(INTENT)["name"] == "greet"


def test_a_change_of_the_classifier_code_changes_its_training_fingerprint(tmp_path, monkeypatch):
    """Rasa's training cache keys a component by config and inputs: the code must count too."""
    from assistant.nlu import tfidf_svm_classifier as module

    package = tmp_path / "nlu"
    package.mkdir()
    (package / "tfidf_svm.py").write_text("A = 1\n")
    monkeypatch.setattr(module, "__file__", str(package / "tfidf_svm_classifier.py"))
    before = module.TfidfSvmIntentClassifier.fingerprint_addon({})
    (package / "tfidf_svm.py").write_text("A = 2\n")
    assert module.TfidfSvmIntentClassifier.fingerprint_addon({}) != before
