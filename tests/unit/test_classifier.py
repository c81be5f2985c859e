"""Classifier scoring: rule override, abstention, artifact load and dev-set guard."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from careroute.classifier import DEFAULT_ARTIFACT, Classifier
from careroute.classifier.artifact import load_artifact, save_artifact
from careroute.errors import ArtifactError
from careroute.paths import repo_root

DEV_MANIFEST = repo_root().parent / "shared" / "data" / "dev-calls" / "manifest.jsonl"
#: Floor for queue accuracy on the dev-calls text; the release target is higher.
DEV_QUEUE_ACCURACY_FLOOR = 0.85


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return Classifier.load()


@pytest.mark.parametrize(
    "text",
    [
        "my husband's face is drooping",
        "I need to pay my bill, also my chest hurts and I'm sweating",
        "I want to reschedule, she's not breathing",
        "refill my insulin, I took too many pills",
    ],
)
def test_classifier_emergency_rule_overrides_model(classifier: Classifier, text: str) -> None:
    scores = classifier.score(text)
    assert scores.urgency == "emergency"
    assert scores.queue == "nurse"
    assert not scores.undecided


def test_classifier_emergency_reason_from_rule(classifier: Classifier) -> None:
    assert classifier.score("my dad is slurring his words").reason == "stroke signs"


def test_classifier_infant_fever_is_urgent_nurse(classifier: Classifier) -> None:
    scores = classifier.score("my three week old baby has a fever")
    assert (scores.queue, scores.urgency) == ("nurse", "urgent")


@pytest.mark.parametrize(
    "text",
    ["", "   ", "uh", "um", "hello", "yes hi", "hi um hello", "hi I'm calling about my",
     "zxq blorf wibble", "my husband"],
)
def test_classifier_abstains_without_evidence(classifier: Classifier, text: str) -> None:
    scores = classifier.score(text)
    assert scores.undecided
    assert scores.queue is None
    assert scores.queue_confidence == 0.0


@pytest.mark.parametrize(
    ("text", "queue", "urgency"),
    [
        ("no chest pain just a cough", "nurse", "routine"),
        ("I'm not suicidal, I need my sertraline refilled", "refill", "routine"),
        ("i need a refill on my listen up or", "refill", "routine"),
        ("this bill almost gave me a heart attack", "billing", "routine"),
        ("I need to reschedule my appointment on Tuesday", "scheduling", "routine"),
        ("what is your fax number", "front_desk", "routine"),
        ("I'm out of my insulin today and have none left", "refill", "urgent"),
    ],
)
def test_classifier_routes_plain_cases(classifier: Classifier, text: str, queue: str,
                                       urgency: str) -> None:
    scores = classifier.score(text)
    assert scores.queue == queue
    assert scores.urgency == urgency


@pytest.mark.parametrize(
    "text",
    # Short or garbled partials of the kind Vosk emits mid-sentence; the
    # model alone used to call several of them emergencies.
    ["but", "a lot", "a lot of", "i feel", "i live", "my heart", "my heart is", "hello i kind of",
     "i mean a lot of", "i have a", "the pain in my", "she is", "i am not", "research and"],
)
def test_classifier_garbled_partial_not_emergency(classifier: Classifier, text: str) -> None:
    assert classifier.score(text).urgency != "emergency"


def test_classifier_probabilities_cover_all_queues(classifier: Classifier) -> None:
    scores = classifier.score("question about my bill")
    assert set(scores.queue_probs) == {"nurse", "refill", "billing", "scheduling", "front_desk"}


def test_classifier_probabilities_at_most_one(classifier: Classifier) -> None:
    scores = classifier.score("question about my bill")
    assert sum(scores.queue_probs.values()) <= 1.0 + 1e-9


def test_artifact_round_trip_scores_equal(classifier: Classifier, tmp_path: Path) -> None:
    copy = tmp_path / "copy.skops"
    save_artifact(classifier.artifact, copy)
    reloaded = Classifier.load(copy)
    text = "can you send my metformin to the pharmacy"
    assert reloaded.score(text) == classifier.score(text)


def test_artifact_missing_names_file_and_fix(tmp_path: Path) -> None:
    missing = tmp_path / "nope.skops"
    with pytest.raises(ArtifactError, match=r"nope\.skops.*run 'careroute train'"):
        Classifier.load(missing)


def test_artifact_corrupt_bytes_rejected(tmp_path: Path) -> None:
    broken = tmp_path / "broken.skops"
    data = bytearray(DEFAULT_ARTIFACT.read_bytes())
    data[len(data) // 2 : len(data) // 2 + 64] = b"\x00" * 64
    broken.write_bytes(bytes(data))
    with pytest.raises(ArtifactError, match="careroute train"):
        load_artifact(broken)


def test_artifact_untrusted_type_rejected(tmp_path: Path) -> None:
    """A schema edited to build an arbitrary object must be rejected before loading."""
    tampered = tmp_path / "tampered.skops"
    with zipfile.ZipFile(DEFAULT_ARTIFACT) as source, zipfile.ZipFile(tampered, "w") as target:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename == "schema.json":
                schema = json.loads(content)
                schema["content"]["metadata"] = {
                    "__class__": "Popen", "__module__": "subprocess",
                    "__loader__": "ObjectNode", "content": {"__class__": "dict",
                    "__module__": "builtins", "__loader__": "DictNode", "content": {},
                    "key_types": {"__class__": "list", "__module__": "builtins",
                                  "__loader__": "ListNode", "content": []}},
                }
                content = json.dumps(schema).encode()
            target.writestr(item, content)
    with pytest.raises(ArtifactError, match="untrusted"):
        load_artifact(tampered)


def test_artifact_wrong_format_rejected(tmp_path: Path) -> None:
    import skops.io as sio

    other = tmp_path / "other.skops"
    sio.dump({"format": "something-else"}, other)
    with pytest.raises(ArtifactError, match="not a CareRoute classifier"):
        load_artifact(other)


def test_classifier_dev_text_accuracy_guard(classifier: Classifier) -> None:
    rows = [json.loads(line) for line in DEV_MANIFEST.read_text(encoding="utf-8").splitlines()]
    correct = sum(classifier.score(row["text"]).queue == row["queue"] for row in rows)
    assert correct / len(rows) > DEV_QUEUE_ACCURACY_FLOOR
