"""Unit tests of the AMI wrapper against a fake manager server on 127.0.0.1.

The fake responds with messages in Asterisk 22's AMI format, so panoramisk's real
parser and action tracking run.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from agi import (
    AmiActionError,
    AmiClient,
    AmiConnectionError,
    AmiEvent,
    AmiLoginError,
    AmiTimeout,
    QueueEntry,
    UserEvent,
)
from tests.fakes.ami_server import FakeAmiServer, Message

QUEUE_STATUS_NURSE: list[Message] = [
    {"Response": "Success", "EventList": "start", "Message": "Queue status will follow"},
    {
        "Event": "QueueParams",
        "Queue": "nurse",
        "Max": "0",
        "Strategy": "ringall",
        "Calls": "2",
        "Holdtime": "0",
        "TalkTime": "0",
        "Completed": "0",
        "Abandoned": "0",
        "ServiceLevel": "0",
        "ServicelevelPerf": "0.0",
        "ServicelevelPerf2": "0.0",
        "Weight": "0",
    },
    {
        "Event": "QueueMember",
        "Queue": "nurse",
        "Name": "Nurse1",
        "Location": "Local/nurse1@agents/n",
        "StateInterface": "Local/nurse1@agents/n",
        "Membership": "static",
        "Penalty": "0",
        "CallsTaken": "0",
        "LastCall": "0",
        "LastPause": "0",
        "LoginTime": "1733344800",
        "InCall": "0",
        "Status": "1",
        "Paused": "0",
        "PausedReason": "",
        "Wrapuptime": "0",
    },
    {
        "Event": "QueueEntry",
        "Queue": "nurse",
        "Position": "2",
        "Channel": "Local/s@caller-00000007;2",
        "Uniqueid": "1733344903.31",
        "CallerIDNum": "5550102",
        "CallerIDName": "Routine Caller",
        "ConnectedLineNum": "<unknown>",
        "ConnectedLineName": "<unknown>",
        "Wait": "7",
        "Priority": "0",
    },
    {
        "Event": "QueueEntry",
        "Queue": "nurse",
        "Position": "1",
        "Channel": "Local/s@caller-00000009;2",
        "Uniqueid": "1733344905.35",
        "CallerIDNum": "5550103",
        "CallerIDName": "Emergency Caller",
        "ConnectedLineNum": "<unknown>",
        "ConnectedLineName": "<unknown>",
        "Wait": "1",
        "Priority": "10",
    },
    {"Event": "QueueStatusComplete", "EventList": "Complete", "ListItems": "4"},
]

QUEUE_SUMMARY_ALL: list[Message] = [
    {"Response": "Success", "EventList": "start", "Message": "Queue summary will follow"},
    {
        "Event": "QueueSummary",
        "Queue": "nurse",
        "LoggedIn": "1",
        "Available": "1",
        "Callers": "2",
        "HoldTime": "4",
        "TalkTime": "30",
        "LongestHoldTime": "7",
    },
    {
        "Event": "QueueSummary",
        "Queue": "refill",
        "LoggedIn": "0",
        "Available": "0",
        "Callers": "0",
        "HoldTime": "0",
        "TalkTime": "0",
        "LongestHoldTime": "0",
    },
    {"Event": "QueueSummaryComplete", "EventList": "Complete", "ListItems": "2"},
]


@pytest_asyncio.fixture
async def server() -> AsyncIterator[FakeAmiServer]:
    async with FakeAmiServer(username="careroute", secret="secret") as fake:
        yield fake


@pytest_asyncio.fixture
async def ami(server: FakeAmiServer) -> AsyncIterator[AmiClient]:
    async with AmiClient(
        "127.0.0.1", server.port, "careroute", "secret", action_timeout=2.0
    ) as client:
        yield client


def test_ami_client_constructs_outside_loop() -> None:
    # pytest turns warnings into errors, so building panoramisk here would fail.
    client = AmiClient("127.0.0.1", 5038, "careroute", "secret")

    assert client.port == 5038


@pytest.mark.asyncio
async def test_ami_login_sends_credentials(server: FakeAmiServer, ami: AmiClient) -> None:
    login = await server.wait_for_action("Login")

    assert login["Username"] == "careroute"
    assert login["Secret"] == "secret"


@pytest.mark.asyncio
async def test_ami_login_rejected_raises_login_error(server: FakeAmiServer) -> None:
    with pytest.raises(AmiLoginError, match="Authentication failed"):
        async with AmiClient("127.0.0.1", server.port, "careroute", "wrong"):
            pass


@pytest.mark.asyncio
async def test_ami_refused_raises_connection_error() -> None:
    async with FakeAmiServer() as fake:
        port = fake.port

    with pytest.raises(AmiConnectionError, match=str(port)):
        async with AmiClient("127.0.0.1", port, "careroute", "secret"):
            pass


@pytest.mark.asyncio
async def test_ami_queue_status_returns_entries_by_position(
    server: FakeAmiServer, ami: AmiClient
) -> None:
    server.scripts["QueueStatus"] = QUEUE_STATUS_NURSE

    entries = await ami.queue_status("nurse")

    assert entries == [
        QueueEntry("nurse", 1, "Local/s@caller-00000009;2", "1733344905.35", wait_s=1, priority=10),
        QueueEntry("nurse", 2, "Local/s@caller-00000007;2", "1733344903.31", wait_s=7, priority=0),
    ]
    assert server.actions[-1]["Queue"] == "nurse"


@pytest.mark.asyncio
async def test_ami_queue_status_empty_queue(server: FakeAmiServer, ami: AmiClient) -> None:
    server.scripts["QueueStatus"] = [
        QUEUE_STATUS_NURSE[0],
        QUEUE_STATUS_NURSE[1],
        QUEUE_STATUS_NURSE[-1],
    ]

    entries = await ami.queue_status("nurse")

    assert entries == []


@pytest.mark.asyncio
async def test_ami_queue_summary_reads_counters(server: FakeAmiServer, ami: AmiClient) -> None:
    server.scripts["QueueSummary"] = QUEUE_SUMMARY_ALL

    summaries = await ami.queue_summary()

    assert [s.queue for s in summaries] == ["nurse", "refill"]
    assert summaries[0].callers == 2
    assert summaries[0].longest_hold_time_s == 7
    assert "Queue" not in server.actions[-1]


@pytest.mark.asyncio
async def test_ami_redirect_sends_target(server: FakeAmiServer, ami: AmiClient) -> None:
    server.scripts["Redirect"] = [{"Response": "Success", "Message": "Redirect successful"}]

    await ami.redirect("Local/s@caller-00000009;2", "careroute-queues", "front_desk")

    action = server.actions[-1]
    assert action["Channel"] == "Local/s@caller-00000009;2"
    assert action["Context"] == "careroute-queues"
    assert action["Exten"] == "front_desk"
    assert action["Priority"] == "1"


@pytest.mark.asyncio
async def test_ami_redirect_error_raises_action_error(
    server: FakeAmiServer, ami: AmiClient
) -> None:
    server.scripts["Redirect"] = [
        {"Response": "Error", "Message": "Channel specified does not exist"}
    ]

    with pytest.raises(AmiActionError) as caught:
        await ami.redirect("Local/s@gone-00000001;2", "careroute-queues", "front_desk")

    assert caught.value.action == "Redirect"
    assert caught.value.asterisk_message == "Channel specified does not exist"


@pytest.mark.asyncio
async def test_ami_unanswered_action_times_out(server: FakeAmiServer) -> None:
    server.scripts["QueueSummary"] = None
    async with AmiClient(
        "127.0.0.1", server.port, "careroute", "secret", action_timeout=0.3
    ) as ami:
        with pytest.raises(AmiTimeout, match="QueueSummary"):
            await ami.queue_summary()


@pytest.mark.asyncio
async def test_ami_user_event_filtered_by_name(server: FakeAmiServer, ami: AmiClient) -> None:
    matching: asyncio.Queue[UserEvent] = asyncio.Queue()
    every: list[UserEvent] = []
    ami.on_user_event(matching.put_nowait, name="CareRouteQueue")
    ami.on_user_event(every.append)

    await server.push_event(
        {
            "Event": "UserEvent",
            "Privilege": "user,all",
            "Channel": "Local/s@x-1;2",
            "UserEvent": "Other",
        }
    )
    await server.push_event(
        {
            "Event": "UserEvent",
            "Privilege": "user,all",
            "Channel": "Local/s@x-2;2",
            "UserEvent": "CareRouteQueue",
            "Queue": "nurse",
            "Prio": "10",
        }
    )
    async with asyncio.timeout(5):
        event = await matching.get()

    assert event.channel == "Local/s@x-2;2"
    assert event.headers["Prio"] == "10"
    assert [e.name for e in every] == ["Other", "CareRouteQueue"]


@pytest.mark.asyncio
async def test_ami_send_user_event_headers(server: FakeAmiServer, ami: AmiClient) -> None:
    await ami.send_user_event("CareRouteAlarm", {"Reason": "no_rtp"})

    action = server.actions[-1]
    assert action["UserEvent"] == "CareRouteAlarm"
    assert action["Reason"] == "no_rtp"


@pytest.mark.asyncio
async def test_ami_on_event_receives_named_event(server: FakeAmiServer, ami: AmiClient) -> None:
    joins: asyncio.Queue[AmiEvent] = asyncio.Queue()
    ami.on_event("QueueCallerJoin", joins.put_nowait)

    await server.push_event(
        {"Event": "QueueCallerLeave", "Queue": "careroute-nurse", "Uniqueid": "a"}
    )
    await server.push_event(
        {"Event": "QueueCallerJoin", "Queue": "careroute-nurse", "Uniqueid": "b", "Position": "1"}
    )
    async with asyncio.timeout(5):
        event = await joins.get()

    assert event.name == "QueueCallerJoin"
    assert event.headers["Uniqueid"] == "b"
