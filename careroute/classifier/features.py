"""Word and character n-gram features, and a fast scorer for one partial at a time.

Training uses scikit-learn's ``TfidfVectorizer`` (word 1-3 grams and
character 2-5 grams inside word boundaries, which survive recognizer
misspellings such as "listen up or" for "lisinopril"). Scoring one short
partial through ``transform`` spends most of its time in input validation and
sparse-matrix set-up, so ``FastScorer`` recomputes the same tf-idf vector
with the fitted vocabulary and idf weights and multiplies it straight into
the linear models' coefficients. ``tests/unit/test_training.py`` checks that
both paths agree, and ``tests/unit/test_classifier_features.py`` that caching
character n-grams per word changes no bit of the vector.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from functools import lru_cache
from itertools import chain
from typing import Any

import numpy as np
from numpy.typing import NDArray

#: Single-letter words such as "i" and "a" matter in short partials, so keep them.
TOKEN_PATTERN = r"(?u)\b\w+\b"
#: Maximum words whose known character n-grams a ``_Part`` keeps. Each partial
#: of a call repeats the words of the one before it, so a few thousand cover
#: many calls at once. The cache contains single words of recent calls, in memory,
#: without order or call id.
WORD_CACHE_SIZE = 4096


def make_vectorizers() -> tuple[Any, Any]:
    """Return unfitted (word, char) vectorizers with the settings the artifact uses."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    # Word 1-3 grams, chosen by grouped cross-validation on the training data
    # (3686 utterances plus variants): the same queue accuracy as 1-2 grams
    # (0.9745 against 0.974), and the urgency head called half as many Vosk
    # partials emergencies (0.0041 against 0.0076).
    word = TfidfVectorizer(
        analyzer="word", ngram_range=(1, 3), token_pattern=TOKEN_PATTERN, lowercase=False,
        sublinear_tf=True, min_df=2, dtype=np.float32,
    )
    char = TfidfVectorizer(
        analyzer="char_wb", ngram_range=(2, 5), lowercase=False, sublinear_tf=True, min_df=3,
        max_features=60000, dtype=np.float32,
    )
    return word, char


def transform(vectorizers: tuple[Any, Any], texts: list[str]) -> Any:
    """Return the stacked sparse feature matrix of ``texts`` (model text, no breaks)."""
    from scipy.sparse import hstack

    return hstack([vectorizer.transform(texts) for vectorizer in vectorizers]).tocsr()


class _Part:
    """One fitted vectorizer reduced to what scoring needs."""

    def __init__(self, vectorizer: Any, offset: int) -> None:
        self.analyze: Callable[[str], list[str]] = vectorizer.build_analyzer()
        self.vocabulary: dict[str, int] = {
            term: int(index) + offset for term, index in vectorizer.vocabulary_.items()
        }
        self.idf: dict[int, float] = {
            int(index) + offset: float(vectorizer.idf_[index])
            for index in vectorizer.vocabulary_.values()
        }
        self.sublinear = bool(vectorizer.sublinear_tf)
        # "char_wb" n-grams never cross a space, so a text's n-grams are its
        # words' n-grams one after the other and each word's can be cached.
        self.per_word = vectorizer.analyzer == "char_wb"
        self._word_terms = lru_cache(maxsize=WORD_CACHE_SIZE)(self._known_terms)

    def _known_terms(self, text: str) -> tuple[int, ...]:
        """Return the vocabulary indices of the known n-grams of ``text``, in order."""
        indices = (self.vocabulary.get(term) for term in self.analyze(text))
        return tuple(index for index in indices if index is not None)

    def term_counts(self, text: str) -> Counter[int]:
        """Count the known n-grams of ``text`` by vocabulary index, in order of first occurrence."""
        if self.per_word:
            return Counter(chain.from_iterable(map(self._word_terms, text.split())))
        return Counter(self._known_terms(text))

    def features(self, text: str) -> tuple[list[int], list[float]]:
        """Return the l2-normalised tf-idf vector of ``text`` as (vocabulary indices, weights)."""
        # The order of the terms fixes the order of the float sums here and in
        # FastScorer, so it follows the analyzer's order as the uncached path does.
        counts = self.term_counts(text)
        idf = self.idf
        if self.sublinear:
            # Most n-grams occur once, and 1 + log(1) is exactly 1.0.
            weights = [
                (1.0 + math.log(count) if count > 1 else 1.0) * idf[index]
                for index, count in counts.items()
            ]
        else:
            weights = [float(count) * idf[index] for index, count in counts.items()]
        norm = math.sqrt(sum(value * value for value in weights))
        if norm == 0.0:
            return [], []
        return list(counts), [value / norm for value in weights]


class FastScorer:
    """Linear-model logits for one text, without scikit-learn's per-call overhead.

    Thread-safe: scoring only reads the fitted state.
    """

    def __init__(self, vectorizers: tuple[Any, Any], heads: list[tuple[Any, float]]) -> None:
        word, char = vectorizers
        self._word = _Part(word, 0)
        self._char = _Part(char, len(word.vocabulary_))
        self.word_vocabulary = word.vocabulary_
        coefs = [np.asarray(model.coef_, dtype=np.float64) for model, _ in heads]
        self._sizes = [c.shape[0] for c in coefs]
        # Columns are features, so one gather serves every head.
        self._coef_t: NDArray[np.float64] = np.ascontiguousarray(np.vstack(coefs).T)
        self._intercept = np.concatenate([np.asarray(m.intercept_, dtype=np.float64) for m, _ in heads])
        self._temperatures = [temperature for _, temperature in heads]

    def probabilities(self, text: str) -> list[NDArray[np.float64]]:
        """Return calibrated class probabilities of ``text`` for each head."""
        word_indices, word_weights = self._word.features(text)
        char_indices, char_weights = self._char.features(text)
        logits = self._intercept
        if word_indices or char_indices:
            indices = np.array(word_indices + char_indices, dtype=np.intp)
            weights = np.array(word_weights + char_weights, dtype=np.float64)
            logits = logits + weights @ self._coef_t[indices]
        result: list[NDArray[np.float64]] = []
        start = 0
        for size, temperature in zip(self._sizes, self._temperatures, strict=True):
            result.append(_softmax_1d(logits[start : start + size] / temperature))
            start += size
        return result


def _softmax_1d(logits: NDArray[np.float64]) -> NDArray[np.float64]:
    """Return ``softmax(logits)`` of a 1-D array: the same reductions without the per-call axis set-up."""
    exp = np.exp(logits - np.maximum.reduce(logits))
    result: NDArray[np.float64] = exp / np.add.reduce(exp)
    return result


def softmax(logits: NDArray[np.float64]) -> NDArray[np.float64]:
    """Return the softmax of a 1-D or 2-D (row-wise) logit array."""
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    result: NDArray[np.float64] = exp / exp.sum(axis=-1, keepdims=True)
    return result
