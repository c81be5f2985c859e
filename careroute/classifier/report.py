"""The model card and confusion-matrix picture that ``careroute train`` writes."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from careroute.classifier.metrics import confusion, format_report, summary
from careroute.classifier.model import MODEL_EMERGENCY_MIN
from careroute.classifier.training import CrossValidation
from careroute.scores import QUEUES, URGENCIES

QUEUE_COLUMNS = [*QUEUES, "undecided"]


def plot_confusion(cv: CrossValidation, path: Path) -> None:
    """Save the cross-validated queue and urgency confusion matrices as one PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(12, 5))
    panels = [
        ("queue", cv.queue_true, cv.queue_pred, QUEUE_COLUMNS),
        ("urgency", cv.urgency_true, cv.urgency_pred, list(URGENCIES)),
    ]
    for axis, (title, true, pred, labels) in zip(axes, panels, strict=True):
        counts = confusion(true, pred, labels, labels)
        axis.imshow(counts, cmap="Blues")
        axis.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
        axis.set_yticks(range(len(labels)), labels)
        axis.set_xlabel("predicted")
        axis.set_ylabel("label")
        axis.set_title(f"{title} (cross-validated, full sentences)")
        peak = max(max(row) for row in counts) or 1
        for i, row in enumerate(counts):
            for j, value in enumerate(row):
                colour = "white" if value > peak / 2 else "black"
                axis.text(j, i, str(value), ha="center", va="center", color=colour)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=90)
    plt.close(figure)


def model_card(cv: CrossValidation, metadata: dict[str, Any], picture: Path) -> str:
    """Return the model card as Markdown."""
    figures = summary(cv.queue_true, cv.queue_pred, cv.urgency_true, cv.urgency_pred)
    labels = Counter(zip(cv.queue_true, cv.urgency_true, strict=True))
    label_lines = "\n".join(f"| {q} | {u} | {n} |" for (q, u), n in sorted(labels.items()))
    source_lines = "\n".join(f"| {name} | {n} |" for name, n in metadata["sources"].items())
    return f"""# CareRoute classifier model card

Intent (queue) and urgency classifier for rolling partial transcripts of
healthcare phone calls. Written by `careroute train`; do not edit by hand.

## Model

- Features: word 1-3 grams and character 2-5 grams (within word boundaries)
  of normalised text, tf-idf weighted, {metadata['features']} features.
- Heads: two multinomial logistic regressions (queue with an extra
  `undecided` class, urgency), C = {metadata['C']}.
- Calibration: temperature scaling on out-of-fold logits; queue
  T = {metadata['queue_temperature']:.3f}, urgency T = {metadata['urgency_temperature']:.3f}.
- Rule layer: red-flag phrases with negation scope
  (`careroute/classifier/redflag_rules.py`) that the model cannot override.
- Trained with scikit-learn {metadata['sklearn_version']} on {metadata['trained_at']}.

## Data

Hand-written utterances in `models/training/`, recognizer variants of a sample
of them (synthesized with Piper and espeak-ng, decoded with the Vosk small
English model), staff corrections if given, and every prefix of each. Newer
variants also carry the streaming partials Vosk produced on the way, which
train the urgency head only (the `partials` rows below).

| source | sentences |
| --- | --- |
{source_lines}

Training rows including prefixes: {metadata['rows']} (queue labels of the rows
the queue head is fitted on: {metadata['row_queues']}).

Full sentences by label:

| queue | urgency | sentences |
| --- | --- | --- |
{label_lines}

## Cross-validated metrics

{metadata['cv_folds']}-fold cross-validation grouped by source sentence, scored on
full sentences only, model heads without the rule layer (argmax labels).

```
{figures}
```

Half-heard speech, scored by the calibrated urgency head alone (no rule
layer), out of fold: the share of routine and urgent rows it would call an
emergency (probability {MODEL_EMERGENCY_MIN} or more).

| rows | count | false emergencies |
| --- | --- | --- |
| Vosk streaming partials | {cv.partials} | {cv.partial_false_emergency_rate:.4f} |
| word prefixes | {cv.prefixes} | {cv.prefix_false_emergency_rate:.4f} |

```
{format_report("queue", cv.queue_true, cv.queue_pred, QUEUE_COLUMNS)}

{format_report("urgency", cv.urgency_true, cv.urgency_pred, list(URGENCIES))}
```

![confusion matrices]({picture.name})

## Limits

- Training sentences are written by the team and synthesized speech, not
  real calls; real callers ramble, interrupt themselves and use words the
  training data lacks. Review misclassified calls and retrain with
  `careroute train --corrections FILE`.
- Vosk variants without a `decoder` field were decoded by an older
  transcriber with the model's own decoder options in 0.25 s chunks, not as
  the service decodes a call. Rows with it record the decoder options of the
  recognizer section at the time they were made.
- English only.
"""
