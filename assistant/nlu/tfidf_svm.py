"""TF-IDF weighting and a calibrated linear SVM over named blocks of sparse features.

Kept free of Rasa imports so it can be tested in a second; the Rasa component in
`tfidf_svm_classifier.py` only gathers the features and calls this module.
"""

import weakref
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import skops.io as sio
from scipy.sparse import csr_matrix, hstack
from scipy.special import expit
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfTransformer
from sklearn.svm import LinearSVC

# What a stored model may contain; a file holding anything else is refused.
TRUSTED_TYPES = [
    "assistant.nlu.tfidf_svm.TfidfSvmModel",
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    "scipy.sparse._csr.csr_matrix",  # the IDF weights, as TfidfTransformer keeps them
]


class TfidfSvmModel:
    """Weigh each block of features by TF-IDF, then rank labels with calibrated probabilities.

    Each block (words, character n-grams, regexes) is normalised on its own, so a long
    sentence's many character n-grams do not drown its few words.
    """

    def __init__(
        self,
        c: float = 1.0,
        class_weight: str | None = "balanced",
        calibration_folds: int = 5,
        sublinear_tf: bool = True,
        random_state: int = 42,
    ) -> None:
        self.c = c
        self.class_weight = class_weight
        self.calibration_folds = calibration_folds
        self.sublinear_tf = sublinear_tf
        self.random_state = random_state
        self.block_names: list[str] = []
        self.weights: list[TfidfTransformer] = []
        self.classifier: CalibratedClassifierCV | None = None

    @property
    def labels(self) -> list[str]:
        """The labels the model was trained on, in the order of `predict_proba`'s columns."""
        if self.classifier is None:
            return []
        return [str(label) for label in self.classifier.classes_]

    def fit(self, blocks: Mapping[str, csr_matrix], labels: Sequence[str]) -> "TfidfSvmModel":
        """Learn the IDF of each block and the classifier; every label needs two examples."""
        counts = Counter(labels)
        if len(counts) < 2:
            raise ValueError("the intent classifier needs at least two intents to tell apart")
        rarest, fewest = min(counts.items(), key=lambda item: item[1])
        if fewest < 2:
            raise ValueError(f"intent '{rarest}' has one example; each intent needs two or more")
        self.block_names = sorted(blocks)
        self.weights = [
            TfidfTransformer(sublinear_tf=self.sublinear_tf).fit(blocks[name])
            for name in self.block_names
        ]
        svm = LinearSVC(C=self.c, class_weight=self.class_weight, random_state=self.random_state)
        calibrated = CalibratedClassifierCV(svm, cv=min(self.calibration_folds, fewest))
        # An array, not a list: scikit-learn 1.1 compares the labels with `==` when it checks
        # that each calibration fold holds every label.
        self.classifier = calibrated.fit(self._weigh(blocks), np.asarray(labels))
        return self

    def predict_proba(self, blocks: Mapping[str, csr_matrix]) -> np.ndarray:
        """One row per example, one column per label of `labels`; a missing block is zeros."""
        if self.classifier is None:
            raise RuntimeError("the intent classifier is used before it was trained")
        features = self._weigh(blocks)
        if len(self.labels) < 3:  # scikit-learn's binary case: rare, left to it
            return self.classifier.predict_proba(features)
        ensemble = _ENSEMBLES.get(self)
        if ensemble is None:
            ensemble = _ENSEMBLES[self] = CalibratedEnsemble.of(self.classifier)
        return ensemble.predict_proba(features)

    def _weigh(self, blocks: Mapping[str, csr_matrix]) -> csr_matrix:
        unknown = set(blocks) - set(self.block_names)
        if unknown:
            raise ValueError(f"feature blocks unknown to the model: {sorted(unknown)}")
        if not blocks:
            raise ValueError("no feature block given: is a featurizer missing from the pipeline?")
        rows = {block.shape[0] for block in blocks.values()}
        if len(rows) != 1:
            raise ValueError(f"feature blocks disagree on the number of examples: {rows}")
        (count,) = rows
        weighted = []
        for name, weight in zip(self.block_names, self.weights, strict=True):
            width = weight.idf_.shape[0]
            block = blocks.get(name, csr_matrix((count, width)))
            if block.shape[1] != width:
                raise ValueError(f"block '{name}' has {block.shape[1]} features, not {width}")
            weighted.append(weight.transform(block))
        return hstack(weighted, format="csr")


@dataclass(frozen=True)
class CalibratedEnsemble:
    """`CalibratedClassifierCV.predict_proba` (sigmoid, multiclass) as a few array operations.

    scikit-learn asks each of the ensemble's SVMs and each class's calibrator in turn, checking
    its input every time: about 3 ms per message, a tenth of Rasa's time per turn
    (docs/performance.md). The same arithmetic on stacked arrays gives the same probabilities
    (tests/nlu/test_tfidf_svm.py compares them) in a few hundredths of that.
    """

    coefficients: np.ndarray  # (members × labels, features): every SVM's weights, stacked
    intercepts: np.ndarray  # (members × labels,)
    slopes: np.ndarray  # (members, labels): the sigmoid calibrators' a, in label order
    offsets: np.ndarray  # (members, labels): their b
    columns: np.ndarray  # (members, labels): where each SVM's class goes among the labels

    @classmethod
    def of(cls, classifier: CalibratedClassifierCV) -> "CalibratedEnsemble":
        members = classifier.calibrated_classifiers_
        labels = list(classifier.classes_)
        return cls(
            coefficients=np.vstack([m.base_estimator.coef_ for m in members]),
            intercepts=np.concatenate([m.base_estimator.intercept_ for m in members]),
            slopes=np.array([[c.a_ for c in m.calibrators] for m in members]),
            offsets=np.array([[c.b_ for c in m.calibrators] for m in members]),
            columns=np.array(
                [[labels.index(label) for label in m.base_estimator.classes_] for m in members]
            ),
        )

    def predict_proba(self, features: csr_matrix) -> np.ndarray:
        members, width = self.slopes.shape
        decisions = np.asarray(features @ self.coefficients.T) + self.intercepts
        decisions = decisions.reshape(features.shape[0], members, width)
        calibrated = expit(-(self.slopes * decisions + self.offsets))
        proba = np.zeros_like(calibrated)
        for member in range(members):
            proba[:, member, self.columns[member]] = calibrated[:, member, :]
        total = proba.sum(axis=2, keepdims=True)
        proba = np.divide(proba, total, out=np.full_like(proba, 1 / width), where=total != 0)
        proba[(proba > 1.0) & (proba <= 1.0 + 1e-5)] = 1.0
        return proba.mean(axis=1)


# Built from a model the first time it predicts; kept out of the model so it is never saved.
_ENSEMBLES: "weakref.WeakKeyDictionary[TfidfSvmModel, CalibratedEnsemble]" = (
    weakref.WeakKeyDictionary()
)


def save(model: TfidfSvmModel, path: Path) -> None:
    """Write a trained model with skops, which, unlike pickle, can be checked before loading."""
    sio.dump(model, path)


def load(path: Path) -> TfidfSvmModel:
    """Read what `save` wrote, refusing a file that holds any other type."""
    untrusted = set(sio.get_untrusted_types(file=path)) - set(TRUSTED_TYPES)
    if untrusted:
        raise RuntimeError(f"{path} holds unexpected types, not loaded: {sorted(untrusted)}")
    model = sio.load(path, trusted=TRUSTED_TYPES)
    if not isinstance(model, TfidfSvmModel):
        raise RuntimeError(f"{path} does not hold a TfidfSvmModel")
    return model
