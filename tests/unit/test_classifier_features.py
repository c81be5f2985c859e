"""Fast scorer features: the per-word n-gram cache against the analyzer on whole texts."""

from __future__ import annotations

import math
from collections import Counter

import pytest

from careroute.classifier import Classifier
from careroute.classifier.features import _Part

TEXTS = [
    "",
    "hello",
    "i need a refill of listen up or",
    "my my my chest chest",
    "the the the the the the the the",
    "zzqx qqzz unknownword",
    "i am calling about my bill i am calling about my bill again",
    "a b c d e f",
]


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return Classifier.load()


def uncached_features(part: _Part, text: str) -> tuple[list[int], list[float]]:
    """Compute the tf-idf vector from the analyzer's output for the whole text, term by term."""
    weighted: list[tuple[int, float]] = []
    for term, count in Counter(part.analyze(text)).items():
        index = part.vocabulary.get(term)
        if index is None:
            continue
        tf = 1.0 + math.log(count) if part.sublinear else float(count)
        weighted.append((index, tf * part.idf[index]))
    norm = math.sqrt(sum(value * value for _, value in weighted))
    if norm == 0.0:
        return [], []
    return [index for index, _ in weighted], [value / norm for _, value in weighted]


def test_features_char_part_caches_per_word(classifier: Classifier) -> None:
    assert classifier._scorer._char.per_word


def test_features_word_part_analyzes_whole_text(classifier: Classifier) -> None:
    assert not classifier._scorer._word.per_word


@pytest.mark.parametrize("text", TEXTS)
def test_features_char_cache_matches_analyzer(classifier: Classifier, text: str) -> None:
    part = classifier._scorer._char
    assert part.features(text) == uncached_features(part, text)


@pytest.mark.parametrize("text", TEXTS)
def test_features_word_part_matches_analyzer(classifier: Classifier, text: str) -> None:
    part = classifier._scorer._word
    assert part.features(text) == uncached_features(part, text)


def test_features_char_cache_repeat_call_equal(classifier: Classifier) -> None:
    part = classifier._scorer._char
    text = "please refill my metformin refill"
    first = part.features(text)
    assert part.features(text) == first
