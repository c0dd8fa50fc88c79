"""Baselines every leaderboard can show beside the models.

Each is a function ``(train, test) -> predictions`` (one per test example, in
order): majority class and TF-IDF + logistic regression (classification), the
first sentence (QA, and lead-1 for summarization), copy-source (translation),
retrieval of the reply to the most similar training turn (dialogue), and a
byte-unigram model (language modelling, in the per-document dict of SPEC §6).
"""

from __future__ import annotations

import math
from collections import Counter

from tasks.example import Example, first_sentence


class BaselineSkipped(Exception):
    """A baseline that cannot be fit on this task's data; ``reason`` says why (the
    evaluator records a "not applicable" row and carries on with the models)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


def majority(train: list[Example], test: list[Example]) -> list[str]:
    """The most frequent training label (ties: the alphabetically first)."""
    counts = Counter(ex.label for ex in train if ex.label is not None)
    if not counts:
        raise BaselineSkipped("no labelled training examples")
    label = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
    return [label] * len(test)


def tfidf_logreg(train: list[Example], test: list[Example], *, seed: int = 0) -> list[str]:
    """TF-IDF of word 1-2 grams + logistic regression (scikit-learn), fit on train."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    labels = [ex.label for ex in train]
    if len(set(labels)) < 2:
        raise BaselineSkipped(f"needs training examples of at least 2 labels, got {len(train)} "
                              f"example(s) of {len(set(labels))}")
    # min_df=2 drops one-off n-grams; a tiny training split would have none left.
    vec = TfidfVectorizer(ngram_range=(1, 2), min_df=2 if len(train) >= 20 else 1,
                          sublinear_tf=True, max_features=200_000)
    try:
        x_train = vec.fit_transform([str(ex.input) for ex in train])
    except ValueError as exc:  # sklearn: "empty vocabulary" (no words in the training text)
        raise BaselineSkipped(f"no usable training text ({exc})") from None
    clf = LogisticRegression(C=10.0, max_iter=2000, random_state=seed)
    clf.fit(x_train, labels)
    return [str(p) for p in clf.predict(vec.transform([str(ex.input) for ex in test]))]


def qa_first_sentence(train: list[Example], test: list[Example]) -> list[str]:
    """The first sentence of the context."""
    return [first_sentence(ex.input["context"]) for ex in test]  # type: ignore[index]


def lead_1(train: list[Example], test: list[Example]) -> list[str]:
    """The document's first sentence (lead-1)."""
    return [first_sentence(str(ex.input)) for ex in test]


def copy_source(train: list[Example], test: list[Example]) -> list[str]:
    """The source sentence itself (the floor a translation system must clear)."""
    return [str(ex.input) for ex in test]


def retrieval_reply(train: list[Example], test: list[Example]) -> list[str]:
    """The reply to the training turn most similar (TF-IDF cosine) to each test turn."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    if not train:
        raise BaselineSkipped("no training turns to retrieve from")
    vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
    try:
        x_train = vec.fit_transform([str(ex.input) for ex in train])
    except ValueError as exc:  # sklearn: "empty vocabulary"
        raise BaselineSkipped(f"no usable training text ({exc})") from None
    x_test = vec.transform([str(ex.input) for ex in test])
    out: list[str] = []
    for start in range(0, x_test.shape[0], 512):  # chunks keep the similarity matrix small
        sims = (x_test[start:start + 512] @ x_train.T).toarray()
        out.extend(train[int(i)].references[0] for i in sims.argmax(axis=1))
    return out


def unigram_bytes(train: list[Example], test: list[Example]) -> list[dict]:
    """A byte-unigram model (add-one smoothed) fit on the training text; one token per byte."""
    counts = Counter()
    for ex in train:
        counts.update(str(ex.input).encode("utf-8"))
    total = sum(counts.values()) + 256
    logp = [math.log((counts.get(b, 0) + 1) / total) for b in range(256)]
    best = max(range(256), key=lambda b: counts.get(b, 0))
    out = []
    for ex in test:
        data = str(ex.input).encode("utf-8")
        out.append({"token_logprobs": [logp[b] for b in data],
                    "token_correct": [b == best for b in data],
                    "n_bytes": len(data), "n_words": len(str(ex.input).split())})
    return out


def random_choice(train: list[Example], test: list[Example], *, seed: int = 0) -> list[int]:
    """A uniformly random choice per question (seeded by the example id): the chance row."""
    import random

    return [random.Random(f"{seed}:{ex.id}").randrange(len(ex.input["choices"]))  # type: ignore[index]
            for ex in test]


def cloze_unigram(train: list[Example], test: list[Example]) -> list[dict]:
    """Target words scored by their add-one unigram frequency among training targets;
    'greedy' when the target is the most frequent training target."""
    counts = Counter(ex.references[0] for ex in train if ex.references)
    total, vocab = sum(counts.values()), len(counts) + 1
    top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[0][0] if counts else None
    return [{"logprob": math.log((counts.get(ex.references[0], 0) + 1) / (total + vocab)),
             "is_greedy": ex.references[0] == top} for ex in test]
