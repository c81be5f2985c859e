"""Text normalisation: the word-by-word path for recognizer text against the full rules."""

from __future__ import annotations

import random

import pytest

from careroute.classifier.normalize import _normalize_text, normalize

#: Words that exercise every rule that can act on lowercase text without digits
#: or punctuation: contractions with and without the apostrophe, a bare
#: apostrophe, and words the rules must leave alone.
WORDS = [
    "i", "im", "i'm", "cant", "can't", "cannot", "wont", "won't", "aint", "dont", "don't",
    "didnt", "wasnt", "shouldnt", "needn't", "you're", "we've", "they'll", "she'd", "it's",
    "what's", "o'clock", "'", "''", "'re", "x'", "chest", "pain", "not", "refill", "a",
]


def random_plain_text(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(0, 8))]
    gaps = [" " * rng.randint(1, 3) for _ in words]
    text = "".join(gap + word for gap, word in zip(gaps, words, strict=True))
    return text + " " * rng.randint(0, 2)


def test_normalize_plain_text_matches_full_rules() -> None:
    rng = random.Random(7)
    texts = [random_plain_text(rng) for _ in range(3000)]
    assert [normalize(text) for text in texts] == [_normalize_text(text) for text in texts]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("i cant breathe", "i can not breathe"),
        ("' ' '", ""),
        ("  im   here ", "i am here"),
        ("you're not", "you are not"),
    ],
)
def test_normalize_plain_text_case(text: str, expected: str) -> None:
    assert normalize(text) == expected


@pytest.mark.parametrize("text", ["It's 3 pm.", "no-show", "Chest pain; now"])
def test_normalize_other_text_uses_full_rules(text: str) -> None:
    assert normalize(text) == _normalize_text(text)
