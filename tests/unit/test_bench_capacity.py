"""A tiny capacity run: one simulated call on 2 s of synthesized speech, real model."""

from __future__ import annotations

from pathlib import Path

from careroute.audio import SAMPLE_WIDTH_BYTES, TELEPHONE_RATE_HZ
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
