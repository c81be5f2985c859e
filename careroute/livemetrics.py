"""Figures of a live evaluation: accuracy, emergency recall and latency per group of calls.

Definitions (also in the README):

- ``queue_accuracy``: calls whose queue extension (from AMI) is the expected
  queue, over all calls. A call that never reached a queue counts as wrong.
- ``emergency_recall``: expected emergencies that joined their queue with the
  emergency ``QUEUE_PRIO``, over expected emergencies.
- ``false_emergency_rate``: calls not expected to be emergencies that joined
  with the emergency ``QUEUE_PRIO``, over those calls.
- ``no_decision_rate``: calls that reached a queue only through a fallback
  (see ``FALLBACK_REASONS``) or never reached one, over all calls.
- ``decision_after_speech_ms``: for calls the app decided (not a fallback),
  the app's decision time minus the end of the caller's speech, both on the
  app's clock. Negative values mean the app decided before the caller
  finished. The decisive words end at or before the end of the speech, so
  the latency after the decisive words is at least this figure.
- ``answer_to_queue_ms``: from the AMI ``Newstate Up`` of the caller to the
  AMI ``CareRouteQueue`` event of the same channel; it includes the greeting.
- ``errors``: calls that could not be placed (an originate failure, or an
  audio file the test bed cannot play) or never reached a queue within the
  per-call timeout. They count as wrong in the other figures too.

Percentiles interpolate linearly between the closest ranks (numpy's default).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

#: ``CAREROUTE_REASON`` values of routes that are fallbacks, not decisions:
#: the routing policy's (careroute/policy.py), the session's media and error
#: fallbacks (ari_app/session.py), and the dialplan's (extensions_careroute.conf).
FALLBACK_REASONS = frozenset({
    "low confidence at the end of the sentence",
    "no decision within the listening time",
    "no speech after the reprompt",
    "no audio",
    "app error",
    "app unavailable",
    "no decision",
    "watchdog",
    "recovered after reconnect",
})
#: The dialplan's ``i`` extension prefixes the unknown queue name with this.
UNKNOWN_QUEUE_REASON_PREFIX = "unknown queue"


def is_fallback_reason(reason: str) -> bool:
    """Return True when ``reason`` names a fallback route rather than a decision."""
    return reason in FALLBACK_REASONS or reason.startswith(UNKNOWN_QUEUE_REASON_PREFIX)


@dataclass(frozen=True)
class CallResult:
    """One evaluated call: what the manifest expected and what Asterisk saw."""

    call_id: str
    expected_queue: str
    expected_urgency: str
    engine: str
    hard: bool
    got_queue: str | None = None
    got_prio: int | None = None
    got_urgency: str | None = None
    reason: str = ""
    fallback: bool = False
    """The app's own trigger was a fallback (in-process runs only)."""
    emergency_prio: int = 10
    decision_after_speech_ms: float | None = None
    answer_to_queue_ms: float | None = None
    """From the caller's answer to the first queue arrival."""
    escalated: bool = False
    """The caller entered a second queue after routing (an escalation); got_* describe the last."""
    error: str | None = None

    @property
    def queue_ok(self) -> bool:
        return self.got_queue == self.expected_queue

    @property
    def got_emergency(self) -> bool:
        return self.got_prio is not None and self.got_prio >= self.emergency_prio

    @property
    def no_decision(self) -> bool:
        return self.got_queue is None or self.fallback or is_fallback_reason(self.reason)

    @property
    def ok(self) -> bool:
        """Right queue and right urgency, with a QUEUE_PRIO that agrees on emergencies."""
        expected_emergency = self.expected_urgency == "emergency"
        return (
            self.queue_ok
            and self.got_urgency == self.expected_urgency
            and self.got_emergency == expected_emergency
        )

    def row(self) -> dict[str, Any]:
        """Return the call as a JSON-ready mapping."""
        return {
            "id": self.call_id,
            "expected_queue": self.expected_queue,
            "expected_urgency": self.expected_urgency,
            "engine": self.engine,
            "hard": self.hard,
            "got_queue": self.got_queue,
            "got_prio": self.got_prio,
            "got_urgency": self.got_urgency,
            "reason": self.reason,
            "no_decision": self.no_decision,
            "ok": self.ok,
            "decision_after_speech_ms": self.decision_after_speech_ms,
            "escalated": self.escalated,
            "answer_to_queue_ms": self.answer_to_queue_ms,
            "error": self.error,
        }


def percentile(values: Sequence[float], q: float) -> float | None:
    """Return the ``q``-th percentile (0-100) of ``values``, or None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _rate(hits: int, total: int) -> float | None:
    return round(hits / total, 4) if total else None


def _p50_p95(values: Iterable[float | None]) -> dict[str, float | None]:
    present = [value for value in values if value is not None]
    return {
        name: None if (value := percentile(present, q)) is None else round(value, 1)
        for name, q in (("p50", 50.0), ("p95", 95.0))
    }


def figures(results: Sequence[CallResult]) -> dict[str, Any]:
    """Return the headline figures of ``results``."""
    emergencies = [r for r in results if r.expected_urgency == "emergency"]
    others = [r for r in results if r.expected_urgency != "emergency"]
    return {
        "calls": len(results),
        "queue_accuracy": _rate(sum(r.queue_ok for r in results), len(results)),
        "emergency_recall": _rate(sum(r.got_emergency for r in emergencies), len(emergencies)),
        "false_emergency_rate": _rate(sum(r.got_emergency for r in others), len(others)),
        "no_decision_rate": _rate(sum(r.no_decision for r in results), len(results)),
        "decision_after_speech_ms": _p50_p95(
            r.decision_after_speech_ms for r in results if not r.no_decision
        ),
        "answer_to_queue_ms": _p50_p95(r.answer_to_queue_ms for r in results),
        "escalations": sum(r.escalated for r in results),
        "errors": sum(r.error is not None for r in results),
    }


def _grouped(results: Sequence[CallResult], key: Callable[[CallResult], str]) -> dict[str, Any]:
    groups: dict[str, list[CallResult]] = {}
    for result in results:
        groups.setdefault(key(result), []).append(result)
    return {name: figures(members) for name, members in sorted(groups.items())}


def summary(results: Sequence[CallResult]) -> dict[str, Any]:
    """Return the figures overall and broken down by TTS engine and by the ``hard`` flag."""
    return {
        **figures(results),
        "by_engine": _grouped(results, lambda r: r.engine),
        "by_hard": _grouped(results, lambda r: "hard" if r.hard else "not_hard"),
    }


def format_row(result: CallResult) -> str:
    """Return one printed line per call."""
    got = result.got_queue or "-"
    prio = "-" if result.got_prio is None else str(result.got_prio)
    latency = "-" if result.decision_after_speech_ms is None else f"{result.decision_after_speech_ms:+.0f}ms"
    if result.ok:
        status = "ok"
    elif result.error:
        status = f"ERROR {result.error}"
    else:
        status = "MISS"
    if result.escalated:
        status += " (escalated)"
    return (
        f"{result.call_id:<12} want {result.expected_queue:>10}/{result.expected_urgency:<9} "
        f"got {got:>10}/{prio:>2}/{result.got_urgency or '-':<9} "
        f"after-speech {latency:>8}  {status}"
    )
