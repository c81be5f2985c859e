"""Test callers: Local channels in the test bed that speak a prepared file.

``place_call`` originates ``Local/s@<entry>``. Its ``;2`` half runs the entry
context (by default ``[inbound]``, which sends the call to CareRoute); its
``;1`` half runs ``[tb-caller]`` once the far side answers: it waits
``delay`` seconds (a real caller listens to the greeting first), plays the
file, optionally sends DTMF digits, and stays on the line ``hold`` seconds.

ARI is used with the test bed's own credentials, over loopback only.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx

from careroute.testbed import Testbed

#: Seconds an ARI request to the local test bed may take.
REQUEST_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class PlacedCall:
    """A test call that was originated."""

    call_tag: str
    """Unique tag, also set as CALLER_ID on the speaking half."""
    local_channel_id: str
    """ARI id of the ``;1`` half (the speaking side)."""
    caller_channel_id: str
    """ARI id (and AMI Uniqueid) of the ``;2`` half, the caller CareRoute sees."""


async def place_call(
    testbed: Testbed,
    wav: Path | None,
    *,
    delay_s: float = 0.0,
    hold_s: float = 20.0,
    dtmf: str = "",
    entry: str = "inbound",
    caller_context: str = "tb-caller",
    variables: dict[str, str] | None = None,
) -> PlacedCall:
    """Originate a test caller that plays ``wav`` (an 8 kHz WAV) into ``entry``.

    Raises:
        httpx.HTTPStatusError: Asterisk rejected the originate.
    """
    call_tag = uuid.uuid4().hex[:12]
    channel_vars = {
        "CALLER_ID": call_tag,
        "CALLER_DELAY": f"{delay_s:.2f}",
        "CALLER_HOLD": f"{hold_s:.2f}",
        "CALLER_DTMF": dtmf,
        "CALLER_FILE": testbed.install_sound(wav, f"caller-{call_tag}") if wav else "",
    }
    channel_vars.update(variables or {})
    channel_id = f"tbcaller-{call_tag}"
    settings = testbed.settings
    async with httpx.AsyncClient(
        auth=(settings.ari_user, settings.ari_password), timeout=REQUEST_TIMEOUT_S
    ) as client:
        response = await client.post(
            f"{testbed.ari_url}/channels",
            params={
                "endpoint": f"Local/s@{entry}/n",
                "context": caller_context,
                "extension": "s",
                "priority": "1",
                "channelId": channel_id,
                "otherChannelId": f"tbcallee-{call_tag}",
                "timeout": "30",
            },
            json={"variables": channel_vars},
        )
        response.raise_for_status()
    return PlacedCall(
        call_tag=call_tag, local_channel_id=channel_id, caller_channel_id=f"tbcallee-{call_tag}"
    )
