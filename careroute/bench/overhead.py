"""Overhead: the same samples through a bare Vosk loop and through the whole engine.

For each dev call the engine (``CallPipeline``: upsampling, Vosk, result
parsing, classifier, policy) runs first, frame by frame, until its decision.
The engine ignores audio after a decision, so the bare loop then decodes
exactly the frames the engine decoded. The bare loop is the floor: Vosk's
``AcceptWaveform`` plus ``Result``/``PartialResult`` on audio upsampled
beforehand (upsampling is part of the engine's cost). Both loops run in the
same thread and are timed with ``time.thread_time``, so other processes on
the machine change the wall time but not the CPU time measured.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.signal import resample_poly

from careroute.audio import SAMPLE_WIDTH_BYTES, TELEPHONE_RATE_HZ, WIDEBAND_RATE_HZ
from careroute.bench.calls import FRAME_SECONDS, DevCall
from careroute.config import RoutingConfig
from careroute.pipeline import CallPipeline, ScoreSource
from careroute.recognizer import Word

UPSAMPLE_FACTOR = WIDEBAND_RATE_HZ // TELEPHONE_RATE_HZ


@dataclass(frozen=True, slots=True)
class PairedRun:
    """One dev call decoded by the engine and by the bare loop, up to the same sample."""

    call: DevCall
    frames: int
    """20 ms frames both loops decoded."""
    finished: bool
    """The engine reached the end of the audio and flushed the recognizer."""
    engine_cpu_s: float
    bare_cpu_s: float
    decision_queue: str | None
    decision_urgency: str | None
    trigger: str | None
    label_at_decision: tuple[str | None, str] | None
    """Classifier (queue, urgency) of the transcript the decision was made on."""
    decision_audio_s: float | None
    deciding_step_wall_s: float
    """Wall time of the ``feed`` (or ``finish``) call that returned the decision."""
    words: tuple[Word, ...]
    """Vosk's word timings of the bare loop, from its final results."""
    classifier_s: float
    classifications: int
    partials: int

    @property
    def audio_s(self) -> float:
        return self.frames * FRAME_SECONDS


def upsampled_frames(call: DevCall) -> list[bytes]:
    """Return the call upsampled to 16 kHz in one pass, cut into 20 ms frames."""
    samples = np.frombuffer(call.pcm, dtype="<i2").astype(np.float64)
    wide = np.clip(resample_poly(samples, UPSAMPLE_FACTOR, 1), -32768, 32767).astype("<i2").tobytes()
    frame_bytes = int(WIDEBAND_RATE_HZ * FRAME_SECONDS) * SAMPLE_WIDTH_BYTES
    return [wide[i : i + frame_bytes] for i in range(0, len(wide), frame_bytes)]


def bare_decode(model: Any, frames: Sequence[bytes], finish: bool) -> tuple[float, list[str]]:
    """Decode ``frames`` with Vosk alone; return its CPU seconds and its final results as JSON."""
    import vosk

    recognizer = vosk.KaldiRecognizer(model, WIDEBAND_RATE_HZ)
    recognizer.SetWords(True)
    recognizer.SetPartialWords(False)
    results: list[str] = []
    began = time.thread_time()
    for frame in frames:
        if recognizer.AcceptWaveform(frame):
            results.append(recognizer.Result())
        else:
            recognizer.PartialResult()
    if finish:
        results.append(recognizer.FinalResult())
    cpu = time.thread_time() - began
    if not finish:
        # Untimed: the words heard so far, which the engine's decision was based on.
        results.append(recognizer.FinalResult())
    return cpu, results


def timed_words(results: Sequence[str]) -> tuple[Word, ...]:
    """Return the timed words of Vosk final results (JSON strings), in order."""
    words: list[Word] = []
    for raw in results:
        for item in json.loads(raw).get("result", ()):
            words.append(
                Word(str(item["word"]), float(item["start"]), float(item["end"]), float(item["conf"]))
            )
    return tuple(words)


def feed_until_decision(
    pipeline: CallPipeline, frames: Sequence[bytes], seconds: float
) -> tuple[int, float, bool]:
    """Feed ``frames`` on an audio-time clock until the pipeline decides, else finish it.

    Returns the frames fed, the wall seconds of the last step (the one that
    decided, when one did) and whether the audio ran out before a decision.
    """
    fed = 0
    step_wall = 0.0
    for frame in frames:
        step_began = time.perf_counter()
        # The pipeline's clock is audio time: the end of the frame just fed.
        pipeline.feed(frame, now=(fed + 1) * FRAME_SECONDS)
        step_wall = time.perf_counter() - step_began
        fed += 1
        if pipeline.decision is not None:
            return fed, step_wall, False
    step_began = time.perf_counter()
    pipeline.finish(now=seconds)
    return fed, time.perf_counter() - step_began, True


def decode_pair(
    call: DevCall, model: Any, classifier: ScoreSource, routing: RoutingConfig
) -> PairedRun:
    """Decode ``call`` with the engine, then with the bare loop up to the same frame."""
    frames = call.frames()
    wide_frames = upsampled_frames(call)
    pipeline = CallPipeline.create(
        model, classifier, routing, input_rate=TELEPHONE_RATE_HZ, call_id=call.call_id,
        clock=lambda: 0.0,
    )
    began = time.thread_time()
    fed, step_wall, finished = feed_until_decision(pipeline, frames, call.seconds)
    engine_cpu = time.thread_time() - began

    bare_cpu, results = bare_decode(model, wide_frames[:fed], finish=finished)
    trace = pipeline.trace
    decision = pipeline.decision
    scores = trace.scores_at_decision
    return PairedRun(
        call=call,
        frames=fed,
        finished=finished,
        engine_cpu_s=engine_cpu,
        bare_cpu_s=bare_cpu,
        decision_queue=decision.queue if decision else None,
        decision_urgency=decision.urgency if decision else None,
        trigger=decision.trigger.value if decision else None,
        label_at_decision=(scores.queue, scores.urgency) if scores else None,
        decision_audio_s=trace.decided_at,
        deciding_step_wall_s=step_wall,
        words=timed_words(results),
        classifier_s=trace.classifier_seconds,
        classifications=trace.classifications,
        partials=trace.partials,
    )


def decode_pairs(
    calls: Sequence[DevCall],
    model: Any,
    classifier: ScoreSource,
    routing: RoutingConfig,
    progress: Callable[[str], None] = print,
) -> list[PairedRun]:
    """Decode every call in pairs, after one untimed warm-up call."""
    if not calls:
        raise ValueError("overhead needs at least one dev call; pass a manifest with rows")
    decode_pair(calls[0], model, classifier, routing)
    runs: list[PairedRun] = []
    for index, call in enumerate(calls, start=1):
        runs.append(decode_pair(call, model, classifier, routing))
        if index % 10 == 0 or index == len(calls):
            progress(f"decoded {index}/{len(calls)} calls with the engine and the bare loop")
    return runs


def summarize_overhead(runs: Sequence[PairedRun]) -> dict[str, Any]:
    """Return the CPU ratio engine / bare over all runs, plus the classifier's share."""
    engine = sum(run.engine_cpu_s for run in runs)
    bare = sum(run.bare_cpu_s for run in runs)
    audio = sum(run.audio_s for run in runs)
    classifier = sum(run.classifier_s for run in runs)
    classifications = sum(run.classifications for run in runs)
    return {
        "overhead_ratio": round(engine / bare, 3) if bare else None,
        "classifier_ms_per_partial": (
            round(classifier / classifications * 1000, 3) if classifications else None
        ),
        "calls": len(runs),
        "audio_seconds": round(audio, 2),
        "engine_cpu_seconds": round(engine, 3),
        "bare_cpu_seconds": round(bare, 3),
        "engine_cpu_per_audio_second": round(engine / audio, 4) if audio else None,
        "bare_cpu_per_audio_second": round(bare / audio, 4) if audio else None,
        # The floor: how many calls one core could decode if CareRoute cost nothing.
        "vosk_calls_per_core": round(audio / bare, 2) if bare else None,
        "classifier_cpu_share": round(classifier / engine, 4) if engine else None,
        "classifications": classifications,
        "partials": sum(run.partials for run in runs),
    }
