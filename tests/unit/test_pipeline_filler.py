"""A filler word and a pause before the request: real Vosk, real classifier, real policy."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from careroute.classifier import Classifier
from careroute.config import CareRouteConfig
from careroute.pipeline import CallPipeline
from careroute.policy import Action, Decision, Reprompt
from careroute.recognizer import load_vosk_model
from careroute.speech import read_pcm16, synthesize

#: 20 ms of 8 kHz 16-bit audio, the size of an RTP packet's payload.
FRAME_BYTES = 320


@pytest.fixture(scope="module")
def model() -> Any:
    config = CareRouteConfig().recognizer
    return load_vosk_model(config.resolved_model_path(), config.decoder_settings(), graph=config.graph)


def actions_for_um_then_refill(model: Any, reprompt_delay_seconds: float) -> list[Action]:
    """Feed "Um.", one second of silence, then a refill request, and return the actions."""
    um, rate = read_pcm16(synthesize("Um.", "piper:joe"))
    request, _ = read_pcm16(synthesize("I need a refill of my inhaler please.", "piper:joe"))
    audio = um + bytes(rate * 2) + request + bytes(rate * 2)
    routing = dataclasses.replace(CareRouteConfig().routing, reprompt_delay_seconds=reprompt_delay_seconds)
    pipeline = CallPipeline.create(model, Classifier.load(None), routing, input_rate=rate, model_rate=16000)
    actions: list[Action] = []
    for index, start in enumerate(range(0, len(audio), FRAME_BYTES)):
        actions += pipeline.feed(audio[start : start + FRAME_BYTES], (index + 1) * 0.02)
    return actions


def test_filler_pause_plays_no_reprompt(model: Any) -> None:
    actions = actions_for_um_then_refill(model, reprompt_delay_seconds=1.5)
    assert not any(isinstance(action, Reprompt) for action in actions)
    decisions = [action for action in actions if isinstance(action, Decision)]
    assert [decision.queue for decision in decisions] == ["refill"]


def test_filler_pause_without_delay_reprompts(model: Any) -> None:
    # Without the delay the reprompt played while the caller started the request.
    actions = actions_for_um_then_refill(model, reprompt_delay_seconds=0.0)
    assert any(isinstance(action, Reprompt) for action in actions)
