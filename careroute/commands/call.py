"""``careroute call``: place one synthesized test caller into the local test bed."""

from __future__ import annotations

import argparse
import time
import wave
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("text", help="what the caller says, e.g. \"I need my lisinopril refilled\"")
    parser.add_argument(
        "--voice",
        default="piper:joe",
        help="synthetic voice: 'piper:joe[:ls=1.1]' or 'espeak-ng:VOICE[:s=150]' (default: piper:joe)",
    )
    parser.add_argument(
        "--delay",
        type=float,
        default=4.3,
        help="seconds the caller waits after the answer before speaking (the greeting lasts 4 s)",
    )
    parser.add_argument("--dtmf", default="", help="digits the caller presses after speaking, e.g. 0")
    parser.add_argument(
        "--wait", type=float, default=40.0, help="seconds to wait for the caller to reach a queue"
    )


#: Seconds after the caller's speech to wait for an escalation to a second queue.
ESCALATION_MARGIN_S = 3.0


def wav_seconds(path: Path) -> float:
    """Return the length of a WAV file in seconds."""
    with wave.open(str(path), "rb") as wav_file:
        return wav_file.getnframes() / wav_file.getframerate()


def run(args: argparse.Namespace) -> int:
    import asyncio

    from careroute.livecalls import ami_session
    from careroute.logs import configure_logging
    from careroute.queuewatch import QueueWatch
    from careroute.speech import synthesize
    from careroute.testbed import Testbed, ensure_root
    from careroute.testcallers import place_call

    configure_logging("warning")
    testbed = Testbed(ensure_root(progress=lambda message: None))
    wav = synthesize(args.text, args.voice)

    async def call() -> int:
        settings = testbed.settings
        async with ami_session("127.0.0.1", testbed.ami_port, settings.ami_user, settings.ami_password) as ami:
            watch = QueueWatch(ami)
            placed = await place_call(
                testbed, wav, delay_s=args.delay, hold_s=args.wait, dtmf=args.dtmf
            )
            placed_at = time.monotonic()
            print(f"placed caller {placed.caller_channel_id}; waiting for a queue")
            first = await watch.wait_for(placed.caller_channel_id, args.wait)
            if first is not None:
                # An escalation can come until the caller has finished speaking, plus a margin.
                speech_ends_at = placed_at + args.delay + wav_seconds(wav) + ESCALATION_MARGIN_S
                await watch.wait_for_count(
                    placed.caller_channel_id, 2, max(0.0, speech_ends_at - time.monotonic())
                )
            arrivals = watch.arrivals(placed.caller_channel_id)
        if not arrivals:
            print(f"no queue reached within {args.wait:.0f} s; is `make run` connected to the test bed?")
            return 1
        for arrival in arrivals:
            print(
                f"queue={arrival.queue} priority={arrival.priority} "
                f"urgency={arrival.urgency} reason={arrival.reason!r}"
            )
        return 0

    return asyncio.run(call())
