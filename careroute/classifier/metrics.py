"""Evaluation of the classifier on a labelled manifest.

The manifest is JSON Lines, one call per line, with ``id``, ``text``,
``queue`` and ``urgency`` (and ``audio`` for ``--audio`` runs), the format
of the dev-calls set. Figures:

- ``queue_accuracy``: share of calls routed to the labelled queue; an
  undecided call counts as wrong.
- ``emergency_recall``: share of labelled emergencies scored ``emergency``.
- ``false_emergency_rate``: share of non-emergencies scored ``emergency``.
- ``undecided_rate``: share of calls the classifier abstained on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from careroute.scores import QUEUES, URGENCIES

UNDECIDED_LABEL = "undecided"


@dataclass(frozen=True, slots=True)
class ClassReport:
    label: str
    precision: float
    recall: float
    support: int


def per_class(true: Sequence[str], pred: Sequence[str], labels: Sequence[str]) -> list[ClassReport]:
    """Return precision, recall and support for each label."""
    reports: list[ClassReport] = []
    for label in labels:
        true_positive = sum(1 for t, p in zip(true, pred, strict=True) if t == label and p == label)
        predicted = sum(1 for p in pred if p == label)
        actual = sum(1 for t in true if t == label)
        reports.append(ClassReport(
            label,
            true_positive / predicted if predicted else 0.0,
            true_positive / actual if actual else 0.0,
            actual,
        ))
    return reports


def confusion(true: Sequence[str], pred: Sequence[str], rows: Sequence[str],
              columns: Sequence[str]) -> list[list[int]]:
    """Return counts[i][j] of items labelled ``rows[i]`` and predicted ``columns[j]``."""
    counts = [[0] * len(columns) for _ in rows]
    for t, p in zip(true, pred, strict=True):
        if t in rows and p in columns:
            counts[rows.index(t)][columns.index(p)] += 1
    return counts


def summary(queue_true: Sequence[str], queue_pred: Sequence[str],
            urgency_true: Sequence[str], urgency_pred: Sequence[str]) -> dict[str, float | int]:
    """Return the headline figures as a JSON-ready dict."""
    n = len(queue_true)
    emergencies = [p for t, p in zip(urgency_true, urgency_pred, strict=True) if t == "emergency"]
    others = [p for t, p in zip(urgency_true, urgency_pred, strict=True) if t != "emergency"]
    return {
        "n": n,
        "queue_accuracy": round(sum(t == p for t, p in zip(queue_true, queue_pred, strict=True)) / n, 4) if n else 0.0,
        "urgency_accuracy": round(sum(t == p for t, p in zip(urgency_true, urgency_pred, strict=True)) / n, 4) if n else 0.0,
        "emergency_recall": round(sum(p == "emergency" for p in emergencies) / len(emergencies), 4) if emergencies else 1.0,
        "false_emergency_rate": round(sum(p == "emergency" for p in others) / len(others), 4) if others else 0.0,
        "undecided_rate": round(sum(p == UNDECIDED_LABEL for p in queue_pred) / n, 4) if n else 0.0,
    }


def format_report(title: str, true: Sequence[str], pred: Sequence[str], labels: Sequence[str]) -> str:
    """Return a per-class precision/recall table and confusion matrix as text."""
    abstained = UNDECIDED_LABEL in pred and UNDECIDED_LABEL not in labels
    columns = list(labels) + ([UNDECIDED_LABEL] if abstained else [])
    width = max(len(label) for label in columns) + 2
    lines = [f"{title}", f"{'':{width}}{'precision':>10}{'recall':>8}{'support':>9}"]
    for report in per_class(true, pred, labels):
        lines.append(f"{report.label:{width}}{report.precision:>10.3f}{report.recall:>8.3f}{report.support:>9d}")
    lines.append("")
    lines.append("confusion matrix (rows: label, columns: predicted)")
    lines.append(f"{'':{width}}" + "".join(f"{c[:10]:>11}" for c in columns))
    for label, row in zip(labels, confusion(true, pred, list(labels), columns), strict=True):
        lines.append(f"{label:{width}}" + "".join(f"{v:>11d}" for v in row))
    return "\n".join(lines)


__all__ = ["QUEUES", "URGENCIES", "ClassReport", "confusion", "format_report", "per_class", "summary"]
