"""Small hand-made intents and their features, shaped like Rasa's featurizers' output."""

import pytest
from scipy.sparse import csr_matrix
from sklearn.feature_extraction.text import CountVectorizer

from assistant.nlu.tfidf_svm import TfidfSvmModel

EXAMPLES = {
    "renew_licence": [
        "renouveler mon permis",
        "mon permis expire je dois le renouveler",
        "renouvellement du permis de conduire",
        "refaire mon permis périmé",
        "permis bientôt expiré",
    ],
    "sell_vehicle": [
        "vendre ma voiture",
        "je vends mon véhicule",
        "déclaration de cession de la voiture",
        "céder mon véhicule à un acheteur",
        "vente de ma voiture",
    ],
    "greet": ["bonjour", "bonsoir", "salut", "bonjour madame", "coucou"],
}


def featurise(texts, words=None, chars=None):
    """Blocks shaped like Rasa's: word counts and character n-gram counts."""
    words = words or CountVectorizer().fit([t for ts in EXAMPLES.values() for t in ts])
    chars = chars or CountVectorizer(analyzer="char_wb", ngram_range=(1, 4)).fit(
        [t for ts in EXAMPLES.values() for t in ts]
    )
    blocks = {"words": csr_matrix(words.transform(texts)), "chars": chars.transform(texts)}
    return blocks, words, chars


@pytest.fixture(scope="module")
def trained():
    texts = [t for ts in EXAMPLES.values() for t in ts]
    labels = [label for label, ts in EXAMPLES.items() for _ in ts]
    blocks, words, chars = featurise(texts)
    return TfidfSvmModel().fit(blocks, labels), words, chars
