"""Figures of the live evaluation, from hand-made call results."""

from __future__ import annotations

from careroute.livemetrics import CallResult, figures, percentile, summary


def _result(call_id: str, expected: tuple[str, str], got: tuple[str, int, str] | None, **extra: object) -> CallResult:
    queue, urgency = expected
    fields: dict[str, object] = {"engine": "piper", "hard": False, **extra}
    if got is not None:
        fields.update(got_queue=got[0], got_prio=got[1], got_urgency=got[2])
    return CallResult(call_id, queue, urgency, **fields)  # type: ignore[arg-type]


RESULTS = [
    _result("a", ("nurse", "emergency"), ("nurse", 10, "emergency"), decision_after_speech_ms=-200.0),
    _result("b", ("nurse", "emergency"), ("nurse", 0, "routine"), decision_after_speech_ms=100.0),
    _result("c", ("refill", "routine"), ("nurse", 10, "emergency"), engine="espeak-ng", hard=True),
    _result("d", ("billing", "routine"), ("front_desk", 0, "routine"),
            reason="low confidence at the end of the sentence", decision_after_speech_ms=9000.0),
    _result("e", ("billing", "routine"), None, error="no queue event within 45 s"),
]


def test_percentile_interpolates_between_ranks() -> None:
    assert percentile([0.0, 10.0, 20.0, 30.0], 50) == 15.0


def test_percentile_of_nothing_is_none() -> None:
    assert percentile([], 95) is None


def test_figures_queue_accuracy_counts_missing_calls_as_wrong() -> None:
    assert figures(RESULTS)["queue_accuracy"] == 0.4


def test_figures_emergency_recall_uses_queue_prio() -> None:
    assert figures(RESULTS)["emergency_recall"] == 0.5


def test_figures_false_emergency_rate_over_non_emergencies() -> None:
    assert figures(RESULTS)["false_emergency_rate"] == round(1 / 3, 4)


def test_figures_no_decision_counts_fallbacks() -> None:
    assert figures(RESULTS)["no_decision_rate"] == 0.4


def test_figures_decision_latency_leaves_out_fallbacks() -> None:
    assert figures(RESULTS)["decision_after_speech_ms"]["p95"] == 85.0


def test_figures_errors_counts_calls_with_an_error() -> None:
    assert figures(RESULTS)["errors"] == 1


def test_summary_groups_by_engine() -> None:
    assert summary(RESULTS)["by_engine"]["espeak-ng"]["calls"] == 1


def test_summary_groups_by_hard_flag() -> None:
    assert summary(RESULTS)["by_hard"]["not_hard"]["calls"] == 4


def test_call_result_ok_needs_emergency_prio_for_emergency() -> None:
    assert not RESULTS[1].ok


def test_call_result_ok_when_all_agree() -> None:
    assert RESULTS[0].ok
