"""Live triage: synthesized callers through the real Asterisk and the real app."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from agi.ami import AmiClient, UserEvent
from careroute.livecalls import PASSWORD_ENV, queue_watch, running_service, service_config
from careroute.speech import synthesize
from careroute.testbed import Testbed
from careroute.testcallers import place_call

#: The greeting lasts about 4 s; a caller starts talking after it.
GREETING_S = 4.0


@pytest.fixture(autouse=True)
def _ari_password(testbed: Testbed, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSWORD_ENV, testbed.ari_password)


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("text", "queue", "urgency"),
    [
        ("I am calling because I need a refill on my blood pressure pills.", "refill", "routine"),
        ("I have a question about the bill for my last visit.", "billing", "routine"),
        ("I would like to book a checkup with doctor Patel next week.", "scheduling", "routine"),
        ("I want to update my home address and my insurance card.", "front_desk", "routine"),
        ("I have a question for the nurse about a rash on my arm.", "nurse", "routine"),
        ("My husband has crushing chest pain and he is sweating a lot.", "nurse", "emergency"),
        ("My mother just collapsed and she is not breathing.", "nurse", "emergency"),
        ("My daughter has a high fever and a stiff neck.", "nurse", "urgent"),
    ],
    ids=["refill", "billing", "scheduling", "front-desk", "nurse", "chest-pain", "collapse", "stiff-neck"],
)
async def test_caller_routed_to_queue(testbed: Testbed, vosk_model_dir, text: str, queue: str, urgency: str) -> None:
    config = service_config(testbed, vosk_model_dir)
    wav = synthesize(text, "piper:joe")
    async with running_service(config), queue_watch(testbed) as watch:
        call = await place_call(testbed, wav, delay_s=GREETING_S, hold_s=12)
        first = await watch.wait_for(call.caller_channel_id, timeout_s=30)
        if first is not None and urgency == "emergency" and first.urgency != "emergency":
            # Routed before the red flag was heard: the escalation moves the caller.
            await watch.wait_for_count(call.caller_channel_id, 2, timeout_s=15)
        arrivals = watch.arrivals(call.caller_channel_id)
    assert arrivals
    arrival = arrivals[-1]
    assert arrival.queue == queue
    assert arrival.urgency == urgency
    assert arrival.priority == config.routing.priorities.for_urgency(urgency)


@pytest_asyncio.fixture
async def user_events(testbed: Testbed) -> AsyncIterator[list[UserEvent]]:
    """Every CareRouteQueue user event with all its headers, as AMI delivers it."""
    events: list[UserEvent] = []
    async with AmiClient(
        "127.0.0.1", testbed.ami_port, testbed.settings.ami_user, testbed.settings.ami_password
    ) as ami:
        remove = ami.on_user_event(events.append, "CareRouteQueue")
        try:
            yield events
        finally:
            remove()


@pytest.mark.asyncio
async def test_routing_variables_reach_dialplan(testbed: Testbed, vosk_model_dir, user_events: list[UserEvent]) -> None:
    config = service_config(testbed, vosk_model_dir)
    wav = synthesize("I am calling because I need a refill on my blood pressure pills.", "piper:joe")
    async with running_service(config), queue_watch(testbed) as watch:
        call = await place_call(testbed, wav, delay_s=1.0, hold_s=8)
        arrival = await watch.wait_for(call.caller_channel_id, timeout_s=30)
    headers = next((e.headers for e in user_events if e.headers.get("Uniqueid") == call.caller_channel_id), {})
    assert arrival is not None
    assert headers.get("Queue") == "refill"
    assert headers.get("Target") == "refill"
    assert headers.get("Urgency") == "routine"
    assert headers.get("Prio") == str(config.routing.priorities.routine)
    assert headers.get("CallId") == call.caller_channel_id.replace(".", "-")
    assert 0.0 < float(headers.get("Confidence") or "nan") <= 1.0
    assert headers.get("Reason", "") != ""



@pytest.mark.asyncio
async def test_emergency_after_routing_escalates(testbed: Testbed, vosk_model_dir) -> None:
    """A caller routed early on a refill who then names a red flag moves to the nurse queue."""
    config = service_config(testbed, vosk_model_dir)
    text = (
        "Hi, I need a refill on my blood pressure pills, the pharmacy said it ran out. "
        "Oh and also my husband just collapsed on the floor and he is not breathing."
    )
    wav = synthesize(text, "piper:joe")
    async with running_service(config) as service, queue_watch(testbed) as watch:
        call = await place_call(testbed, wav, delay_s=GREETING_S, hold_s=25)
        arrivals = await watch.wait_for_count(call.caller_channel_id, 2, timeout_s=40)
    # The service counts the escalation when the session closes, at the latest on shutdown.
    assert service.stats.calls_escalated == 1
    assert len(arrivals) == 2
    assert arrivals[0].queue == "refill"
    assert arrivals[1].queue == "nurse"
    assert arrivals[1].urgency == "emergency"
    assert arrivals[1].priority == config.routing.priorities.emergency


@pytest.mark.asyncio
async def test_routine_call_not_escalated(testbed: Testbed, vosk_model_dir) -> None:
    """A caller who says nothing alarming after routing stays in the first queue."""
    config = service_config(testbed, vosk_model_dir, escalation_window_seconds=6.0)
    text = "Hi, I need a refill on my blood pressure pills, and I would like to pick it up tomorrow."
    wav = synthesize(text, "piper:joe")
    async with running_service(config), queue_watch(testbed) as watch:
        call = await place_call(testbed, wav, delay_s=GREETING_S, hold_s=12)
        arrivals = await watch.wait_for_count(call.caller_channel_id, 2, timeout_s=14)
    assert [arrival.queue for arrival in arrivals] == ["refill"]
