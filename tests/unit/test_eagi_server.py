"""The EAGI engine with a fake relay client: real Vosk, real classifier, real policy."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
from structlog.testing import capture_logs

from agi.eagi_call import read_frame
from agi.eagi_relay import (
    FRAME_AUDIO,
    FRAME_COMMAND,
    FRAME_ENVIRONMENT,
    FRAME_EXIT,
    FRAME_REPLY,
    encode_frame,
)
from agi.eagi_server import EagiServer, build_server
from careroute.config import parse_config
from careroute.speech import read_pcm16, synthesize

ENVIRONMENT = b"agi_request: eagi_relay.py\nagi_channel: Local/s@inbound-eagi-1;2\nagi_uniqueid: 1700000000.7"
#: Seconds a whole fake call may take; the engine decides within about 2 s of audio.
CALL_TIMEOUT_S = 30.0
#: 100 ms of 8 kHz 16-bit audio, the size of the relay's reads.
CHUNK_BYTES = 1600


@contextlib.asynccontextmanager
async def running_server(**eagi: object) -> AsyncIterator[EagiServer]:
    server = build_server(parse_config({"eagi": {"watch_seconds": 0.5, **eagi}}), port=0)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


class FakeRelay:
    """Plays the relay's side of the protocol and records the AGI commands it got."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.commands: list[str] = []

    async def send(self, frame_type: int, payload: bytes = b"") -> None:
        self.writer.write(encode_frame(frame_type, payload))
        await self.writer.drain()

    async def next_command(self) -> str | None:
        """Return the next COMMAND line, or None when the engine sent EXIT."""
        frame_type, payload = await read_frame(self.reader)
        if frame_type == FRAME_EXIT:
            return None
        assert frame_type == FRAME_COMMAND
        self.commands.append(payload.decode())
        return payload.decode()

    def variables(self) -> dict[str, str]:
        """Return the SET VARIABLE commands received, by variable name."""
        found: dict[str, str] = {}
        for command in self.commands:
            if command.startswith("SET VARIABLE "):
                name, value = command.removeprefix("SET VARIABLE ").split(" ", 1)
                found[name] = value.strip('"')
        return found

    async def answer_until_exit(self, reply: str = "200 result=1") -> None:
        while await self.next_command() is not None:
            await self.send(FRAME_REPLY, reply.encode())


@contextlib.asynccontextmanager
async def connect(server: EagiServer) -> AsyncIterator[FakeRelay]:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        yield FakeRelay(reader, writer)
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


@pytest.mark.asyncio
async def test_server_routes_refill_caller() -> None:
    pcm, rate = read_pcm16(synthesize("I am calling because I need a refill on my blood pressure pills."))
    async with running_server() as server, connect(server) as relay:
        await relay.send(FRAME_ENVIRONMENT, ENVIRONMENT)
        greeting = await relay.next_command()
        await relay.send(FRAME_REPLY, b"200 result=0 endpos=32000")
        for start in range(0, len(pcm), CHUNK_BYTES):
            await relay.send(FRAME_AUDIO, pcm[start : start + CHUNK_BYTES])
        async with asyncio.timeout(CALL_TIMEOUT_S):
            await relay.answer_until_exit()
    variables = relay.variables()
    assert rate == 8000
    assert greeting == 'STREAM FILE careroute/greeting "0"'
    assert variables["CAREROUTE_QUEUE"] == "refill"
    assert variables["CAREROUTE_URGENCY"] == "routine"
    assert variables["QUEUE_PRIO"] == "0"
    assert variables["CAREROUTE_CALL_ID"] == "1700000000-7"
    assert 0.0 < float(variables["CAREROUTE_CONFIDENCE"]) <= 1.0
    assert server.stats.routed == 1


@pytest.mark.asyncio
async def test_server_operator_digit_during_greeting() -> None:
    async with running_server() as server, connect(server) as relay:
        await relay.send(FRAME_ENVIRONMENT, ENVIRONMENT)
        await relay.next_command()
        await relay.send(FRAME_REPLY, b"200 result=48 endpos=4000")
        async with asyncio.timeout(CALL_TIMEOUT_S):
            await relay.answer_until_exit()
    variables = relay.variables()
    assert variables["CAREROUTE_QUEUE"] == "front_desk"
    assert variables["CAREROUTE_URGENCY"] == "routine"


@pytest.mark.asyncio
async def test_server_wrong_first_frame_leaves_caller_to_dialplan() -> None:
    async with running_server() as server, connect(server) as relay:
        await relay.send(FRAME_AUDIO, b"\x00\x00" * 160)
        async with asyncio.timeout(CALL_TIMEOUT_S):
            await relay.answer_until_exit()
    assert relay.variables() == {"CAREROUTE_REASON": "app error"}
    assert server.stats.failed == 1


@pytest.mark.asyncio
async def test_server_survives_relay_hangup() -> None:
    async with running_server() as server:
        async with connect(server) as relay:
            await relay.send(FRAME_ENVIRONMENT, ENVIRONMENT)
            await relay.next_command()
        # The engine still serves the next call after one vanished mid-greeting.
        async with connect(server) as relay:
            await relay.send(FRAME_ENVIRONMENT, ENVIRONMENT)
            await relay.next_command()
            await relay.send(FRAME_REPLY, b"200 result=48 endpos=0")
            async with asyncio.timeout(CALL_TIMEOUT_S):
                await relay.answer_until_exit()
    assert relay.variables()["CAREROUTE_QUEUE"] == "front_desk"
    assert server.stats.calls == 2


@pytest.mark.asyncio
async def test_server_fills_audio_gap_with_silence() -> None:
    # Asterisk writes no EAGI audio while the channel sends none; the engine must
    # still give the recognizer the pause that ends the caller's sentence.
    pcm, _ = read_pcm16(synthesize("I am calling because I need a refill on my blood pressure pills."))
    speech_s = len(pcm) / 2 / 8000
    with capture_logs() as logs:
        # Leaving running_server stops the engine, which lets the finished call log its summary.
        async with running_server(watch_seconds=2.0) as server, connect(server) as relay:
            await relay.send(FRAME_ENVIRONMENT, ENVIRONMENT)
            await relay.next_command()
            await relay.send(FRAME_REPLY, b"200 result=0 endpos=32000")
            for start in range(0, len(pcm), CHUNK_BYTES):
                await relay.send(FRAME_AUDIO, pcm[start : start + CHUNK_BYTES])
            async with asyncio.timeout(CALL_TIMEOUT_S):
                await relay.answer_until_exit()
    (summary,) = [entry for entry in logs if entry["event"] == "eagi.call.summary"]
    # Two seconds of hold after the speech: most of it reaches the recognizer as silence.
    assert summary["audio_seconds"] >= speech_s + 1.0


@pytest.mark.asyncio
async def test_server_stop_hands_listening_caller_over() -> None:
    server = build_server(parse_config({"eagi": {"watch_seconds": 0.5}}), port=0)
    await server.start()
    async with connect(server) as relay:
        await relay.send(FRAME_ENVIRONMENT, ENVIRONMENT)
        await relay.next_command()
        await relay.send(FRAME_REPLY, b"200 result=0 endpos=32000")
        # The caller is listened to but has said nothing yet when the engine stops.
        await relay.send(FRAME_AUDIO, b"\x00\x00" * 800)
        with capture_logs() as logs:
            stopping = asyncio.get_running_loop().create_task(server.stop())
            async with asyncio.timeout(CALL_TIMEOUT_S):
                await relay.answer_until_exit()
            await stopping
    assert relay.variables() == {"CAREROUTE_REASON": "service stopping"}
    summaries = [entry for entry in logs if entry["event"] == "eagi.call.summary"]
    assert [entry["outcome"] for entry in summaries] == ["handed_over"]
