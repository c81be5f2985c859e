"""Unit tests of ARI event parsing, handler dispatch and the websocket lifecycle.

Recorded traces in ``tests/data/ari`` go through the real parser, and through the
real websocket reader via a fake ARI server on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from ari_app import (
    AriClient,
    AriStateError,
    Backoff,
    ChannelDestroyed,
    ChannelDtmfReceived,
    ChannelUserevent,
    ChannelVarset,
    ClientEvent,
    Connected,
    Disconnected,
    GenericEvent,
    PlaybackFinished,
    StasisEnd,
    StasisStart,
    parse_event,
)
from tests.fakes.ari_server import FakeAriServer

TRACES = Path(__file__).parent.parent / "data" / "ari"
#: Reconnect quickly in tests; jitter off so the delays are exact.
FAST_BACKOFF = Backoff(initial_s=0.01, maximum_s=0.05, jitter=0.0)


def load_trace(name: str) -> list[dict[str, Any]]:
    lines = (TRACES / name).read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()]


@pytest_asyncio.fixture
async def server() -> AsyncIterator[FakeAriServer]:
    async with FakeAriServer() as fake:
        yield fake


@pytest_asyncio.fixture
async def client(server: FakeAriServer) -> AsyncIterator[AriClient]:
    async with AriClient(
        server.base_url, "careroute", "pw", "careroute", request_timeout=2.0
    ) as ari:
        yield ari


# --- parser ------------------------------------------------------------------------------


def test_parse_routed_trace_types() -> None:
    events = [parse_event(data) for data in load_trace("call_routed.jsonl")]

    assert [type(e).__name__ for e in events] == [
        "StasisStart",
        "ChannelStateChange",
        "ChannelVarset",
        "PlaybackStarted",
        "StasisStart",
        "StasisStart",
        "GenericEvent",
        "GenericEvent",
        "GenericEvent",
        "PlaybackFinished",
        "ChannelVarset",
        "StasisEnd",
        "ChannelUserevent",
    ]


def test_parse_stasis_start_channel_fields() -> None:
    event = parse_event(load_trace("call_routed.jsonl")[0])

    assert isinstance(event, StasisStart)
    assert event.channel.id == "1733344867.14"
    assert event.channel.state == "Ring"
    assert event.channel.dialplan.app_name == "Stasis"
    assert event.args == ()


def test_parse_external_media_channelvars() -> None:
    event = parse_event(load_trace("call_routed.jsonl")[5])

    assert isinstance(event, StasisStart)
    assert event.channel.channelvars["UNICASTRTP_LOCAL_PORT"] == "41072"


def test_parse_unknown_event_keeps_raw_fields() -> None:
    event = parse_event(load_trace("call_routed.jsonl")[8])

    assert isinstance(event, GenericEvent)
    assert event.type == "ChannelTalkingStarted"
    assert event.raw["future_field"] == {"nested": [1, 2]}
    assert event.parse_error == ""


def test_parse_userevent_fields() -> None:
    event = parse_event(load_trace("call_routed.jsonl")[-1])

    assert isinstance(event, ChannelUserevent)
    assert event.eventname == "CareRouteQueue"
    assert event.userevent["Prio"] == "10"
    assert event.channel is not None
    assert event.channel.dialplan.exten == "nurse"


def test_parse_hangup_trace_fields() -> None:
    events = [parse_event(data) for data in load_trace("call_hangup_dtmf.jsonl")]

    dtmf, destroyed, global_var = events[1], events[4], events[5]
    assert isinstance(dtmf, ChannelDtmfReceived)
    assert dtmf.digit == "0"
    assert dtmf.duration_ms == 120
    assert isinstance(destroyed, ChannelDestroyed)
    assert destroyed.cause == 16
    assert destroyed.cause_txt == "Normal Clearing"
    assert isinstance(global_var, ChannelVarset)
    assert global_var.channel is None
    assert isinstance(events[6], GenericEvent)


def test_parse_known_type_missing_field_falls_back() -> None:
    event = parse_event({"type": "StasisStart", "application": "careroute"})

    assert isinstance(event, GenericEvent)
    assert event.type == "StasisStart"
    assert "channel" in event.parse_error


def test_parse_extra_fields_keep_known_type() -> None:
    data = dict(load_trace("call_routed.jsonl")[11], brand_new={"x": 1})

    event = parse_event(data)

    assert isinstance(event, StasisEnd)
    assert event.raw["brand_new"] == {"x": 1}


# --- websocket ---------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_events_url_subscribe_all_false(server: FakeAriServer, client: AriClient) -> None:
    listener = asyncio.create_task(client.listen())

    socket = await server.wait_for_socket()

    assert socket.path == "/ari/events"
    assert socket.params == {"app": "careroute", "subscribeAll": "false"}
    assert "api_key" not in socket.params
    assert socket.headers["authorization"].startswith("Basic ")
    await client.stop_events()
    await listener


@pytest.mark.asyncio
async def test_events_replay_trace_through_socket(server: FakeAriServer, client: AriClient) -> None:
    trace = load_trace("call_routed.jsonl")
    async with client.events() as stream:
        listener = asyncio.create_task(client.listen())
        socket = await server.wait_for_socket()
        for data in trace:
            await socket.send_event(data)
        received: list[ClientEvent] = []
        async with asyncio.timeout(5):
            async for event in stream:
                received.append(event)
                if isinstance(event, ChannelUserevent):
                    break
    await client.stop_events()
    await listener

    assert isinstance(received[0], Connected)
    assert [e.raw for e in received[1:] if not isinstance(e, Connected | Disconnected)] == trace


@pytest.mark.asyncio
async def test_events_multiple_handlers_per_type(server: FakeAriServer, client: AriClient) -> None:
    first: list[str] = []
    second: list[str] = []
    done = asyncio.Event()

    async def async_handler(event: StasisStart) -> None:
        second.append(event.channel.id)
        done.set()

    client.on(StasisStart, lambda event: first.append(event.channel.id))
    client.on(StasisStart, async_handler)
    listener = asyncio.create_task(client.listen())
    socket = await server.wait_for_socket()
    await socket.send_event(load_trace("call_routed.jsonl")[0])
    async with asyncio.timeout(5):
        await done.wait()
    await client.stop_events()
    await listener

    assert first == ["1733344867.14"]
    assert second == ["1733344867.14"]


@pytest.mark.asyncio
async def test_events_failing_handler_keeps_reader(
    server: FakeAriServer, client: AriClient
) -> None:
    def broken(event: StasisStart) -> None:
        raise RuntimeError("handler bug")

    finished = asyncio.Event()
    client.on(StasisStart, broken)
    client.on(PlaybackFinished, lambda event: finished.set())
    listener = asyncio.create_task(client.listen())
    socket = await server.wait_for_socket()
    await socket.send_event(load_trace("call_routed.jsonl")[0])
    await socket.send_event(load_trace("call_routed.jsonl")[9])
    async with asyncio.timeout(5):
        await finished.wait()
    await client.stop_events()

    outcome = await listener
    assert outcome.reason == "stopped"


@pytest.mark.asyncio
async def test_events_unknown_type_reaches_generic_handler(
    server: FakeAriServer, client: AriClient
) -> None:
    received: asyncio.Queue[GenericEvent] = asyncio.Queue()
    client.on(GenericEvent, received.put_nowait)
    listener = asyncio.create_task(client.listen())
    socket = await server.wait_for_socket()
    await socket.send_raw("not json at all")
    await socket.send_raw("[1, 2]")
    await socket.send_event({"type": "SomethingNew", "x": {"y": 1}})
    async with asyncio.timeout(5):
        event = await received.get()
    await client.stop_events()
    await listener

    assert event.type == "SomethingNew"
    assert event.raw["x"] == {"y": 1}


@pytest.mark.asyncio
async def test_listen_reports_server_close(server: FakeAriServer, client: AriClient) -> None:
    listener = asyncio.create_task(client.listen())
    socket = await server.wait_for_socket()
    await socket.close(1001, "shutting down")

    outcome = await asyncio.wait_for(listener, 5)

    assert outcome.reason == "closed"
    assert outcome.close_code == 1001
    assert outcome.was_connected is True
    assert not client.connected.is_set()


@pytest.mark.asyncio
async def test_listen_reports_dropped_socket(server: FakeAriServer, client: AriClient) -> None:
    disconnects: list[Disconnected] = []
    client.on(Disconnected, disconnects.append)
    listener = asyncio.create_task(client.listen())
    socket = await server.wait_for_socket()
    socket.drop()

    outcome = await asyncio.wait_for(listener, 5)

    assert outcome.reason == "lost"
    assert disconnects == [outcome]


@pytest.mark.asyncio
async def test_listen_reports_cancellation(server: FakeAriServer, client: AriClient) -> None:
    disconnects: list[Disconnected] = []
    client.on(Disconnected, disconnects.append)
    listener = asyncio.create_task(client.listen())
    await server.wait_for_socket()
    async with asyncio.timeout(5):
        await client.connected.wait()
    listener.cancel()

    with pytest.raises(asyncio.CancelledError):
        await listener

    assert [d.reason for d in disconnects] == ["cancelled"]
    assert not client.connected.is_set()


@pytest.mark.asyncio
async def test_listen_reports_rejected_handshake(server: FakeAriServer, client: AriClient) -> None:
    server.reject_sockets_with = 401

    outcome = await asyncio.wait_for(client.listen(), 5)

    assert outcome.reason == "connect_failed"
    assert outcome.was_connected is False
    assert "401" in outcome.error


@pytest.mark.asyncio
async def test_rejected_handshake_logs_password_hint(server: FakeAriServer, client: AriClient) -> None:
    from structlog.testing import capture_logs

    server.reject_sockets_with = 401
    with capture_logs() as logs:
        await asyncio.wait_for(client.listen(), 5)
    rejected = [entry for entry in logs if entry["event"] == "ari.events.rejected"]
    assert len(rejected) == 1
    assert rejected[0]["status"] == 401
    assert "password" in rejected[0]["hint"]


@pytest.mark.asyncio
async def test_listen_twice_raises_state_error(server: FakeAriServer, client: AriClient) -> None:
    listener = asyncio.create_task(client.listen())
    await server.wait_for_socket()

    with pytest.raises(AriStateError, match="already running"):
        await client.listen()

    await client.stop_events()
    await listener


@pytest.mark.asyncio
async def test_reconnect_after_server_drops_socket(
    server: FakeAriServer, client: AriClient
) -> None:
    connects: list[Connected] = []
    client.on(Connected, connects.append)
    runner = asyncio.create_task(client.connect_with_backoff(FAST_BACKOFF))

    first = await server.wait_for_socket(1)
    first.drop()
    async with asyncio.timeout(5):
        second = await server.wait_for_socket(2)
        await client.connected.wait()
    await second.send_event(load_trace("call_routed.jsonl")[0])
    await client.stop_events()
    await asyncio.wait_for(runner, 5)

    assert len(connects) == 2
    assert second.params["subscribeAll"] == "false"


@pytest.mark.asyncio
async def test_reconnect_after_refused_connection() -> None:
    async with FakeAriServer() as fake:
        base_url = fake.base_url
    disconnects: asyncio.Queue[Disconnected] = asyncio.Queue()
    async with AriClient(base_url, "u", "p", "careroute", request_timeout=2.0) as ari:
        ari.on(Disconnected, disconnects.put_nowait)
        runner = asyncio.create_task(ari.connect_with_backoff(FAST_BACKOFF))
        async with asyncio.timeout(5):
            first = await disconnects.get()
            second = await disconnects.get()
        await ari.stop_events()
        await asyncio.wait_for(runner, 5)

    assert first.reason == "connect_failed"
    assert second.reason == "connect_failed"


# --- backoff -----------------------------------------------------------------------------


def test_backoff_grows_then_caps() -> None:
    backoff = Backoff(initial_s=0.5, maximum_s=4.0, multiplier=2.0, jitter=0.0)

    delays = [backoff.delay(n) for n in range(6)]

    assert delays == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]


def test_backoff_jitter_stays_in_range() -> None:
    backoff = Backoff(initial_s=1.0, maximum_s=1.0, jitter=0.5)

    assert backoff.delay(0, rand=lambda: 0.0) == 1.0
    assert backoff.delay(0, rand=lambda: 1.0) == 0.5


def test_backoff_rejects_initial_above_maximum() -> None:
    with pytest.raises(ValueError, match="initial_s"):
        Backoff(initial_s=10.0, maximum_s=1.0)
