"""The ARI client and the AMI wrapper against the real Asterisk 22 test bed.

A test caller is a Local channel originated into the dialplan: its ``;2`` half
runs ``[careroute-entry]`` and enters ``Stasis(careroute)``, where this client
is the app; its ``;1`` half runs ``[tb-caller]`` and plays a stock prompt once
answered, so the snoop has audio to send.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from agi import AmiClient, AmiEvent
from ari_app import (
    AriClient,
    AriNotFound,
    Backoff,
    ClientEvent,
    EventSubscription,
    StasisEnd,
    StasisStart,
)
from careroute.testbed import Testbed

APP = "careroute"
#: A stock prompt of asterisk-core-sounds-en-gsm, about 3 s long.
CALLER_PROMPT = "demo-congrats"
EVENT_TIMEOUT_S = 10.0


class RtpSink(asyncio.DatagramProtocol):
    """Counts UDP datagrams from externalMedia."""

    def __init__(self) -> None:
        self.packets: list[bytes] = []
        self.first = asyncio.Event()

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.packets.append(data)
        self.first.set()


@pytest_asyncio.fixture
async def ari(asterisk: Testbed) -> AsyncIterator[AriClient]:
    async with AriClient(
        asterisk.ari_url, asterisk.ari_user, asterisk.ari_password, APP, request_timeout=5.0
    ) as client:
        runner = asyncio.create_task(client.connect_with_backoff(Backoff(initial_s=0.1)))
        async with asyncio.timeout(EVENT_TIMEOUT_S):
            await client.connected.wait()
        yield client
        await client.stop_events()
        await asyncio.wait_for(runner, EVENT_TIMEOUT_S)


async def wait_for(stream: EventSubscription, predicate: Any) -> Any:
    async with asyncio.timeout(EVENT_TIMEOUT_S):
        async for event in stream:
            if predicate(event):
                return event
    raise AssertionError("event stream ended")


def stasis_start_of(name_prefix: str) -> Any:
    def match(event: ClientEvent) -> bool:
        return isinstance(event, StasisStart) and event.channel.name.startswith(name_prefix)

    return match


async def place_caller(ari: AriClient, stream: EventSubscription) -> StasisStart:
    caller_id = f"live-{uuid.uuid4().hex[:8]}"
    await ari.originate_dialplan(
        "Local/s@careroute-entry/n",
        channel_id=caller_id,
        context="tb-caller",
        extension="s",
        variables={"CALLER_DELAY": "0.3", "CALLER_FILE": CALLER_PROMPT, "CALLER_HOLD": "20"},
    )
    return await wait_for(stream, stasis_start_of("Local/s@careroute-entry"))  # type: ignore[no-any-return]


def watch_queue_join(ami: AmiClient, unique_id: str) -> asyncio.Event:
    """Return an event set when the channel ``unique_id`` joins any queue (AMI QueueCallerJoin)."""
    joined = asyncio.Event()

    def on_join(event: AmiEvent) -> None:
        if event.headers.get("Uniqueid") == unique_id:
            joined.set()

    ami.on_event("QueueCallerJoin", on_join)
    return joined


def connect_testbed_ami(asterisk: Testbed) -> AmiClient:
    settings = asterisk.settings
    return AmiClient("127.0.0.1", asterisk.ami_port, settings.ami_user, settings.ami_password)


@pytest.mark.integration
@pytest.mark.asyncio
async def test_live_asterisk_info_version(ari: AriClient) -> None:
    info = await ari.asterisk_info()

    assert info.version.startswith("22.")


@pytest.mark.integration
@pytest.mark.asyncio
async def test_live_originate_into_dialplan_runs_context(ari: AriClient) -> None:
    async with ari.events() as stream:
        start = await place_caller(ari, stream)

    assert start.channel.name.endswith(";2")
    assert start.channel.dialplan.context == "careroute-entry"
    assert start.channel.state == "Ring"
    await ari.hangup(start.channel.id, missing_ok=True)


@pytest.mark.integration
@pytest.mark.asyncio
async def test_live_answer_and_variables(ari: AriClient) -> None:
    async with ari.events() as stream:
        start = await place_caller(ari, stream)
        caller = start.channel.id

        await ari.answer(caller)
        await ari.set_channel_var(caller, "TIMEOUT(absolute)", "0")
        await ari.set_channel_var(caller, "QUEUE_PRIO", "7")

        answered = await ari.get_channel(caller)
        prio = await ari.get_channel_var(caller, "QUEUE_PRIO")
        with pytest.raises(AriNotFound):
            await ari.get_channel_var(caller, "CAREROUTE_NEVER_SET")
        await ari.hangup(caller)
        await wait_for(stream, lambda e: isinstance(e, StasisEnd) and e.channel.id == caller)

    assert answered.state == "Up"
    assert prio == "7"


@pytest.mark.integration
@pytest.mark.asyncio
async def test_live_snoop_external_media_bridge_continue(ari: AriClient, asterisk: Testbed) -> None:
    loop = asyncio.get_running_loop()
    transport, sink = await loop.create_datagram_endpoint(RtpSink, local_addr=("127.0.0.1", 0))
    rtp_port = transport.get_extra_info("sockname")[1]
    tag = uuid.uuid4().hex[:8]
    snoop_id, em_id, bridge_id = f"snoop-{tag}", f"em-{tag}", f"bridge-{tag}"
    try:
        async with ari.events() as stream:
            start = await place_caller(ari, stream)
            caller = start.channel.id
            await ari.answer(caller)

            snoop = await ari.snoop(caller, snoop_id=snoop_id, spy="in")
            bridge = await ari.create_bridge(bridge_id=bridge_id)
            assert bridge.bridge_type == "mixing"
            media = await ari.external_media(
                channel_id=em_id, external_host=f"127.0.0.1:{rtp_port}", format="slin16"
            )
            # addChannel returns 422 until both new channels have entered Stasis.
            pending = {snoop_id, em_id}
            while pending:
                event = await wait_for(stream, lambda e: isinstance(e, StasisStart))
                pending.discard(event.channel.id)
            await ari.add_channels_to_bridge(bridge_id, [snoop_id, em_id])
            async with asyncio.timeout(EVENT_TIMEOUT_S):
                await sink.first.wait()
            bridges = {b.id: b for b in await ari.list_bridges()}

            await ari.set_channel_var(caller, "TIMEOUT(absolute)", "0")
            await ari.set_channel_var(caller, "QUEUE_PRIO", "7")
            await ari.set_channel_var(caller, "CAREROUTE_CALL_ID", tag)
            async with connect_testbed_ami(asterisk) as ami:
                joined = watch_queue_join(ami, caller)
                await ari.continue_in_dialplan(caller, "careroute-queues", "front_desk", 1)
                await wait_for(
                    stream, lambda e: isinstance(e, StasisEnd) and e.channel.id == caller
                )
                async with asyncio.timeout(EVENT_TIMEOUT_S):
                    await joined.wait()
                entries = await ami.queue_status("careroute-front_desk")

        removed_media = await ari.hangup(em_id, missing_ok=True)
        removed_bridge = await ari.destroy_bridge(bridge_id, missing_ok=True)
        await ari.hangup(caller, missing_ok=True)
        application = await ari.get_application()
    finally:
        transport.close()

    assert snoop.id == snoop_id
    assert media.channelvars.get("UNICASTRTP_LOCAL_ADDRESS") == "127.0.0.1"
    assert set(bridges[bridge_id].channels) == {snoop_id, em_id}
    assert len(sink.packets[0]) == 12 + 640
    assert [e.priority for e in entries if e.unique_id == caller] == [7]
    assert removed_media is True
    assert removed_bridge is True
    assert bridge_id not in application.bridge_ids
    assert em_id not in application.channel_ids


@pytest.mark.integration
@pytest.mark.asyncio
async def test_live_hangup_gone_channel_is_done(ari: AriClient) -> None:
    removed = await ari.hangup(f"never-{uuid.uuid4().hex[:8]}", missing_ok=True)

    assert removed is False


@pytest.mark.integration
@pytest.mark.asyncio
async def test_live_ami_redirect_moves_stasis_caller(ari: AriClient, asterisk: Testbed) -> None:
    async with ari.events() as stream:
        start = await place_caller(ari, stream)
        caller = start.channel
        await ari.set_channel_var(caller.id, "TIMEOUT(absolute)", "0")
        async with connect_testbed_ami(asterisk) as ami:
            joined = watch_queue_join(ami, caller.id)
            await ami.redirect(caller.name, "careroute-queues", "front_desk", 1)
            await wait_for(stream, lambda e: isinstance(e, StasisEnd) and e.channel.id == caller.id)
            async with asyncio.timeout(EVENT_TIMEOUT_S):
                await joined.wait()
            entries = await ami.queue_status("careroute-front_desk")
    await ari.hangup(caller.id, missing_ok=True)

    assert caller.id in [e.unique_id for e in entries]
