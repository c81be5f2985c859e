"""Training data: prefixes, undecided labels, corrections and the fast scorer."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from careroute.classifier import Classifier
from careroute.classifier.dataset import (
    TrainingDataError,
    TrainingSet,
    add_partials,
    add_sentence,
    load_corrections,
    load_training_set,
    variant_word_recall,
)
from careroute.classifier.features import transform
from careroute.classifier.metrics import format_report
from careroute.classifier.normalize import normalize


def sentence_rows(text: str, queue: str = "billing", tag: str = "", opener: str = "") -> TrainingSet:
    data = TrainingSet()
    add_sentence(data, {"text": text, "queue": queue, "urgency": "routine", "tag": tag,
                        "opener": opener}, group=1, weight=1.0)
    return data


def test_training_prefix_of_generic_words_is_undecided() -> None:
    data = sentence_rows("I have a question about my bill")
    assert data.queues[data.texts.index("i have a question about my")] == "undecided"


def test_training_prefix_with_content_keeps_label() -> None:
    data = sentence_rows("I have a question about my bill please")
    assert data.queues[data.texts.index("i have a question about my bill")] == "billing"


def test_training_prefix_inside_opener_is_undecided() -> None:
    data = sentence_rows("hi this is Maria Delgado, my bill is wrong", opener="hi this is Maria Delgado")
    assert data.queues[data.texts.index("hi this is maria delgado")] == "undecided"


def test_training_hard_case_skips_short_prefixes() -> None:
    data = sentence_rows("I need to reschedule, my husband's face is drooping badly", "nurse", "mixed")
    assert "i need to reschedule" not in data.texts


def test_training_full_sentence_keeps_full_weight() -> None:
    data = sentence_rows("I have a question about my bill")
    assert data.queue_weights[0] == 1.0


def write_rows(path: Path, rows: list[dict[str, str]]) -> None:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")


def test_variant_word_recall_counts_kept_words() -> None:
    row = {"text": "my chest hurts bad", "source_text": "My chest hurts really bad"}
    assert variant_word_recall(row) == 0.8


def test_training_skips_garbled_variant(tmp_path: Path) -> None:
    spoken = "my husband is not breathing"
    write_rows(tmp_path / "utterances.jsonl",
               [{"text": spoken, "queue": "nurse", "urgency": "emergency"}])
    write_rows(tmp_path / "vosk_variants.jsonl", [
        {"text": "my husband is not breeding", "queue": "nurse", "urgency": "emergency",
         "source_text": spoken},
        {"text": "mike hoffman and be on", "queue": "nurse", "urgency": "emergency",
         "source_text": spoken},
    ])
    data = load_training_set(tmp_path)
    assert data.counts["vosk_variants.jsonl"] == 1


def test_training_groups_variant_with_its_sentence(tmp_path: Path) -> None:
    spoken = "my husband is not breathing"
    write_rows(tmp_path / "utterances.jsonl",
               [{"text": spoken, "queue": "nurse", "urgency": "emergency"}])
    write_rows(tmp_path / "vosk_variants.jsonl", [
        {"text": "my husband is not breeding", "queue": "nurse", "urgency": "emergency",
         "source_text": spoken},
    ])
    data = load_training_set(tmp_path)
    assert set(data.groups) == {1}


def test_corrections_load_valid_rows(tmp_path: Path) -> None:
    path = tmp_path / "corrections.jsonl"
    row = {"call_id": "c-1", "text": "my statement is wrong", "queue": "billing",
           "urgency": "routine", "who": "nurse.kim", "when": "2024-06-01T10:00:00Z"}
    path.write_text(json.dumps(row) + "\n", encoding="utf-8")
    assert load_corrections(path)[0]["queue"] == "billing"


def test_corrections_reject_unknown_queue(tmp_path: Path) -> None:
    path = tmp_path / "corrections.jsonl"
    path.write_text(json.dumps({"text": "hi", "queue": "pharmacy", "urgency": "routine"}) + "\n",
                    encoding="utf-8")
    with pytest.raises(TrainingDataError, match="'pharmacy'"):
        load_corrections(path)


def test_corrections_reject_missing_text(tmp_path: Path) -> None:
    path = tmp_path / "corrections.jsonl"
    path.write_text(json.dumps({"call_id": "c-9", "queue": "billing", "urgency": "routine"}) + "\n",
                    encoding="utf-8")
    with pytest.raises(TrainingDataError, match="c-9"):
        load_corrections(path)


def test_corrections_reject_invalid_json(tmp_path: Path) -> None:
    path = tmp_path / "corrections.jsonl"
    path.write_text("{not json\n", encoding="utf-8")
    with pytest.raises(TrainingDataError, match="line 1"):
        load_corrections(path)


@pytest.mark.parametrize("text", ["i need a refill of listen up or", "hello", "zzz", ""])
def test_fast_scorer_matches_sklearn(text: str) -> None:
    classifier = Classifier.load()
    artifact = classifier.artifact
    x = transform((artifact.word_vectorizer, artifact.char_vectorizer), [text])
    logits = artifact.queue_model.decision_function(x)[0] / artifact.queue_temperature
    expected = np.exp(logits - logits.max())
    expected /= expected.sum()
    fast = classifier._scorer.probabilities(text)[0]
    assert np.allclose(fast, expected, atol=1e-5)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I can't breathe", "i can not breathe"),
        ("She's 3 months old.", "she is three months old"),
        ("No fever. Chest hurts", "no fever . chest hurts"),
        ("temp 101.5", "temp one hundred one point five"),
        ("", ""),
    ],
)
def test_normalize_case(text: str, expected: str) -> None:
    assert normalize(text) == expected


def urgency_rows(data: TrainingSet) -> dict[str, str]:
    return {text: urgency for text, urgency, weight
            in zip(data.texts, data.urgencies, data.urgency_weights, strict=True) if weight > 0}


def test_training_routine_short_prefix_trains_urgency() -> None:
    data = sentence_rows("my chest x ray bill from last month looks wrong to me")
    assert urgency_rows(data)["my chest"] == "routine"


def test_training_urgent_short_prefix_skips_urgency() -> None:
    data = TrainingSet()
    add_sentence(data, {"text": "my newborn is not feeding and is very hot and sleepy today",
                        "queue": "nurse", "urgency": "urgent"}, group=1, weight=1.0)
    assert "my newborn is not" not in urgency_rows(data)


def variant_with_partials(urgency: str) -> dict[str, object]:
    return {"text": "i need to move my appointment to friday", "queue": "scheduling",
            "urgency": urgency, "partials": ["i", "i need", "i need to move my",
                                             "i need to move my appointment to"]}


def test_partials_of_routine_sentence_are_routine() -> None:
    data = TrainingSet()
    add_partials(data, variant_with_partials("routine"), group=1, weight=1.0)
    assert set(data.urgencies) == {"routine"}


def test_partials_of_routine_sentence_all_kept() -> None:
    data = TrainingSet()
    assert add_partials(data, variant_with_partials("routine"), group=1, weight=1.0) == 4


def test_partials_never_train_queue_head() -> None:
    data = TrainingSet()
    add_partials(data, variant_with_partials("routine"), group=1, weight=1.0)
    assert set(data.queue_weights) == {0.0}


def test_partials_of_urgent_sentence_skip_short_ones() -> None:
    data = TrainingSet()
    add_partials(data, variant_with_partials("urgent"), group=1, weight=1.0)
    assert data.texts == ["i need to move my", "i need to move my appointment to"]


def test_partials_of_emergency_sentence_skipped() -> None:
    data = TrainingSet()
    assert add_partials(data, variant_with_partials("emergency"), group=1, weight=1.0) == 0


def test_training_keeps_partials_of_garbled_variant(tmp_path: Path) -> None:
    spoken = "I want to pay my bill with a card"
    write_rows(tmp_path / "utterances.jsonl",
               [{"text": spoken, "queue": "billing", "urgency": "routine"}])
    write_rows(tmp_path / "vosk_variants.jsonl", [
        {"text": "i want a pail", "queue": "billing", "urgency": "routine",
         "source_text": spoken, "partials": ["i", "i want a pail"]},
    ])
    data = load_training_set(tmp_path)
    assert data.counts["vosk_variants.jsonl partials"] == 2


def test_format_report_lists_undecided_once() -> None:
    labels = ["billing", "undecided"]
    report = format_report("queue", ["billing", "billing"], ["billing", "undecided"], labels)
    header = report.splitlines()[report.splitlines().index(
        "confusion matrix (rows: label, columns: predicted)") + 1]
    assert header.split() == labels
