"""Capacity: K simulated calls at real-time pace through the engine, without Asterisk.

Each of the K call slots feeds dev-call audio in 20 ms frames on a clock, the
way RTP arrives, and decodes each frame in a shared thread pool, as the live
service does. After the decision the slot keeps decoding the rest of the call
through the pipeline's red-flag watch, as the live service does. When the
call's audio ends, the slot starts the next dev call at once, so K calls are
always in progress. A frame's lag is the time from the moment its last sample
would have arrived to the moment the engine finished with it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from careroute.audio import TELEPHONE_RATE_HZ
from careroute.bench.calls import (
    FRAME_SECONDS,
    DevCall,
    cpu_count,
    process_cpu_seconds,
    rss_mb,
)
from careroute.bench.report import percentile, slope, summarize_ms
from careroute.config import RoutingConfig
from careroute.pipeline import CallPipeline, ScoreSource
from careroute.recognizer import RecognizerPool, run_off_loop

#: A call counts as real-time while the p95 of its frame lag stays under 200 ms (the project's target).
LAG_LIMIT_S = 0.200
#: A step stops early once any frame lags this far, because that K has already failed.
ABORT_LAG_S = 3.0
#: Ks that run even after a smaller K missed the lag limit, so that the RSS slope over K
#: (memory per extra call) has at least three points. They are marked ``over_capacity``.
MEMORY_KS = (1, 2, 4)


@dataclass(slots=True)
class _StepCounters:
    lags: list[float] = field(default_factory=list)
    audio_seconds: float = 0.0
    calls_started: int = 0
    calls_decided: int = 0
    aborted: bool = False


@dataclass(frozen=True, slots=True)
class CapacitySettings:
    """Range and length of the capacity steps."""

    step_seconds: float = 10.0
    """Wall seconds of simulated traffic per K."""
    max_calls: int = 64
    """Largest K tried; doubling stops here even when the lag is still low."""
    workers: int = 0
    """Decode threads; 0 means one per core (at least 2), as the live service uses."""


async def _run_slot(
    slot: int,
    k: int,
    calls: Sequence[DevCall],
    make_pipeline: Any,
    executor: Executor,
    deadline: float,
    counters: _StepCounters,
) -> list[CallPipeline]:
    loop_clock = time.monotonic
    # Spread the slots' frame arrivals over one frame interval, as independent calls would be.
    slot_start = loop_clock() + FRAME_SECONDS * slot / k
    frames_done = 0
    call_index = slot
    alive: list[CallPipeline] = []
    while not counters.aborted:
        call = calls[call_index % len(calls)]
        call_index += k
        pipeline: CallPipeline = make_pipeline(f"slot{slot}-{call.call_id}")
        alive = [pipeline]
        counters.calls_started += 1
        for frame in call.frames():
            due = slot_start + (frames_done + 1) * FRAME_SECONDS
            if due > deadline or counters.aborted:
                return alive
            delay = due - loop_clock()
            if delay > 0:
                await asyncio.sleep(delay)
            if pipeline.decision is None:
                await pipeline.feed_async(frame, executor=executor)
            else:
                # The live app keeps decoding after routing to catch a late red flag.
                await run_off_loop(pipeline.watch, frame, executor=executor)
            frames_done += 1
            lag = loop_clock() - due
            counters.lags.append(lag)
            counters.audio_seconds += len(frame) / 2 / TELEPHONE_RATE_HZ
            if lag > ABORT_LAG_S:
                counters.aborted = True
        if pipeline.decision is not None:
            counters.calls_decided += 1
        else:
            await pipeline.finish_async(executor=executor)
        await run_off_loop(pipeline.release, executor=executor)
    return alive


async def _run_step(
    k: int,
    calls: Sequence[DevCall],
    make_pipeline: Any,
    executor: Executor,
    step_seconds: float,
) -> dict[str, Any]:
    counters = _StepCounters()
    cpu_before = process_cpu_seconds()
    wall_before = time.monotonic()
    deadline = wall_before + step_seconds
    alive = await asyncio.gather(
        *(_run_slot(slot, k, calls, make_pipeline, executor, deadline, counters) for slot in range(k))
    )
    # RSS while the K pipelines still exist, so the slope over K is memory per live call.
    resident_mb = rss_mb()
    cpu = process_cpu_seconds() - cpu_before
    wall = time.monotonic() - wall_before
    del alive
    lag = summarize_ms(counters.lags)
    p95 = percentile(counters.lags, 0.95) if counters.lags else float("inf")
    audio = counters.audio_seconds
    return {
        "k": k,
        "lag": lag,
        "realtime": p95 <= LAG_LIMIT_S and not counters.aborted,
        "aborted": counters.aborted,
        "wall_seconds": round(wall, 2),
        "cpu_seconds": round(cpu, 3),
        "audio_seconds": round(audio, 2),
        "cpu_per_audio_second_per_call": round(cpu / audio, 4) if audio else None,
        "cpu_utilisation_cores": round(cpu / wall, 3) if wall else None,
        "rss_mb": round(resident_mb, 1),
        "calls_started": counters.calls_started,
        "calls_decided": counters.calls_decided,
    }


def run_capacity(
    model: Any,
    classifier: ScoreSource,
    routing: RoutingConfig,
    calls: Sequence[DevCall],
    settings: CapacitySettings,
    progress: Any = print,
) -> dict[str, Any]:
    """Double K from 1 until the p95 lag exceeds ``LAG_LIMIT_S`` or K passes ``max_calls``.

    After the first K that misses the lag limit, the remaining Ks of
    ``MEMORY_KS`` still run (marked ``over_capacity``) for the memory slope.
    Returns the per-K steps, the largest real-time K, calls per core and the
    memory per extra call (the RSS slope over K).
    """
    if not calls:
        raise ValueError("capacity needs at least one dev call; pass a manifest with rows")
    cores = cpu_count()
    workers = settings.workers or max(2, cores)

    # Recognizers are reused across calls, as in the live service.
    recognizers = RecognizerPool(model, input_rate=TELEPHONE_RATE_HZ)

    def make_pipeline(call_id: str) -> CallPipeline:
        return CallPipeline.create(
            model, classifier, routing, input_rate=TELEPHONE_RATE_HZ, call_id=call_id,
            pool=recognizers,
        )

    steps: list[dict[str, Any]] = []
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="bench-decode") as executor:
        k = 1
        over_capacity = False
        while k <= settings.max_calls and (not over_capacity or k in MEMORY_KS):
            step = asyncio.run(_run_step(k, calls, make_pipeline, executor, settings.step_seconds))
            step["over_capacity"] = over_capacity
            steps.append(step)
            progress(
                f"capacity K={k}: lag p95 {step['lag']['p95_ms']} ms, "
                f"CPU {step['cpu_per_audio_second_per_call']} s per audio s, RSS {step['rss_mb']} MiB"
                + (" (over capacity, run for the memory slope)" if over_capacity else "")
            )
            if not step["realtime"]:
                over_capacity = True
            k *= 2
    return summarize_capacity(steps, cores, workers, settings)


def summarize_capacity(
    steps: list[dict[str, Any]], cores: int, workers: int, settings: CapacitySettings
) -> dict[str, Any]:
    """Derive the capacity figures from the per-K steps."""
    # A step after the first miss only measures memory; it cannot raise the capacity.
    passing = [step for step in steps if step["realtime"] and not step.get("over_capacity")]
    best = max(passing, key=lambda step: step["k"]) if passing else None
    # NOTE: when even K=1 misses the lag limit, calls per core still comes from K=1's CPU
    # cost. "calls_per_core_basis" records this, so read it together with max_realtime_calls.
    basis = best or (steps[0] if steps else None)
    cost = basis["cpu_per_audio_second_per_call"] if basis else None
    memory_slope = slope([float(step["k"]) for step in steps], [step["rss_mb"] for step in steps])
    return {
        # One core decodes 1 / cost calls in real time. Other load on a shared machine changes
        # this CPU cost less than it changes the largest K that kept up.
        "calls_per_core": round(1.0 / cost, 2) if cost else None,
        "calls_per_core_basis": (
            f"CPU cost at K={basis['k']}" + ("" if best else ", which missed the lag limit")
            if basis else None
        ),
        "max_realtime_calls": best["k"] if best else 0,
        "max_realtime_calls_per_core": round(best["k"] / cores, 2) if best else 0.0,
        "capped": bool(best and best["k"] * 2 > settings.max_calls and len(passing) == len(steps)),
        "mem_per_call_mb": round(memory_slope, 2) if memory_slope is not None else None,
        "cores": cores,
        "workers": workers,
        "step_seconds": settings.step_seconds,
        "lag_limit_ms": LAG_LIMIT_S * 1000,
        "steps": steps,
    }
