"""Training rows: hand-written utterances, recognizer variants, prefixes and corrections.

Sources, all JSON Lines under ``models/training/``:

- ``utterances.jsonl``: the team's sentences (``text``, ``queue``,
  ``urgency``, ``persona``, ``tag``, ``opener``); ``queue`` may be
  ``undecided`` for filler.
- ``vosk_variants.jsonl``: the same labels on Vosk transcripts of synthesized
  speech of a sample of those sentences.
- ``redflag_sentences.jsonl``: red-flag sentences and benign look-alikes
  written to probe the red-flag rules; ``redflag_variants.jsonl``: their Vosk
  transcripts, several voices per sentence.
- a corrections file from staff (``careroute train --corrections``).

Every full row also yields its prefixes, so the model learns from partials.
A prefix made only of generic words (or that ends inside the caller's
opener) is labelled ``undecided``. Short prefixes of hard cases (mixed
intents, minimised emergencies) would teach the wrong label, so only
prefixes past ``HARD_CASE_PREFIX_MIN`` of the sentence are kept for them.
The urgency head learns from every prefix of a routine sentence, but only
from prefixes past ``URGENCY_PREFIX_MIN`` of urgent and emergency sentences,
whose first words rarely say how urgent the call is.

A recognizer variant may also carry ``partials``: the cumulative transcripts
Vosk produced while the sentence streamed in, often garbled and cut off
mid-sentence, as the service scores them. They train only the urgency head, as negatives that
keep a half-heard routine or urgent sentence from scoring as an emergency
(see ``add_partials``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from careroute.classifier.artifact import UNDECIDED_CLASS
from careroute.classifier.normalize import model_text, normalize
from careroute.classifier.vocabulary import GENERIC_WORDS
from careroute.errors import CareRouteError
from careroute.paths import repo_root
from careroute.scores import QUEUES, URGENCIES

TRAINING_DIR = repo_root() / "models" / "training"
SOURCE_FILES = ("utterances.jsonl", "vosk_variants.jsonl", "redflag_sentences.jsonl",
                "redflag_variants.jsonl")

#: Weight of a prefix row relative to its full sentence: partials are many
#: and noisier, so together they should not outweigh the full sentences.
PREFIX_WEIGHT = 0.4
#: Default weight of a staff correction: it is a real call the model got wrong.
CORRECTION_WEIGHT = 3.0
#: Shortest prefix, as a share of the words, kept for hard-case sentences.
HARD_CASE_PREFIX_MIN = 0.6
#: Shortest prefix, as a share of the words, the urgency head learns from.
URGENCY_PREFIX_MIN = 0.5
#: Minimum share of the spoken sentence's words that a recognizer variant keeps.
#: Below it the transcript is mostly other words (espeak-ng voices often
#: decode that way), and its label, emergency above all, teaches the heads
#: that garbled text means that label. NOTE: set by hand at 0.5, not tuned.
MIN_VARIANT_WORD_RECALL = 0.5
HARD_TAGS = frozenset({"mixed", "minimised", "negation", "history", "figurative", "name"})


class TrainingDataError(CareRouteError):
    """A training or corrections file is missing or has an invalid row."""


@dataclass
class TrainingSet:
    """Parallel lists, one entry per training row."""

    texts: list[str] = field(default_factory=list)
    queues: list[str] = field(default_factory=list)
    urgencies: list[str] = field(default_factory=list)
    queue_weights: list[float] = field(default_factory=list)
    urgency_weights: list[float] = field(default_factory=list)
    groups: list[int] = field(default_factory=list)
    """Id of the full sentence a row came from, for grouped cross-validation."""
    is_prefix: list[bool] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, text: str, queue: str, urgency: str, weights: tuple[float, float],
            group: int, prefix: bool) -> None:
        self.texts.append(text)
        self.queues.append(queue)
        self.urgencies.append(urgency)
        self.queue_weights.append(weights[0])
        self.urgency_weights.append(weights[1])
        self.groups.append(group)
        self.is_prefix.append(prefix)


def read_jsonl(path: Path) -> list[dict[str, str]]:
    """Read a JSON Lines file, naming the file and line of any invalid row."""
    rows: list[dict[str, str]] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise TrainingDataError(f"{str(path)!r} line {number} is not valid JSON: {exc}") from exc
        if not isinstance(row, dict):
            raise TrainingDataError(f"{str(path)!r} line {number} is not a JSON object")
        rows.append(row)
    return rows


def check_labels(row: dict[str, str], where: str, *, allow_undecided: bool) -> None:
    """Raise ``TrainingDataError`` unless ``row`` has a known queue and urgency."""
    queues = [*QUEUES, UNDECIDED_CLASS] if allow_undecided else list(QUEUES)
    if row.get("queue") not in queues:
        raise TrainingDataError(f"{where}: queue {row.get('queue')!r} is not one of {queues}")
    if row.get("urgency") not in URGENCIES:
        raise TrainingDataError(f"{where}: urgency {row.get('urgency')!r} is not one of {list(URGENCIES)}")


def variant_word_recall(row: dict[str, str]) -> float:
    """Return the share of the words of ``source_text`` that the transcript kept (1.0 without one)."""
    spoken = model_text(normalize(str(row.get("source_text") or ""))).split()
    if not spoken:
        return 1.0
    transcript_words = set(model_text(normalize(row["text"])).split())
    return sum(1 for word in spoken if word in transcript_words) / len(spoken)


def _opener_length(opener: str) -> int:
    return len(model_text(normalize(opener)).split()) if opener else 0


def add_sentence(data: TrainingSet, row: dict[str, str], group: int, weight: float) -> None:
    """Add one labelled sentence and its prefixes to ``data``."""
    words = model_text(normalize(row["text"])).split()
    queue, urgency = row["queue"], row["urgency"]
    data.add(" ".join(words), queue, urgency, (weight, weight), group, prefix=False)
    if queue == UNDECIDED_CLASS or len(words) < 2:
        return
    opener = _opener_length(row.get("opener", ""))
    hard = row.get("tag", "") in HARD_TAGS
    for length in range(1, len(words)):
        share = length / len(words)
        if hard and share < HARD_CASE_PREFIX_MIN:
            continue
        prefix = words[:length]
        if length <= opener or all(w in GENERIC_WORDS for w in prefix):
            data.add(" ".join(prefix), UNDECIDED_CLASS, "routine",
                     (weight * PREFIX_WEIGHT, weight * PREFIX_WEIGHT), group, prefix=True)
            continue
        urgency_weight = (weight * PREFIX_WEIGHT
                          if share >= URGENCY_PREFIX_MIN or urgency == "routine" else 0.0)
        data.add(" ".join(prefix), queue, urgency, (weight * PREFIX_WEIGHT, urgency_weight),
                 group, prefix=True)


def add_partials(data: TrainingSet, row: dict[str, Any], group: int, weight: float) -> int:
    """Add the streaming partials of a recognizer variant as urgency-only rows; return how many.

    A partial of a routine sentence is labelled routine however garbled it
    is. A partial of an urgent sentence is labelled urgent once it contains
    ``URGENCY_PREFIX_MIN`` of the final transcript's words and is skipped
    before that. Partials of emergency sentences are skipped: the red-flag
    rules and the full sentences carry emergencies, and a half-heard
    emergency labelled routine would teach the head to miss one.
    """
    urgency = str(row["urgency"])
    partials = row.get("partials") or []
    if urgency == "emergency" or not isinstance(partials, list):
        return 0
    final_words = max(1, len(model_text(normalize(str(row["text"]))).split()))
    added = 0
    for partial in partials:
        words = model_text(normalize(str(partial))).split()
        if not words or (urgency == "urgent" and len(words) / final_words < URGENCY_PREFIX_MIN):
            continue
        # The queue head is never fitted on these rows (queue weight 0), so this label is a placeholder.
        data.add(" ".join(words), UNDECIDED_CLASS, urgency, (0.0, weight * PREFIX_WEIGHT),
                 group, prefix=True)
        added += 1
    return added


def load_training_set(directory: Path = TRAINING_DIR, corrections: Path | None = None,
                      correction_weight: float = CORRECTION_WEIGHT) -> TrainingSet:
    """Load every source file in ``directory`` plus optional staff corrections."""
    data = TrainingSet()
    # A recognizer variant shares the group of the sentence that was spoken, so
    # no sentence lands on both sides of a cross-validation fold.
    groups: dict[str, int] = {}
    for name in SOURCE_FILES:
        path = directory / name
        if not path.is_file():
            if name == SOURCE_FILES[0]:
                raise TrainingDataError(
                    f"training file {str(path)!r} not found; run "
                    "'python models/training/build_utterances.py'"
                )
            continue
        rows = read_jsonl(path)
        kept_rows = partial_rows = 0
        for number, row in enumerate(rows, start=1):
            check_labels(row, f"{str(path)!r} line {number}", allow_undecided=True)
            if variant_word_recall(row) < MIN_VARIANT_WORD_RECALL:
                # The partials of a garbled decode are still good negatives.
                group = groups.setdefault(str(row.get("source_text") or row["text"]), len(groups) + 1)
                partial_rows += add_partials(data, row, group, 1.0)
                continue
            kept_rows += 1
            spoken = str(row.get("source_text") or row["text"])
            group = groups.setdefault(spoken, len(groups) + 1)
            add_sentence(data, row, group, 1.0)
            partial_rows += add_partials(data, row, group, 1.0)
        data.counts[name] = kept_rows
        if partial_rows:
            data.counts[f"{name} partials"] = partial_rows
    if corrections is not None:
        rows = load_corrections(corrections)
        for row in rows:
            group = groups.setdefault(f"correction\0{row['text']}", len(groups) + 1)
            add_sentence(data, row, group, correction_weight)
        data.counts["corrections"] = len(rows)
    return data


def load_corrections(path: Path) -> list[dict[str, str]]:
    """Read a staff corrections file (JSON Lines, format in ``models/training/README.md``).

    Each row needs ``text`` (the transcript), ``queue`` and ``urgency``; ``call_id``,
    ``who`` and ``when`` are kept for the audit trail but do not change training.
    """
    if not path.is_file():
        raise TrainingDataError(f"corrections file {str(path)!r} not found")
    rows = read_jsonl(path)
    for number, row in enumerate(rows, start=1):
        where = f"{str(path)!r} line {number}"
        if not str(row.get("text", "")).strip():
            # NOTE: resolving a bare call id needs the call-record store; until the
            # export tool exists, corrections must carry the transcript themselves.
            raise TrainingDataError(
                f"{where}: 'text' is missing (call_id {row.get('call_id')!r}); export the "
                "correction with the call transcript in 'text'"
            )
        check_labels(row, where, allow_undecided=False)
    return rows
