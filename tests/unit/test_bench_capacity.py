"""A tiny capacity run: one simulated call on 2 s of synthesized speech, real model."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import pytest

from careroute.audio import SAMPLE_WIDTH_BYTES, TELEPHONE_RATE_HZ
from careroute.bench import capacity
from careroute.bench.calls import DevCall
from careroute.bench.capacity import CapacitySettings, run_capacity
from careroute.classifier import Classifier
from careroute.config import CareRouteConfig
from careroute.recognizer import load_vosk_model
from careroute.speech import read_pcm16, synthesize

TWO_SECONDS_BYTES = 2 * TELEPHONE_RATE_HZ * SAMPLE_WIDTH_BYTES


def test_capacity_one_call_two_seconds(vosk_model_dir: Path) -> None:
    wav = synthesize("I need a refill on my blood pressure pills, please.", "piper:joe")
    pcm, _ = read_pcm16(wav)
    call = DevCall("refill", pcm[:TWO_SECONDS_BYTES], "refill", "routine", 2.0, wav)
    result = run_capacity(
        load_vosk_model(vosk_model_dir),
        Classifier.load(),
        CareRouteConfig().routing,
        [call],
        CapacitySettings(step_seconds=2.0, max_calls=1),
        progress=lambda message: None,
    )
    (step,) = result["steps"]
    assert step["k"] == 1
    assert step["lag"]["count"] > 0
    assert step["audio_seconds"] > 1.0
    assert result["mem_per_call_mb"] is None


def _fake_step(k: int, realtime: bool, rss_mb: float) -> dict[str, Any]:
    return {
        "k": k,
        "lag": {"count": 1, "p50_ms": 1.0, "p95_ms": 1.0 if realtime else 900.0, "max_ms": 1.0},
        "realtime": realtime,
        "cpu_per_audio_second_per_call": 0.2,
        "rss_mb": rss_mb,
    }


def _capacity_with_fake_steps(
    monkeypatch: pytest.MonkeyPatch, realtime_ks: set[int], max_calls: int
) -> dict[str, Any]:
    async def fake_run_step(k: int, *args: Any) -> dict[str, Any]:
        return _fake_step(k, k in realtime_ks, 300.0 + 10.0 * k)

    monkeypatch.setattr(capacity, "_run_step", fake_run_step)
    call = DevCall("silence", bytes(TWO_SECONDS_BYTES), "refill", "routine", 2.0, Path("x.wav"))
    return capacity.run_capacity(
        None, cast(Any, None), CareRouteConfig().routing, [call],
        CapacitySettings(step_seconds=1.0, max_calls=max_calls), progress=lambda message: None,
    )


def test_capacity_k1_miss_still_runs_memory_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    result = _capacity_with_fake_steps(monkeypatch, realtime_ks=set(), max_calls=64)
    assert [step["k"] for step in result["steps"]] == [1, 2, 4]
    assert [step["over_capacity"] for step in result["steps"]] == [False, True, True]
    assert result["mem_per_call_mb"] == 10.0
    assert result["max_realtime_calls"] == 0


def test_capacity_over_capacity_pass_not_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    result = _capacity_with_fake_steps(monkeypatch, realtime_ks={2, 4}, max_calls=64)
    assert result["max_realtime_calls"] == 0
    assert result["calls_per_core_basis"] == "CPU cost at K=1, which missed the lag limit"


def test_capacity_stops_after_memory_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    result = _capacity_with_fake_steps(monkeypatch, realtime_ks={1, 2, 4}, max_calls=64)
    assert [step["k"] for step in result["steps"]] == [1, 2, 4, 8]
    assert result["max_realtime_calls"] == 4


def test_capacity_memory_steps_respect_max_calls(monkeypatch: pytest.MonkeyPatch) -> None:
    result = _capacity_with_fake_steps(monkeypatch, realtime_ks=set(), max_calls=2)
    assert [step["k"] for step in result["steps"]] == [1, 2]
