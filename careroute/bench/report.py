"""Statistics, the bench.json file and the markdown table of ``careroute bench``."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: Headline keys of bench.json; every one is present, None when its part did not run.
HEADLINE_KEYS = (
    "calls_per_core",
    "overhead_ratio",
    "decision_p95_ms",
    "mem_per_call_mb",
    "classifier_ms_per_partial",
    "live_lost_calls",
)


@dataclass(frozen=True, slots=True)
class Target:
    """A figure's goal: ``value <= limit`` (or ``>=`` when ``at_least``)."""

    key: str
    label: str
    unit: str
    limit: float
    at_least: bool = False

    def met(self, value: float | None) -> bool | None:
        if value is None:
            return None
        return value >= self.limit if self.at_least else value <= self.limit


TARGETS = (
    Target("calls_per_core", "Real-time calls per core", "calls", 8.0, at_least=True),
    Target("overhead_ratio", "CPU ratio, engine / bare Vosk", "x", 1.10),
    Target("decision_p95_ms", "Decision p95 after the decisive words", "ms", 300.0),
    Target("mem_per_call_mb", "Memory per extra call", "MiB", 15.0),
    Target("classifier_ms_per_partial", "Classifier time per partial", "ms", math.inf),
    Target("live_lost_calls", "Lost live calls (largest N)", "calls", 0.0),
)


def percentile(values: Sequence[float], fraction: float) -> float:
    """Return the ``fraction`` quantile of ``values`` by linear interpolation (numpy's default).

    Raises:
        ValueError: ``values`` is empty or ``fraction`` is outside [0, 1].
    """
    if not values:
        raise ValueError("percentile of an empty sequence; measure at least one value first")
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"fraction {fraction!r} is outside [0, 1]")
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    lower = math.floor(position)
    upper = min(lower + 1, len(ordered) - 1)
    weight = position - lower
    return ordered[lower] * (1.0 - weight) + ordered[upper] * weight


def summarize_ms(seconds: Sequence[float]) -> dict[str, float | int | None]:
    """Return count, p50, p95 and max of ``seconds``, in milliseconds rounded to 0.1 ms."""
    if not seconds:
        return {"count": 0, "p50_ms": None, "p95_ms": None, "max_ms": None}
    return {
        "count": len(seconds),
        "p50_ms": round(percentile(seconds, 0.50) * 1000, 1),
        "p95_ms": round(percentile(seconds, 0.95) * 1000, 1),
        "max_ms": round(max(seconds) * 1000, 1),
    }


def slope(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Return the least-squares slope of ``ys`` over ``xs``, or None with fewer than two distinct xs."""
    if len(xs) != len(ys):
        raise ValueError(f"slope needs as many xs as ys, got {len(xs)!r} and {len(ys)!r}")
    if len(set(xs)) < 2:
        return None
    mean_x = sum(xs) / len(xs)
    mean_y = sum(ys) / len(ys)
    covariance = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True))
    variance = sum((x - mean_x) ** 2 for x in xs)
    return covariance / variance


def headline(parts: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Collect the headline figures from the parts that ran."""
    capacity = parts.get("capacity", {})
    overhead = parts.get("overhead", {})
    latency = parts.get("latency", {})
    live = parts.get("live", {})
    return {
        "calls_per_core": capacity.get("calls_per_core"),
        "overhead_ratio": overhead.get("overhead_ratio"),
        "decision_p95_ms": latency.get("decision_p95_ms"),
        "mem_per_call_mb": capacity.get("mem_per_call_mb"),
        "classifier_ms_per_partial": overhead.get("classifier_ms_per_partial"),
        "live_lost_calls": live.get("live_lost_calls"),
    }


def build_report(parts: dict[str, dict[str, Any]], machine: dict[str, Any]) -> dict[str, Any]:
    """Return the bench.json document: headline keys, then machine and per-part detail."""
    report: dict[str, Any] = headline(parts)
    report["machine"] = machine
    report["detail"] = parts
    return report


def write_report(report: dict[str, Any], path: Path) -> None:
    """Write ``report`` as indented JSON, creating the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, sort_keys=False) + "\n", encoding="utf-8")


def _format(value: Any) -> str:
    if value is None:
        return "not run"
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 10 else f"{value:.1f}"
    return str(value)


def markdown_table(report: dict[str, Any]) -> str:
    """Return the headline figures as a markdown table with each target and its status."""
    lines = ["| Figure | Value | Target | Status |", "|---|---|---|---|"]
    for target in TARGETS:
        value = report.get(target.key)
        if math.isinf(target.limit):
            goal = "measured only"
            status = "" if value is None else "-"
        else:
            goal = f"{'>=' if target.at_least else '<='} {_format(target.limit)} {target.unit}"
            met = target.met(value)
            status = "" if met is None else ("met" if met else "MISSED")
        lines.append(
            f"| {target.label} (`{target.key}`) | {_format(value)} {target.unit if value is not None else ''}".rstrip()
            + f" | {goal} | {status} |"
        )
    return "\n".join(lines)
