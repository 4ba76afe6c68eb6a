"""The intent model behind TfidfSvmIntentClassifier, on small hand-made feature blocks."""

import numpy as np
import pytest
import skops.io as sio
from scipy.sparse import csr_matrix

from assistant.nlu import tfidf_svm
from assistant.nlu.tfidf_svm import TfidfSvmModel
from tests.nlu.conftest import featurise


def test_ranks_unseen_sentences_with_probabilities(trained):
    model, words, chars = trained
    blocks, _, _ = featurise(["je veux vendre mon vehicule", "bonjour"], words, chars)
    probabilities = model.predict_proba(blocks)
    assert probabilities.shape == (2, 3)
    assert np.allclose(probabilities.sum(axis=1), 1.0)
    best = [model.labels[i] for i in probabilities.argmax(axis=1)]
    assert best == ["sell_vehicle", "greet"]


def test_each_block_is_normalised_on_its_own(trained):
    model, words, chars = trained
    blocks, _, _ = featurise(["renouveler mon permis de conduire expiré"], words, chars)
    weighted = model._weigh(blocks).toarray()[0]
    width = model.weights[0].idf_.shape[0]
    assert model.block_names == ["chars", "words"]
    assert np.linalg.norm(weighted[:width]) == pytest.approx(1.0)
    assert np.linalg.norm(weighted[width:]) == pytest.approx(1.0)


def test_a_missing_block_counts_as_no_feature(trained):
    model, words, chars = trained
    blocks, _, _ = featurise(["vendre ma voiture"], words, chars)
    only_words = model.predict_proba({"words": blocks["words"]})
    assert model.labels[only_words.argmax()] == "sell_vehicle"


@pytest.mark.parametrize(
    ("blocks", "message"),
    [
        ({}, "no feature block"),
        ({"emoji": csr_matrix((1, 3))}, "unknown to the model"),
        ({"words": csr_matrix((1, 2))}, "features, not"),
    ],
)
def test_malformed_features_are_refused_clearly(trained, blocks, message):
    model, _, _ = trained
    with pytest.raises(ValueError, match=message):
        model.predict_proba(blocks)


def test_training_refuses_too_little_data():
    blocks = {"words": csr_matrix(np.eye(3))}
    with pytest.raises(ValueError, match="two intents"):
        TfidfSvmModel().fit(blocks, ["greet", "greet", "greet"])
    with pytest.raises(ValueError, match="'goodbye' has one example"):
        TfidfSvmModel().fit(blocks, ["greet", "greet", "goodbye"])


def test_calibration_uses_fewer_folds_when_an_intent_is_small():
    blocks = {"words": csr_matrix(np.eye(7))}
    model = TfidfSvmModel(calibration_folds=5).fit(blocks, ["a", "a", "a", "b", "b", "c", "c"])
    assert model.classifier.cv == 2
    assert model.labels == ["a", "b", "c"]


def test_prediction_before_training_is_an_error():
    with pytest.raises(RuntimeError, match="before it was trained"):
        TfidfSvmModel().predict_proba({"words": csr_matrix((1, 2))})


def test_a_saved_model_predicts_the_same_once_loaded(trained, tmp_path):
    model, words, chars = trained
    path = tmp_path / "model.skops"
    tfidf_svm.save(model, path)
    loaded = tfidf_svm.load(path)
    blocks, _, _ = featurise(["renouveler le permis"], words, chars)
    assert loaded.labels == model.labels
    assert np.allclose(loaded.predict_proba(blocks), model.predict_proba(blocks))


class Intruder:
    """A type no stored intent model contains."""


def test_a_file_holding_other_types_is_not_loaded(tmp_path):
    path = tmp_path / "model.skops"
    sio.dump({"model": Intruder()}, path)
    with pytest.raises(RuntimeError, match="unexpected types"):
        tfidf_svm.load(path)


def test_stacked_ensemble_gives_scikit_learn_s_probabilities(trained):
    model, words, chars = trained
    texts = [
        "je veux vendre mon vehicule",
        "bonjour",
        "renouveler mon permis",
        "zzz qwerty",  # no known feature: every SVM gives its intercept only
        "",
    ]
    blocks, _, _ = featurise(texts, words, chars)
    expected = model.classifier.predict_proba(model._weigh(blocks))
    assert np.allclose(model.predict_proba(blocks), expected, rtol=0, atol=1e-12)
