"""``careroute eval``'s core on a few synthesized calls through the real Asterisk and app."""

from __future__ import annotations

import asyncio
import json
import wave
from pathlib import Path
from typing import Any

import pytest

from careroute.livecalls import PASSWORD_ENV, service_config
from careroute.liveeval import read_manifest, run_live_eval
from careroute.livemetrics import CallResult, summary
from careroute.speech import synthesize
from careroute.testbed import Testbed

#: (id, text, voice, queue, urgency): sentences written for this test.
CALLS = [
    ("own-refill", "Hello, I need a refill of my asthma inhaler please.", "piper:joe", "refill", "routine"),
    ("own-billing", "I have a question about a charge on my last bill.", "piper:joe", "billing", "routine"),
    ("own-collapse", "My wife just collapsed and she is not breathing.", "espeak-ng:en-us:s=150:p=50:g=1",
     "nurse", "emergency"),
]
FIGURE_KEYS = {
    "calls", "queue_accuracy", "emergency_recall", "false_emergency_rate", "no_decision_rate",
    "decision_after_speech_ms", "answer_to_queue_ms", "errors",
}
#: Seconds per call: greeting, speech, decision; the watchdog is 30 s.
CALL_TIMEOUT_S = 40.0


def _write_manifest(folder: Path) -> Path:
    lines = []
    for call_id, text, voice, queue, urgency in CALLS:
        audio = folder / f"{call_id}.wav"
        audio.write_bytes(synthesize(text, voice).read_bytes())
        with wave.open(str(audio), "rb") as wav:
            duration = wav.getnframes() / wav.getframerate()
        lines.append(json.dumps({
            "id": call_id, "queue": queue, "urgency": urgency, "hard": False, "voice": voice,
            "audio": audio.name, "duration_s": round(duration, 2),
        }))
    manifest = folder / "manifest.jsonl"
    manifest.write_text("\n".join(lines) + "\n")
    return manifest


@pytest.fixture(scope="module")
def evaluated(
    testbed: Testbed, vosk_model_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[dict[str, CallResult], dict[str, Any]]:
    """Run the live evaluation once for the module; return results by id and the summary."""
    manifest = _write_manifest(tmp_path_factory.mktemp("live-eval"))
    calls = read_manifest(manifest)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(PASSWORD_ENV, testbed.ari_password)
        config = service_config(testbed, vosk_model_dir)
        results = asyncio.run(run_live_eval(calls, testbed, config, concurrency=3, call_timeout_s=CALL_TIMEOUT_S))
    return {result.call_id: result for result in results}, summary(results)


def test_live_eval_summary_has_figure_keys(evaluated: tuple[dict[str, CallResult], dict[str, Any]]) -> None:
    assert evaluated[1].keys() >= FIGURE_KEYS


def test_live_eval_engine_breakdown_has_figure_keys(
    evaluated: tuple[dict[str, CallResult], dict[str, Any]],
) -> None:
    assert all(group.keys() >= FIGURE_KEYS for group in evaluated[1]["by_engine"].values())


def test_live_eval_engine_breakdown_names_engines(evaluated: tuple[dict[str, CallResult], dict[str, Any]]) -> None:
    assert set(evaluated[1]["by_engine"]) == {"piper", "espeak-ng"}


def test_live_eval_hard_breakdown_has_figure_keys(evaluated: tuple[dict[str, CallResult], dict[str, Any]]) -> None:
    assert evaluated[1]["by_hard"]["not_hard"].keys() >= FIGURE_KEYS


def test_live_eval_counts_no_errors(evaluated: tuple[dict[str, CallResult], dict[str, Any]]) -> None:
    assert evaluated[1]["errors"] == 0


@pytest.mark.parametrize(("call_id", "queue"), [(c[0], c[3]) for c in CALLS])
def test_live_eval_call_reaches_expected_queue(
    evaluated: tuple[dict[str, CallResult], dict[str, Any]], call_id: str, queue: str
) -> None:
    assert evaluated[0][call_id].got_queue == queue


@pytest.mark.parametrize(("call_id", "urgency"), [(c[0], c[4]) for c in CALLS])
def test_live_eval_call_has_expected_urgency(
    evaluated: tuple[dict[str, CallResult], dict[str, Any]], call_id: str, urgency: str
) -> None:
    assert evaluated[0][call_id].got_urgency == urgency


def test_live_eval_emergency_joins_with_emergency_priority(
    evaluated: tuple[dict[str, CallResult], dict[str, Any]],
) -> None:
    assert evaluated[1]["emergency_recall"] == 1.0


def test_live_eval_measures_decision_after_speech(evaluated: tuple[dict[str, CallResult], dict[str, Any]]) -> None:
    assert evaluated[1]["decision_after_speech_ms"]["p95"] is not None


def test_live_eval_measures_answer_to_queue(evaluated: tuple[dict[str, CallResult], dict[str, Any]]) -> None:
    assert evaluated[1]["answer_to_queue_ms"]["p50"] is not None
