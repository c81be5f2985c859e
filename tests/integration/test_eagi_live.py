"""The EAGI entry point live: the real Asterisk test bed, the real relay and the real engine.

Callers enter ``[careroute-eagi-entry]`` through the test bed's
``[inbound-eagi]``. Asterisk runs the relay installed in its root with the
root's own Python, and the relay connects to an engine in this process on a
free port, passed per call in ``CAREROUTE_EAGI_ENGINE``. Outcomes are read
from the CareRouteQueue user events that Asterisk sends over AMI.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest

from agi.eagi_call import RelayGone, read_frame
from agi.eagi_relay import FRAME_AUDIO, FRAME_EXIT, FRAME_HANGUP, encode_frame
from agi.eagi_server import EagiServer, build_server
from careroute.livecalls import queue_watch, service_config
from careroute.speech import read_pcm16, synthesize
from careroute.testbed import Testbed
from careroute.testcallers import place_call

#: The greeting lasts about 4 s; a caller starts talking after it.
GREETING_S = 4.0
#: With the engine down, loopback refuses the relay's connect at once. The
#: rest of the bound covers a few dialplan steps and the Local channel set-up.
ENGINE_DOWN_BOUND_S = 5.0
#: Seconds of caller audio the byte-order probe records.
PROBE_SECONDS = 2.5


@contextlib.asynccontextmanager
async def running_engine(testbed: Testbed, model_dir: Path) -> AsyncIterator[EagiServer]:
    """Run the EAGI engine on a free loopback port until the block ends."""
    server = build_server(service_config(testbed, model_dir), port=0)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


def closed_port() -> int:
    """Return a loopback TCP port that nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("text", "queue", "urgency"),
    [
        ("I am calling because I need a refill on my blood pressure pills.", "refill", "routine"),
        ("My husband has crushing chest pain and he is sweating a lot.", "nurse", "emergency"),
        # The red flag comes last, so only the silence after it ends the sentence.
        ("I have a question about my bill, and my husband is not breathing.", "nurse", "emergency"),
    ],
    ids=["refill", "chest-pain", "late-red-flag"],
)
async def test_eagi_caller_routed_to_queue(
    testbed: Testbed, vosk_model_dir: Path, text: str, queue: str, urgency: str
) -> None:
    wav = synthesize(text, "piper:joe")
    async with running_engine(testbed, vosk_model_dir) as engine, queue_watch(testbed) as watch:
        call = await place_call(
            testbed, wav, delay_s=GREETING_S, hold_s=12, entry="inbound-eagi",
            variables={"CAREROUTE_EAGI_ENGINE": f"127.0.0.1:{engine.port}"},
        )
        arrival = await watch.wait_for(call.caller_channel_id, timeout_s=30)
    assert arrival is not None
    assert arrival.queue == queue
    assert arrival.urgency == urgency
    assert arrival.priority == service_config(testbed, vosk_model_dir).routing.priorities.for_urgency(urgency)
    assert engine.stats.routed == 1


@pytest.mark.asyncio
async def test_eagi_engine_down_reaches_front_desk(testbed: Testbed) -> None:
    async with queue_watch(testbed) as watch:
        placed_at = time.monotonic()
        call = await place_call(
            testbed, None, hold_s=10, entry="inbound-eagi",
            variables={"CAREROUTE_EAGI_ENGINE": f"127.0.0.1:{closed_port()}"},
        )
        arrival = await watch.wait_for(call.caller_channel_id, timeout_s=ENGINE_DOWN_BOUND_S)
    assert arrival is not None
    assert arrival.queue == "front_desk"
    assert arrival.reason == "engine unavailable"
    assert arrival.arrived_at - placed_at < ENGINE_DOWN_BOUND_S


@pytest.mark.asyncio
async def test_eagi_missing_relay_reaches_front_desk(testbed: Testbed) -> None:
    async with queue_watch(testbed) as watch:
        call = await place_call(
            testbed, None, hold_s=10, entry="inbound-eagi",
            variables={"CAREROUTE_EAGI_RELAY": "/usr/local/lib/careroute/missing.py"},
        )
        arrival = await watch.wait_for(call.caller_channel_id, timeout_s=ENGINE_DOWN_BOUND_S)
    assert arrival is not None
    assert arrival.queue == "front_desk"
    assert arrival.reason == "relay failed"


def best_correlation(received: np.ndarray, source: np.ndarray) -> float:
    """Return the peak normalized cross-correlation of ``source`` within ``received``."""
    received = received.astype(np.float64)
    source = source.astype(np.float64)
    window = source[: min(source.size, received.size) // 2]
    best = 0.0
    for lag in range(0, received.size - window.size, 4):
        segment = received[lag : lag + window.size]
        denominator = np.linalg.norm(segment) * np.linalg.norm(window)
        if denominator > 0:
            best = max(best, float(np.dot(segment, window) / denominator))
    return best


@pytest.mark.asyncio
async def test_eagi_audio_is_little_endian_slin(testbed: Testbed) -> None:
    """Pin the EAGI audio format: 8 kHz signed 16-bit in the host's (little-endian) byte order."""
    wav = synthesize("I need a refill on my blood pressure pills.", "piper:joe")
    source_pcm, source_rate = read_pcm16(wav)
    received = bytearray()
    expected_bytes = int(PROBE_SECONDS * source_rate) * 2
    recorded = asyncio.Event()

    async def record(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            frame_type, _ = await read_frame(reader)
            while frame_type != FRAME_HANGUP and len(received) < expected_bytes:
                frame_type, payload = await read_frame(reader)
                if frame_type == FRAME_AUDIO:
                    received.extend(payload)
            writer.write(encode_frame(FRAME_EXIT))
            await writer.drain()
        except RelayGone:
            pass
        finally:
            writer.close()
            recorded.set()

    server = await asyncio.start_server(record, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        await place_call(
            testbed, wav, delay_s=0.3, hold_s=6, entry="inbound-eagi",
            variables={"CAREROUTE_EAGI_ENGINE": f"127.0.0.1:{port}"},
        )
        await asyncio.wait_for(recorded.wait(), timeout=PROBE_SECONDS + 10.0)
    usable = len(received) - len(received) % 2
    source = np.frombuffer(source_pcm, dtype="<i2")[: int(source_rate * 1.5)]
    little = best_correlation(np.frombuffer(bytes(received[:usable]), dtype="<i2"), source)
    big = best_correlation(np.frombuffer(bytes(received[:usable]), dtype=">i2"), source)
    assert len(received) >= expected_bytes
    assert little > 0.9
    assert big < 0.5
