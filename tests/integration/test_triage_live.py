"""Live triage: synthesized callers through the real Asterisk and the real app."""

from __future__ import annotations

import pytest

from careroute.speech import synthesize
from careroute.testbed import Testbed
from careroute.testcallers import place_call
from tests.integration.livecall import PASSWORD_ENV, queue_watch, running_service, service_config

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
        ("My husband has crushing chest pain and he is sweating a lot.", "nurse", "emergency"),
    ],
    ids=["refill", "chest-pain"],
)
async def test_caller_routed_to_queue(testbed: Testbed, vosk_model_dir, text: str, queue: str, urgency: str) -> None:
    config = service_config(testbed, vosk_model_dir)
    wav = synthesize(text, "piper:joe")
    async with running_service(config), queue_watch(testbed) as watch:
        call = await place_call(testbed, wav, delay_s=GREETING_S, hold_s=8)
        arrival = await watch.wait_for(call.caller_channel_id, timeout_s=30)
    assert arrival is not None
    assert arrival.queue == queue
    assert arrival.urgency == urgency
