"""Failure cases of live triage: the real Asterisk test bed, the real app and real Vosk.

Every outcome is read from Asterisk itself: the CareRouteQueue user event that
each queue extension sends over AMI, AMI QueueStatus, and the ARI channel and
bridge lists. The callers speak sentences written for these tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import signal
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
import yaml
from structlog.testing import capture_logs

import ari_app.session
from agi.ami import AmiClient
from ari_app.client import AriClient
from ari_app.errors import AriError
from ari_app.events import PlaybackStarted, StasisStart
from ari_app.media import RtpPortPool, RtpReceiver
from ari_app.session import OWNED_ID_PREFIX
from careroute.audio import AudioFormat
from careroute.livecalls import PASSWORD_ENV, queue_watch, running_service, service_config
from careroute.speech import synthesize
from careroute.testbed import Testbed, TestbedSettings
from careroute.testcallers import place_call

#: Seconds within which every leg and bridge of an ended call must be gone.
CLEANUP_BOUND_S = 2.0
#: Asterisk's Stasis() fails at once without a connected app; the dialplan
#: fail-safe then needs a few dialplan steps to reach the queue.
APP_DOWN_BOUND_S = 10.0
#: 95th-percentile event-loop lag allowed while ten calls decode: Asterisk
#: drops an ARI websocket whose reader falls behind.
MAX_LOOP_LAG_S = 0.050
#: Maximum single stall allowed. On a shared 2-core machine with a load
#: average of 4 the scheduler alone delayed the loop by up to 114 ms, while
#: building ten recognizers on the loop stalled it for about 1 s.
MAX_LOOP_STALL_S = 0.300
#: Poll interval of ``wait_until``.
POLL_S = 0.05


@pytest.fixture(autouse=True)
def _ari_password(testbed: Testbed, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSWORD_ENV, testbed.ari_password)


@pytest_asyncio.fixture
async def observer(testbed: Testbed) -> AsyncIterator[AriClient]:
    """A REST-only ARI client for checks; it never opens an event socket."""
    async with AriClient(
        testbed.ari_url, testbed.ari_user, testbed.ari_password, app="careroute-observer"
    ) as client:
        yield client


async def wait_until(condition: Callable[[], Awaitable[bool]], timeout_s: float) -> bool:
    """Poll ``condition`` until it is true; return False after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if await condition():
            return True
        await asyncio.sleep(POLL_S)
    return await condition()


async def owned_leftovers(client: AriClient) -> list[str]:
    """Return the ids of channels and bridges that carry CareRoute's id prefix."""
    channels = [channel.id for channel in await client.list_channels()]
    bridges = [bridge.id for bridge in await client.list_bridges()]
    return [item for item in channels + bridges if item.startswith(OWNED_ID_PREFIX)]


async def no_leftovers_within(client: AriClient, timeout_s: float) -> list[str]:
    """Wait up to ``timeout_s`` for every owned channel and bridge to go; return what is left."""

    async def clean() -> bool:
        return not await owned_leftovers(client)

    await wait_until(clean, timeout_s)
    return await owned_leftovers(client)


async def channel_gone(client: AriClient, channel_id: str) -> bool:
    return all(channel.id != channel_id for channel in await client.list_channels())


def call_id_of(channel_id: str) -> str:
    return channel_id.replace(".", "-")


def failures_in(logs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return captured log entries at error level or with a traceback."""
    return [
        entry
        for entry in logs
        if entry.get("log_level") in ("error", "critical") or "exc_info" in entry or "exception" in entry
    ]


@contextlib.contextmanager
def captured_logs() -> Iterator[list[dict[str, Any]]]:
    """Capture structlog entries; the list is complete when the block ends."""
    with capture_logs() as logs:
        yield logs


# -- hangups -------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_hangup_after_50ms_leaves_nothing(testbed: Testbed, vosk_model_dir, observer: AriClient) -> None:
    config = service_config(testbed, vosk_model_dir)
    with captured_logs() as logs:
        async with running_service(config) as service:
            call = await place_call(testbed, None, hold_s=0.05, caller_context="tb-silent")

            async def started() -> bool:
                return service.stats.calls_started >= 1

            async def caller_gone() -> bool:
                return await channel_gone(observer, call.caller_channel_id)

            assert await wait_until(started, 10), "the caller never entered the app"
            assert await wait_until(caller_gone, 10), "the caller never hung up"
            leftovers = await no_leftovers_within(observer, CLEANUP_BOUND_S)
            sessions_left = len(service.sessions)
            stats = dataclasses.replace(service.stats)
    summaries = [e for e in logs if e["event"] == "call.summary" and e.get("call_id") == call_id_of(call.caller_channel_id)]
    assert leftovers == []
    assert sessions_left == 0
    assert len(summaries) == 1
    assert stats.calls_hung_up == 1
    assert stats.calls_routed == 0
    assert failures_in(logs) == []


@pytest.mark.asyncio
async def test_hangup_mid_utterance_leaves_nothing(testbed: Testbed, vosk_model_dir, observer: AriClient) -> None:
    config = service_config(testbed, vosk_model_dir)
    wav = synthesize(
        "Hello there, good morning, I hope you are well today, I was wondering about something.",
        "piper:joe",
    )
    with captured_logs() as logs:
        async with running_service(config) as service:
            call = await place_call(testbed, wav, delay_s=0.0, hold_s=10)

            async def hearing() -> bool:
                session = service.sessions.get(call.caller_channel_id)
                return session is not None and "first_audio" in session.trace.marks

            assert await wait_until(hearing, 10), "no caller audio reached the app"
            await observer.hangup(call.local_channel_id)
            hung_up_at = time.monotonic()

            async def session_closed() -> bool:
                return not service.sessions

            closed = await wait_until(session_closed, CLEANUP_BOUND_S)
            leftovers = await no_leftovers_within(observer, CLEANUP_BOUND_S - (time.monotonic() - hung_up_at))
            stats = dataclasses.replace(service.stats)
    summaries = [e for e in logs if e["event"] == "call.summary" and e.get("call_id") == call_id_of(call.caller_channel_id)]
    assert closed
    assert leftovers == []
    assert len(summaries) == 1
    assert stats.calls_hung_up == 1
    assert failures_in(logs) == []


# -- app and Asterisk availability ------------------------------------------------------


@pytest.mark.asyncio
async def test_app_down_caller_reaches_front_desk(testbed: Testbed) -> None:
    async with queue_watch(testbed) as watch:
        placed_at = time.monotonic()
        call = await place_call(testbed, None, hold_s=15, caller_context="tb-silent")
        arrival = await watch.wait_for(call.caller_channel_id, timeout_s=APP_DOWN_BOUND_S + 5)
    assert arrival is not None
    assert arrival.queue == "front_desk"
    assert arrival.reason == "app unavailable"
    assert arrival.arrived_at - placed_at <= APP_DOWN_BOUND_S


@pytest.fixture
def second_testbed(testbed: Testbed) -> Iterator[Testbed]:
    """Another Asterisk with its own name and ports, for tests that stop and start it."""
    base = testbed.settings
    settings = TestbedSettings(
        http_port=base.http_port + 100,
        ami_port=base.ami_port + 100,
        rtp_start=base.rtp_end + 1,
        rtp_end=base.rtp_end + 500,
    )
    bed = Testbed(testbed.root, settings, name=f"restart-{settings.http_port}")
    yield bed
    bed.stop()


@pytest.mark.asyncio
async def test_frozen_asterisk_turns_service_unready(second_testbed: Testbed, vosk_model_dir) -> None:
    bed = second_testbed
    await asyncio.to_thread(bed.start)
    pid = bed.pid
    assert pid is not None
    async with running_service(service_config(bed, vosk_model_dir)) as service:
        assert service.ready
        # A hung Asterisk keeps the TCP connection open and stops replying.
        os.kill(pid, signal.SIGSTOP)
        frozen_at = time.monotonic()
        try:

            async def unready() -> bool:
                return not service.ready

            noticed = await wait_until(unready, timeout_s=20)
            elapsed = time.monotonic() - frozen_at
        finally:
            os.kill(pid, signal.SIGCONT)
    assert noticed
    # Ping every 5 s, 5 s for the pong, 2 s for the closing handshake.
    assert elapsed <= 13.0


@pytest.mark.asyncio
async def test_asterisk_restart_app_reconnects(second_testbed: Testbed, vosk_model_dir) -> None:
    bed = second_testbed
    await asyncio.to_thread(bed.start)
    config = service_config(bed, vosk_model_dir)
    wav = synthesize("I got a bill in the mail and I think I was charged twice for one visit.", "piper:joe")
    async with running_service(config) as service:
        await asyncio.to_thread(bed.stop)

        async def lost() -> bool:
            return not service.ready

        async def ready() -> bool:
            return service.ready

        noticed_stop = await wait_until(lost, 15)
        await asyncio.to_thread(bed.start)
        reconnected = await wait_until(ready, 15)
        async with queue_watch(bed) as watch:
            call = await place_call(bed, wav, delay_s=1.0, hold_s=8)
            arrival = await watch.wait_for(call.caller_channel_id, timeout_s=30)
        disconnects = service.stats.disconnects
    assert noticed_stop
    assert reconnected
    assert disconnects >= 1
    assert arrival is not None
    assert arrival.queue == "billing"


@pytest.mark.asyncio
async def test_stranded_caller_recovered_on_connect(testbed: Testbed, vosk_model_dir, observer: AriClient) -> None:
    config = service_config(testbed, vosk_model_dir)
    # A stand-in for a crashed app: it registers "careroute", takes one caller
    # into Stasis, starts a snoop and a bridge for it, and disconnects.
    async with AriClient(testbed.ari_url, testbed.ari_user, testbed.ari_password, app=config.ari.app) as crashed:
        async with crashed.events() as stream:
            listener = asyncio.get_running_loop().create_task(crashed.connect_with_backoff())
            async with asyncio.timeout(10):
                await crashed.connected.wait()
            call = await place_call(testbed, None, hold_s=25, caller_context="tb-silent")
            async with asyncio.timeout(10):
                async for event in stream:
                    if isinstance(event, StasisStart) and event.channel.id == call.caller_channel_id:
                        break
            tag = call.call_tag
            snoop_id = f"{OWNED_ID_PREFIX}snoop-orphan-{tag}"
            media_id = f"{OWNED_ID_PREFIX}media-orphan-{tag}"
            bridge_id = f"{OWNED_ID_PREFIX}bridge-orphan-{tag}"
            await crashed.answer(call.caller_channel_id)
            await crashed.snoop(call.caller_channel_id, snoop_id=snoop_id, spy="in")
            # Port 9 (discard) on loopback: nothing listens, as after a crash.
            await crashed.external_media(channel_id=media_id, external_host="127.0.0.1:9")
            await crashed.create_bridge(bridge_id)
            async with asyncio.timeout(10):
                started = {call.caller_channel_id}
                async for event in stream:
                    if isinstance(event, StasisStart):
                        started.add(event.channel.id)
                    if {snoop_id, media_id} <= started:
                        break
            await crashed.add_channels_to_bridge(bridge_id, [snoop_id, media_id])
        await crashed.stop_events()
        await listener

    async with queue_watch(testbed) as watch, running_service(config) as service:
        arrival = await watch.wait_for(call.caller_channel_id, timeout_s=10)
        leftovers = await no_leftovers_within(observer, CLEANUP_BOUND_S)
        recovered = service.stats.recovered_callers

    # NOTE: a snoop whose app disconnected leaves Stasis on the first hangup
    # request but stays up, and ARI answers 404 to every later request for it
    # (measured on Asterisk 22.10.1). It ends when its caller hangs up.
    await observer.hangup(call.local_channel_id)

    async def snoop_ended() -> bool:
        core_channels = await asyncio.to_thread(testbed.cli, "core show channels concise")
        return snoop_id not in core_channels

    assert arrival is not None
    assert arrival.queue == "front_desk"
    assert arrival.reason == "recovered after reconnect"
    assert recovered == 1
    assert media_id not in leftovers
    assert bridge_id not in leftovers
    assert await wait_until(snoop_ended, CLEANUP_BOUND_S)


@pytest.mark.asyncio
async def test_replaced_app_registers_again(testbed: Testbed, vosk_model_dir) -> None:
    """A second connection with the same app name that comes and goes must not silence the service."""
    config = service_config(testbed, vosk_model_dir)
    async with running_service(config) as service:
        intruder = AriClient(testbed.ari_url, testbed.ari_user, testbed.ari_password, app=config.ari.app)
        async with intruder:
            listener = asyncio.get_running_loop().create_task(intruder.connect_with_backoff())
            async with asyncio.timeout(10):
                await intruder.connected.wait()
            await intruder.stop_events()
            await listener
        # Asterisk destroyed the app when the intruder left; the sweep finds out.
        await service.recover()

        async def registered() -> bool:
            try:
                await service.client.get_application()
            except AriError:
                return False
            return service.ready

        assert await wait_until(registered, 10)
        assert service.stats.disconnects >= 1


@pytest.mark.asyncio
async def test_second_service_same_app_is_reported_not_swept(
    testbed: Testbed, vosk_model_dir, observer: AriClient
) -> None:
    """Two services under one app name: neither removes the other's legs, and it shows."""
    first = service_config(testbed, vosk_model_dir)
    second = service_config(testbed, vosk_model_dir, rtp_ports=(33100, 33199))
    second = dataclasses.replace(second, health=dataclasses.replace(second.health, port=first.health.port + 1))
    wav = synthesize("I would like to book an appointment for next week with my doctor.", "piper:joe")
    with captured_logs() as logs:
        async with running_service(first) as one, running_service(second) as two, queue_watch(testbed) as watch:
            call = await place_call(testbed, wav, delay_s=4.0, hold_s=30)
            arrival = await watch.wait_for(call.caller_channel_id, timeout_s=30)
            # Routed; the service that took the call keeps listening for a late red flag.
            legs_before = await owned_leftovers(observer)
            await one.recover()
            await two.recover()
            legs_after = await owned_leftovers(observer)
            shared = [service for service in (one, two) if service.foreign_legs]
            ready = [service.ready for service in shared]
    assert arrival is not None
    assert arrival.queue == "scheduling"
    assert legs_before
    assert legs_after == legs_before
    assert len(shared) == 1
    assert ready == [False]
    assert any(entry["event"] == "service.app.shared" for entry in logs)


@pytest.mark.asyncio
async def test_service_ready_again_after_sharing_service_stops(testbed: Testbed, vosk_model_dir) -> None:
    """When the second service under the app name stops, Asterisk drops the app; the first
    registers it again, turns ready and routes the next caller."""
    first = service_config(testbed, vosk_model_dir)
    second = service_config(testbed, vosk_model_dir, rtp_ports=(33100, 33199))
    second = dataclasses.replace(second, health=dataclasses.replace(second.health, port=first.health.port + 1))
    booking = synthesize("I would like to book an appointment for next week with my doctor.", "piper:joe")
    refill = synthesize("I need a refill of my blood pressure pills please.", "piper:joe")
    with captured_logs() as logs:
        async with running_service(first) as one:
            async with running_service(second) as two, queue_watch(testbed) as watch:
                call = await place_call(testbed, booking, delay_s=4.0, hold_s=8)
                assert await watch.wait_for(call.caller_channel_id, timeout_s=30) is not None
                await one.recover()
                await two.recover()
                shared = any(service.foreign_legs for service in (one, two))

            async def registered_and_ready() -> bool:
                try:
                    await one.client.get_application()
                except AriError:
                    return False
                return one.ready

            back = await wait_until(registered_and_ready, 25)
            async with queue_watch(testbed) as watch:
                call = await place_call(testbed, refill, delay_s=4.0, hold_s=8)
                arrival = await watch.wait_for(call.caller_channel_id, timeout_s=30)
    assert shared
    assert back
    assert arrival is not None
    assert arrival.queue == "refill"
    assert arrival.reason != "app unavailable"
    assert any(entry["event"] == "service.app.not_registered" for entry in logs)


# -- what the caller does ------------------------------------------------------------------


@pytest.mark.asyncio
async def test_sigterm_hands_listening_caller_to_front_desk(
    testbed: Testbed, vosk_model_dir, observer: AriClient, tmp_path
) -> None:
    # The real command in its own process, stopped the way systemd stops it.
    config = {
        "ari": {
            "url": f"http://127.0.0.1:{testbed.settings.http_port}",
            "user": testbed.ari_user,
            "password_env": PASSWORD_ENV,
        },
        "recognizer": {"model_path": str(vosk_model_dir)},
        "media": {"rtp_port_min": 33200, "rtp_port_max": 33299},
        "health": {"port": testbed.settings.http_port + 12},  # health_port below
        "ami": {
            "enabled": True,
            "port": testbed.ami_port,
            "user": testbed.settings.ami_user,
            "secret_file": str(testbed.ami_secret_file),
        },
    }
    config_path = tmp_path / "careroute.yaml"
    config_path.write_text(yaml.safe_dump(config), encoding="utf-8")
    command = [str(Path(sys.executable).with_name("careroute")), "ari", "--config", str(config_path)]
    process = await asyncio.create_subprocess_exec(
        *command,
        env={**os.environ, PASSWORD_ENV: testbed.ari_password},
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    health_port = testbed.settings.http_port + 12

    async def ready_or_exited() -> bool:
        if process.returncode is not None:
            return True
        try:
            async with httpx.AsyncClient() as http:
                return (await http.get(f"http://127.0.0.1:{health_port}/ready")).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        # The command loads the model and registers the app before Stasis() can reach it.
        assert await wait_until(ready_or_exited, timeout_s=60)
        async with queue_watch(testbed) as watch:
            call = await place_call(testbed, None, hold_s=25, caller_context="tb-silent")

            async def listening_or_exited() -> bool:
                return process.returncode is not None or len(await owned_leftovers(observer)) >= 3

            # The app listens once its snoop, externalMedia leg and bridge exist.
            assert await wait_until(listening_or_exited, timeout_s=15)
            if process.returncode is not None and process.stderr is not None:
                pytest.fail(f"careroute ari exited early: {(await process.stderr.read()).decode()[-2000:]}")
            process.send_signal(signal.SIGTERM)
            stopped_at = time.monotonic()
            arrival = await watch.wait_for(call.caller_channel_id, timeout_s=10)
        returncode = await asyncio.wait_for(process.wait(), timeout=15)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    stderr = (await process.stderr.read()).decode() if process.stderr else ""
    assert arrival is not None
    assert arrival.queue == "front_desk"
    assert arrival.reason == "service stopping"
    # Well before the 30 s dialplan watchdog.
    assert arrival.arrived_at - stopped_at < 3.0
    assert returncode == 0
    assert '"outcome": "routed"' in stderr
    # The snoop stays on a caller who left Stasis until that caller hangs up. The
    # externalMedia leg and the bridge would stay for good unless the app removed them.
    leftovers = await no_leftovers_within(observer, CLEANUP_BOUND_S)
    assert [item for item in leftovers if "-snoop-" not in item] == [], stderr[-3000:]


@pytest.mark.asyncio
async def test_dtmf_zero_routes_front_desk_at_once(testbed: Testbed, vosk_model_dir) -> None:
    config = service_config(testbed, vosk_model_dir)
    async with running_service(config), queue_watch(testbed) as watch:
        # The digit comes during the greeting, before the audio tap exists.
        placed_at = time.monotonic()
        call = await place_call(testbed, None, dtmf="0", hold_s=10)
        arrival = await watch.wait_for(call.caller_channel_id, timeout_s=15)
    assert arrival is not None
    assert arrival.queue == "front_desk"
    assert arrival.reason == "caller pressed the operator digit"
    # Well before the 4 s greeting ends.
    assert arrival.arrived_at - placed_at < 3.0


@pytest.mark.asyncio
async def test_silent_caller_reprompted_then_front_desk(testbed: Testbed, vosk_model_dir) -> None:
    config = service_config(testbed, vosk_model_dir, no_speech_timeout=1.5)
    reprompts: list[str] = []
    async with running_service(config) as service, queue_watch(testbed) as watch:
        service.client.on(PlaybackStarted, lambda event: reprompts.append(event.playback.id))
        call = await place_call(testbed, None, hold_s=25, caller_context="tb-silent")
        arrival = await watch.wait_for(call.caller_channel_id, timeout_s=20)
    reprompt_id = f"{OWNED_ID_PREFIX}reprompt-{call_id_of(call.caller_channel_id)}"
    assert reprompt_id in reprompts
    assert arrival is not None
    assert arrival.queue == "front_desk"
    assert arrival.reason == "no speech after the reprompt"


@pytest.mark.asyncio
async def test_no_rtp_alarm_routes_front_desk(
    testbed: Testbed, vosk_model_dir, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = service_config(testbed, vosk_model_dir)
    opened = ari_app.session.open_rtp_receiver

    async def deaf_receiver(pool: RtpPortPool, audio_format: AudioFormat) -> tuple[RtpReceiver, int]:
        # The port is assigned and then closed, so Asterisk's packets reach nobody.
        receiver, port = await opened(pool, audio_format)
        receiver.close()
        return receiver, port

    monkeypatch.setattr(ari_app.session, "open_rtp_receiver", deaf_receiver)
    wav = synthesize("I would like to book a checkup with doctor Patel next week.", "piper:joe")
    with captured_logs() as logs:
        async with running_service(config), queue_watch(testbed) as watch:
            placed_at = time.monotonic()
            call = await place_call(testbed, wav, delay_s=0.5, hold_s=10)
            arrival = await watch.wait_for(call.caller_channel_id, timeout_s=15)
    alarms = [e for e in logs if e["event"] == "call.media.no_rtp" and e["log_level"] == "error"]
    assert len(alarms) == 1
    assert arrival is not None
    assert arrival.queue == "front_desk"
    assert arrival.reason == "no audio"
    assert arrival.arrived_at - placed_at < config.media.no_rtp_timeout + 3.0


# -- queues and load ------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_emergency_joins_ahead_of_routine(testbed: Testbed, vosk_model_dir, observer: AriClient) -> None:
    config = service_config(testbed, vosk_model_dir)
    tags = [uuid.uuid4().hex[:12] for _ in range(2)]
    routine_ids = [f"tbqueued-{tag}" for tag in tags]
    async with AmiClient(
        "127.0.0.1", testbed.ami_port, testbed.settings.ami_user, testbed.settings.ami_password
    ) as ami:
        try:
            # Routine callers straight into the nurse queue: QUEUE_PRIO unset is routine (0).
            for tag in tags:
                await observer.originate_dialplan(
                    "Local/nurse@careroute-queues/n",
                    channel_id=f"tbholder-{tag}",
                    other_channel_id=f"tbqueued-{tag}",
                    context="tb-silent",
                    extension="s",
                    variables={"CALLER_HOLD": "40"},
                )

            async def routine_waiting() -> bool:
                waiting = {entry.unique_id for entry in await ami.queue_status("careroute-nurse")}
                return set(routine_ids) <= waiting

            assert await wait_until(routine_waiting, 10), "the routine callers never joined the nurse queue"
            wav = synthesize("My mother just collapsed and she is not breathing.", "piper:joe")
            async with running_service(config), queue_watch(testbed) as watch:
                call = await place_call(testbed, wav, delay_s=1.0, hold_s=10)
                arrival = await watch.wait_for(call.caller_channel_id, timeout_s=30)
                entries = await ami.queue_status("careroute-nurse")
        finally:
            for tag in tags:
                await observer.hangup(f"tbholder-{tag}", missing_ok=True)
    positions = {entry.unique_id: entry.position for entry in entries}
    assert arrival is not None
    assert arrival.priority == config.routing.priorities.emergency
    assert call.caller_channel_id in positions
    assert all(positions[call.caller_channel_id] < positions[other] for other in routine_ids)


CONCURRENT_SENTENCES = [
    "I got a bill in the mail and I think I was charged twice for one visit.",
    "I would like to book a checkup with doctor Patel next week.",
    "I need to move my appointment on Thursday to another day.",
    "I want to update my home address and my insurance card.",
    "I have a question for the nurse about a rash on my arm.",
    "My mother just collapsed and she is not breathing.",
    "My daughter has a high fever and a stiff neck.",
    "I am calling because I need a refill on my blood pressure pills.",
    "I think I broke my wrist, it is swollen and very painful.",
    "My little boy has had a fever and a sore ear since last night, should he be seen?",
]


async def probe_loop_lag(stop: asyncio.Event, interval_s: float = 0.01) -> list[float]:
    """Return how late each ``interval_s`` timer on this loop fired, until ``stop`` is set."""
    loop = asyncio.get_running_loop()
    lags: list[float] = []
    while not stop.is_set():
        before = loop.time()
        await asyncio.sleep(interval_s)
        lags.append(loop.time() - before - interval_s)
    return lags


@pytest.mark.asyncio
async def test_ten_concurrent_callers_routed(testbed: Testbed, vosk_model_dir) -> None:
    config = service_config(testbed, vosk_model_dir)
    wavs = [synthesize(text, "piper:joe") for text in CONCURRENT_SENTENCES]
    async with running_service(config), queue_watch(testbed) as watch:
        # The probe starts after the originates: each test caller builds its own
        # HTTP client, which costs the test's loop time, not the service's.
        calls = await asyncio.gather(*(place_call(testbed, wav, delay_s=1.0, hold_s=8) for wav in wavs))
        stop = asyncio.Event()
        probe = asyncio.get_running_loop().create_task(probe_loop_lag(stop))
        arrivals = await asyncio.gather(*(watch.wait_for(call.caller_channel_id, timeout_s=40) for call in calls))
        stop.set()
        lags = sorted(await probe)
    p95_lag = lags[int(len(lags) * 0.95)]
    unrouted = [call.caller_channel_id for call, arrival in zip(calls, arrivals, strict=True) if arrival is None]
    assert unrouted == []
    assert p95_lag < MAX_LOOP_LAG_S, f"event loop lag p95 {p95_lag * 1000:.0f} ms"
    assert lags[-1] < MAX_LOOP_STALL_S, f"event loop stalled {lags[-1] * 1000:.0f} ms"

