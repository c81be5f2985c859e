"""Red-flag rules: categories, recognizer variants, negation scope and history."""

from __future__ import annotations

import json
import re._constants as sre_constants
import re._parser as sre_parser
from typing import Any

import pytest

from careroute.classifier.normalize import normalize
from careroute.classifier.redflags import _ANY_PATTERN, _PATTERNS, find_red_flags
from careroute.paths import repo_root


def categories(text: str) -> set[str]:
    return {hit.category for hit in find_red_flags(text)}


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("I have chest pain right now", "chest_pain"),
        ("he has chest pains going down his arm", "chest_pain"),
        ("there's a lot of pressure in my chest", "chest_pain"),
        ("no fever but my chest feels tight", "chest_pain"),
        ("no fever my chest feels tight", "chest_pain"),
        ("I think I'm having a heart attack", "chest_pain"),
        ("I can't breathe", "breathing"),
        ("i can not breathe", "breathing"),
        ("she is short of breath", "breathing"),
        ("shortness of breath since this morning", "breathing"),
        ("he is not breathing", "breathing"),
        ("my dad's face is drooping", "stroke"),
        ("her speech is slurred", "stroke"),
        ("I think she is having a stroke", "stroke"),
        ("he suddenly can't move his right arm", "stroke"),
        ("he's bleeding a lot and it won't stop", "bleeding"),
        ("the bandage is soaking right through", "bleeding"),
        ("I want to kill myself", "suicide"),
        ("I've been having suicidal thoughts", "suicide"),
        ("she took too many pills", "overdose"),
        ("my toddler swallowed some of my pills", "overdose"),
        ("his throat is closing up after the peanuts", "anaphylaxis"),
        ("we used her epipen", "anaphylaxis"),
        ("he's unresponsive", "unresponsive"),
        ("I can't wake him up", "unresponsive"),
        ("she's having a seizure right now", "seizure"),
        ("he is seizing on the floor", "seizure"),
        ("my two month old has a fever of one hundred and one", "infant_fever"),
        ("my newborn feels hot, the temperature is high", "infant_fever"),
    ],
)
def test_redflags_positive_case(text: str, category: str) -> None:
    assert category in categories(text)


@pytest.mark.parametrize(
    "text",
    [
        "no chest pain, just a cough",
        "I don't have chest pain or shortness of breath",
        "I'm not suicidal, I need my sertraline refilled",
        "there's no bleeding anymore",
        "she didn't have a seizure, she just fainted",
        "this bill almost gave me a heart attack",
        "he had a stroke last year and needs a follow up",
        "the bill from urgent care is wrong",
        "my baby has no fever, just a rash",
        "the infection is not responding to antibiotics",
        "I think I had food poisoning",
        "I got poison ivy on my arm",
        "I need a copy of my chest x ray report",
        "no pain in my chest, however my ankle hurts",
    ],
)
def test_redflags_negative_case(text: str) -> None:
    assert categories(text) == set()


# Vosk transcripts of the team's own red-flag sentences: the recurring
# near-misses the rules accept. Lowercase without punctuation, as Vosk writes.
@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("there is a lot of pressure and my chest and i am sweating", "chest_pain"),
        ("he is sitting down holding his chest", "chest_pain"),
        ("no fever but my chest still tight", "chest_pain"),
        ("it is my chest there is a heavy pressure", "chest_pain"),
        ("i am kind of having trouble reading right now", "breathing"),
        ("my baby is breeding really fast and has trouble breeding", "breathing"),
        ("he has barely breathing", "breathing"),
        ("my mother she not breathe good lip is blue", "breathing"),
        ("sucking in under the ribs", "breathing"),
        ("my father's faces drooping", "stroke"),
        ("my wife spaces drooping", "stroke"),
        ("her smile as lopsided", "stroke"),
        ("his mouth looks cricket", "stroke"),
        ("my wife is wearing her words", "stroke"),
        ("my mother's flooring her words", "stroke"),
        ("her words or jumble", "stroke"),
        ("i can't feel my right arm or leg", "stroke"),
        ("my nose have been bleeding from an hour and it's not not stop", "bleeding"),
        ("i've been thinking about killing my else", "suicide"),
        ("everyone would be better off if he was dead", "suicide"),
        ("she followed a whole bottle of tylenol", "overdose"),
        ("i swallowed a lot of sleeping pill", "overdose"),
        ("my son a the laundry pod", "overdose"),
        ("my daughter in having an allergic reaction", "anaphylaxis"),
        ("her lip are popping up", "anaphylaxis"),
        ("we gave her the epa been", "anaphylaxis"),
        ("her face is still swelling up", "anaphylaxis"),
        ("i can't wait my husband up", "unresponsive"),
        ("now she is a conscious on the floor", "unresponsive"),
        ("he is not responding to me", "unresponsive"),
        ("my son passed out and as it waking up", "unresponsive"),
        ("my son is shaking oil over", "seizure"),
        ("she just started having a fit and she is shaking", "seizure"),
    ],
)
def test_redflags_recognizer_variant(text: str, category: str) -> None:
    assert category in categories(text)


# Benign text near those variants: none of it may fire.
@pytest.mark.parametrize(
    "text",
    [
        "i am checking on the status of my refill",
        "i have trouble reading small print with these glasses",
        "the office is not responding to my emails",
        "he is conscious and talking now",
        "the baby fever one away and she is fine now",
        "i need a new epipen prescription mine expired",
        "my boss is having a fit about the bill",
        "i am worried about having an allergic reaction to the vaccine",
        "i need to buy more laundry detergent for the clinic",
        "she is wearing her glasses to read the words",
        "the bleeding stopped after an hour",
        "i want to reschedule my chest x ray",
        "my face is fine now the swelling went down",
        "i can not feel any pain in my knee anymore",
        "no chest pain and now i need a refill",
        "not short of breath just a cough",
        "no bleeding just a bruise",
    ],
)
def test_redflags_recognizer_variant_benign(text: str) -> None:
    assert categories(text) == set()


def test_redflags_scope_ends_at_and_now() -> None:
    assert "breathing" in categories("no fever and now she can not breathe")


def test_redflags_scope_ends_at_just() -> None:
    assert "stroke" in categories("no pain just her face is drooping")


def test_redflags_scope_ends_at_however_unpunctuated() -> None:
    assert "bleeding" in categories("not a cut however it is bleeding heavily")


def test_redflags_scope_ends_at_but() -> None:
    assert "chest_pain" in categories("no cough however I have chest pain")


def test_redflags_scope_ends_at_sentence_break() -> None:
    assert "stroke" in categories("No fever. His face is drooping.")


def test_redflags_scope_ends_at_although() -> None:
    assert "breathing" in categories("not a cold although she can't breathe well")


def test_redflags_reason_is_short_fixed_text() -> None:
    hits = find_red_flags("Maria Delgado says her chest pain is bad")
    assert [hit.reason for hit in hits] == ["chest pain"]


def test_redflags_reason_excludes_caller_text() -> None:
    hits = find_red_flags("Maria Delgado says her chest pain is bad")
    assert all("maria" not in (hit.reason + hit.phrase).lower() for hit in hits)


def test_redflags_emergencies_come_first() -> None:
    hits = find_red_flags("my baby has a fever and is not breathing")
    assert hits[0].urgency == "emergency"


def test_redflags_empty_text() -> None:
    assert find_red_flags("") == ()


def shortest_example(pattern: str) -> str:
    """Build a short text that ``pattern`` matches.

    It takes the first alternative of each group, the fewest repeats, and "x"
    for ``\\w``. The pattern is read by Python's own regex parser,
    ``re._parser``: private, and present from Python 3.11 on.
    """
    return _emit(sre_parser.parse(pattern))


def _emit(items: Any) -> str:
    parts: list[str] = []
    for op, value in items:
        if op is sre_constants.LITERAL:
            parts.append(chr(value))
        elif op is sre_constants.SUBPATTERN:
            parts.append(_emit(value[-1]))
        elif op is sre_constants.BRANCH:
            parts.append(_emit(value[1][0]))
        elif op in (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT):
            low, _, repeated = value
            parts.append(_emit(repeated) * low)
        elif op is sre_constants.IN:
            parts.append(_emit(value[:1]))
        elif op is sre_constants.CATEGORY:
            parts.append(" " if value is sre_constants.CATEGORY_SPACE else "x")
        elif op not in (sre_constants.ASSERT, sre_constants.ASSERT_NOT, sre_constants.AT):
            raise ValueError(f"regex item {op!r} has no example; extend _emit for it")
    return "".join(parts)


PATTERN_EXAMPLES = [
    pytest.param(pattern, shortest_example(pattern.source), id=f"{pattern.rule.category}-{index}")
    for index, pattern in enumerate(_PATTERNS)
]


@pytest.mark.parametrize(("pattern", "example"), PATTERN_EXAMPLES)
def test_redflag_example_matches_own_pattern(pattern: Any, example: str) -> None:
    assert pattern.regex.search(example) is not None


@pytest.mark.parametrize(("pattern", "example"), PATTERN_EXAMPLES)
def test_redflag_prefilter_passes_every_example(pattern: Any, example: str) -> None:
    assert _ANY_PATTERN.search(example) is not None


@pytest.mark.parametrize(("pattern", "example"), PATTERN_EXAMPLES)
def test_redflag_every_pattern_example_fires(pattern: Any, example: str) -> None:
    assert pattern.rule.category in categories(example)


def training_sentences() -> list[str]:
    training = repo_root() / "models" / "training"
    texts: list[str] = []
    for name in ("redflag_sentences.jsonl", "redflag_variants.jsonl", "utterances.jsonl"):
        with (training / name).open(encoding="utf-8") as lines:
            texts.extend(json.loads(line)["text"] for line in lines if line.strip())
    return texts


def test_redflag_prefilter_agrees_on_training_sentences() -> None:
    """The pre-filter finds a phrase in exactly the sentences where some pattern does."""
    disagreements = []
    for text in training_sentences():
        norm = normalize(text)
        any_pattern = any(pattern.regex.search(norm) for pattern in _PATTERNS)
        if (_ANY_PATTERN.search(norm) is not None) != any_pattern:
            disagreements.append(text)
    assert disagreements == []


def test_redflag_training_sentences_mix_phrases() -> None:
    """Keeps the agreement test meaningful: hundreds of sentences contain a phrase, most do not."""
    texts = training_sentences()
    with_phrase = sum(_ANY_PATTERN.search(normalize(text)) is not None for text in texts)
    assert 500 < with_phrase < len(texts) // 2
