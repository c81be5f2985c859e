"""Unit tests of the benchmark statistics, report and a tiny capacity run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from careroute.bench.report import (
    HEADLINE_KEYS,
    build_report,
    markdown_table,
    percentile,
    slope,
    summarize_ms,
    write_report,
)


def test_percentile_median_of_odd_count() -> None:
    assert percentile([3.0, 1.0, 2.0], 0.5) == 2.0


def test_percentile_interpolates_like_numpy() -> None:
    assert percentile([0.0, 10.0, 20.0, 30.0], 0.95) == pytest.approx(28.5)


def test_percentile_empty_raises() -> None:
    with pytest.raises(ValueError, match="empty"):
        percentile([], 0.5)


def test_percentile_fraction_out_of_range_raises() -> None:
    with pytest.raises(ValueError, match=r"1\.5"):
        percentile([1.0], 1.5)


def test_summarize_ms_converts_seconds() -> None:
    summary = summarize_ms([0.010, 0.020, 0.030])
    assert summary["p50_ms"] == 20.0
    assert summary["max_ms"] == 30.0
    assert summary["count"] == 3


def test_summarize_ms_empty_gives_none() -> None:
    assert summarize_ms([])["p95_ms"] is None


def test_slope_of_line() -> None:
    assert slope([1.0, 2.0, 4.0], [100.0, 110.0, 130.0]) == pytest.approx(10.0)


def test_slope_single_x_is_none() -> None:
    assert slope([1.0, 1.0], [5.0, 6.0]) is None


def test_report_has_every_headline_key(tmp_path: Path) -> None:
    report = build_report({"overhead": {"overhead_ratio": 1.05}}, {"cores": 2})
    path = tmp_path / "bench" / "bench.json"
    write_report(report, path)
    written = json.loads(path.read_text(encoding="utf-8"))
    assert set(HEADLINE_KEYS) <= set(written)
    assert written["overhead_ratio"] == 1.05
    assert written["calls_per_core"] is None


def test_table_marks_missed_target() -> None:
    table = markdown_table(build_report({"latency": {"decision_p95_ms": 450.0}}, {}))
    row = next(line for line in table.splitlines() if "decision_p95_ms" in line)
    assert "MISSED" in row


def test_table_marks_met_target() -> None:
    table = markdown_table(build_report({"live": {"live_lost_calls": 0}}, {}))
    row = next(line for line in table.splitlines() if "live_lost_calls" in line)
    assert "| met |" in row


def test_table_marks_part_not_run() -> None:
    table = markdown_table(build_report({}, {}))
    row = next(line for line in table.splitlines() if "calls_per_core" in line)
    assert "not run" in row
