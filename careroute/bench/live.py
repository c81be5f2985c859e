"""Live: N concurrent callers through the test-bed Asterisk and the in-process service.

The test bed runs on its own ports, so a developer's test bed can keep
running. Each round places N callers at once; each caller waits out the
greeting, speaks a dev call and holds. Arrivals come from Asterisk itself
(the CareRouteQueue user event over AMI), answers from AMI ``Newstate``
events, so the figures do not trust the app's own log. A task in the
service's event loop sleeps 10 ms over and over and records how late it wakes.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import httpx

from agi.ami import AmiClient, AmiEvent
from ari_app.client import AriClient
from ari_app.runner import ari_base_url, build_service
from careroute.bench.calls import DevCall
from careroute.bench.report import summarize_ms
from careroute.config import CareRouteConfig, RecognizerConfig, parse_config
from careroute.logs import configure_logging
from careroute.queuewatch import QueueWatch
from careroute.testbed import Testbed, TestbedSettings, ensure_root
from careroute.testcallers import place_call

#: Ports of the benchmark's own test bed, apart from the defaults of ``careroute testbed``.
BENCH_HTTP_PORT = 18488
BENCH_AMI_PORT = 15438
BENCH_RTP_START = 26000
BENCH_RTP_END = 26999
#: The service's externalMedia ports: one per call, with room for N = 20 and stragglers.
MEDIA_PORT_MIN = 33400
MEDIA_PORT_MAX = 33499
PASSWORD_ENV = "CAREROUTE_BENCH_ARI_PASSWORD"
#: The shipped greeting lasts about 4 s; callers start speaking after it.
GREETING_S = 4.0
#: Extra seconds to wait for an arrival after the caller stopped speaking before it counts as lost.
ARRIVAL_GRACE_S = 15.0
#: Channel state 6 is "Up": the app answered the caller.
CHANNEL_STATE_UP = "6"
LAG_PROBE_S = 0.010


def _config(testbed: Testbed, recognizer: RecognizerConfig) -> CareRouteConfig:
    config = parse_config(
        {
            "ari": {
                "url": f"http://127.0.0.1:{testbed.settings.http_port}",
                "user": testbed.ari_user,
                "password_env": PASSWORD_ENV,
            },
            "media": {"rtp_port_min": MEDIA_PORT_MIN, "rtp_port_max": MEDIA_PORT_MAX},
            "health": {"port": testbed.settings.http_port + 11},
        }
    )
    # The service decodes with the same model and decoder settings as the other parts.
    return dataclasses.replace(config, recognizer=recognizer)


@contextlib.asynccontextmanager
async def _running_service(config: CareRouteConfig) -> AsyncIterator[None]:
    client = AriClient(
        ari_base_url(config.ari.url), config.ari.user, config.ari.password(), config.ari.app,
        request_timeout=config.ari.request_timeout,
    )
    async with client:
        service = build_service(config, client)
        task = asyncio.get_running_loop().create_task(service.run())
        try:
            async with asyncio.timeout(15):
                await client.connected.wait()
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def _probe_lag(lags: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        began = time.monotonic()
        await asyncio.sleep(LAG_PROBE_S)
        lags.append(time.monotonic() - began - LAG_PROBE_S)


def arrival_window(testbed: Testbed, call: DevCall) -> float:
    """Seconds a call may take to reach a queue before it counts as lost.

    Under overload the app may run out of listening time. The dialplan
    watchdog still hands the caller to a human then, so a call is lost only
    when not even the watchdog moved it.
    """
    return max(GREETING_S + call.seconds + ARRIVAL_GRACE_S, testbed.settings.watchdog_s + ARRIVAL_GRACE_S)


async def _wait_idle(testbed: Testbed, timeout_s: float) -> bool:
    """Wait until the test bed has no channels; return False on timeout."""
    settings = testbed.settings
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient(auth=(settings.ari_user, settings.ari_password), timeout=5.0) as client:
        while time.monotonic() < deadline:
            response = await client.get(f"{testbed.ari_url}/channels")
            response.raise_for_status()
            if not response.json():
                return True
            await asyncio.sleep(0.5)
    return False


async def _round(
    testbed: Testbed,
    watch: QueueWatch,
    answered: dict[str, float],
    calls: Sequence[DevCall],
    emergency_queue: str,
) -> dict[str, Any]:
    placed_at = time.monotonic()
    placed = await asyncio.gather(
        *(
            place_call(testbed, call.path, delay_s=GREETING_S, hold_s=arrival_window(testbed, call) + 2.0)
            for call in calls
        )
    )
    arrivals = await asyncio.gather(
        *(
            watch.wait_for(one.caller_channel_id, timeout_s=arrival_window(testbed, call))
            for one, call in zip(placed, calls, strict=True)
        )
    )
    answer_to_queue: list[float] = []
    speech_end_to_queue: list[float] = []
    lost: list[str] = []
    misrouted: list[str] = []
    for one, call, arrival in zip(placed, calls, arrivals, strict=True):
        if arrival is None:
            lost.append(call.call_id)
            continue
        expected = emergency_queue if call.urgency == "emergency" else call.queue
        if arrival.queue != expected:
            misrouted.append(f"{call.call_id}: {expected} -> {arrival.queue}")
        answered_at = answered.get(one.caller_channel_id, placed_at)
        answer_to_queue.append(arrival.arrived_at - answered_at)
        speech_end_to_queue.append(arrival.arrived_at - (answered_at + GREETING_S + call.speech_end_s))
    return {
        "n": len(calls),
        "lost": len(lost),
        "lost_calls": lost,
        "misrouted": len(misrouted),
        "misrouted_calls": misrouted,
        "answers_seen": sum(1 for one in placed if one.caller_channel_id in answered),
        "answer_to_queue": summarize_ms(answer_to_queue),
        "speech_end_to_queue": summarize_ms(speech_end_to_queue),
    }


async def _live(
    testbed: Testbed,
    calls: Sequence[DevCall],
    sizes: Sequence[int],
    progress: Callable[[str], None],
    recognizer: RecognizerConfig,
) -> dict[str, Any]:
    config = _config(testbed, recognizer)
    rounds: list[dict[str, Any]] = []
    answered: dict[str, float] = {}

    def on_newstate(event: AmiEvent) -> None:
        if event.headers.get("ChannelState") == CHANNEL_STATE_UP:
            answered.setdefault(event.headers.get("Uniqueid", ""), time.monotonic())

    async with _running_service(config), AmiClient(
        "127.0.0.1", testbed.ami_port, testbed.settings.ami_user, testbed.settings.ami_password
    ) as ami:
        watch = QueueWatch(ami)
        remove = ami.on_event("Newstate", on_newstate)
        try:
            for index, size in enumerate(sizes):
                chosen = [calls[(index * 7 + i) % len(calls)] for i in range(size)]
                lags: list[float] = []
                stop = asyncio.Event()
                probe = asyncio.get_running_loop().create_task(_probe_lag(lags, stop))
                result = await _round(testbed, watch, answered, chosen, config.routing.emergency_queue)
                stop.set()
                await probe
                result["event_loop_lag"] = summarize_ms(lags)
                result["idle_after_round"] = await _wait_idle(testbed, timeout_s=60.0)
                rounds.append(result)
                progress(
                    f"live N={size}: lost {result['lost']}, misrouted {result['misrouted']}, "
                    f"answer-to-queue p95 {result['answer_to_queue']['p95_ms']} ms, "
                    f"loop lag p95 {result['event_loop_lag']['p95_ms']} ms"
                )
        finally:
            remove()
            watch.close()
    largest = max(rounds, key=lambda item: item["n"]) if rounds else None
    return {
        "live_lost_calls": largest["lost"] if largest else None,
        "live_lost_calls_all_rounds": sum(item["lost"] for item in rounds),
        "live_misrouted_calls_all_rounds": sum(item["misrouted"] for item in rounds),
        "rounds": rounds,
    }


def run_live(
    calls: Sequence[DevCall],
    sizes: Sequence[int],
    progress: Callable[[str], None] = print,
    recognizer: RecognizerConfig | None = None,
) -> dict[str, Any]:
    """Start the benchmark's test bed, run one round per N in ``sizes``, stop the test bed."""
    settings = TestbedSettings(
        http_port=BENCH_HTTP_PORT, ami_port=BENCH_AMI_PORT,
        rtp_start=BENCH_RTP_START, rtp_end=BENCH_RTP_END,
    )
    # The service logs every call at info level; the benchmark prints its own progress.
    configure_logging("warning")
    testbed = Testbed(ensure_root(progress=progress), settings, name="bench")
    progress(f"starting the benchmark test bed on 127.0.0.1:{BENCH_HTTP_PORT}")
    with testbed:
        os.environ[PASSWORD_ENV] = testbed.ari_password
        return asyncio.run(_live(testbed, calls, sizes, progress, recognizer or RecognizerConfig()))
