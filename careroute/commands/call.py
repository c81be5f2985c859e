"""``careroute call``: place one synthesized test caller into the local test bed."""

from __future__ import annotations

import argparse
import math
import time
import wave
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from careroute.testbed import Testbed
    from careroute.testcallers import PlacedCall

#: ``--entry`` choice -> the test bed's dialplan context (tests/asterisk/extensions.conf).
ENTRY_CONTEXTS = {"ari": "inbound", "eagi": "inbound-eagi"}
#: Digits that Asterisk's SendDTMF() sends as tones.
DTMF_DIGITS = frozenset("0123456789*#ABCD")
#: Hint appended to every error about a test bed that cannot be reached.
START_HINT = "start it with `make testbed` (or set CAREROUTE_TESTBED_* to its ports)"
#: Hint printed when the caller reached no queue, per entry point.
NO_QUEUE_HINTS = {
    "ari": "is `make run CONFIG=config/testbed.yaml` connected to the test bed?",
    "eagi": "is `careroute eagi-serve --config config/testbed.yaml` running?",
}


def dtmf_string(value: str) -> str:
    """Return ``value`` if every character is a DTMF digit, for argparse ``type=``."""
    invalid = sorted(set(value) - DTMF_DIGITS)
    if invalid:
        raise argparse.ArgumentTypeError(
            f"{value!r} has characters that are not DTMF digits ({', '.join(map(repr, invalid))}); "
            "use 0-9, *, # and A-D"
        )
    return value


def non_negative_seconds(value: str) -> float:
    """Parse a finite number of seconds that is 0 or more, for argparse ``type=``."""
    seconds = _finite_seconds(value)
    if seconds < 0:
        raise argparse.ArgumentTypeError(f"{value!r} is negative; give 0 or more seconds")
    return seconds


def positive_seconds(value: str) -> float:
    """Parse a finite number of seconds above 0, for argparse ``type=``."""
    seconds = _finite_seconds(value)
    if seconds <= 0:
        raise argparse.ArgumentTypeError(f"{value!r} is not above 0; give a positive number of seconds")
    return seconds


def _finite_seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of seconds") from None
    if not math.isfinite(seconds):
        raise argparse.ArgumentTypeError(f"{value!r} is not a finite number of seconds")
    return seconds


def tcp_port(value: str) -> int:
    """Parse a TCP port number 1-65535, for argparse ``type=``."""
    try:
        port = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a port number") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{value!r} is out of range; use a port 1-65535")
    return port


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("text", help="what the caller says, e.g. \"I need my lisinopril refilled\"")
    parser.add_argument(
        "--voice",
        default="piper:joe",
        help="synthetic voice: 'piper:joe[:ls=1.1]' or 'espeak-ng:VOICE[:s=150]' (default: piper:joe)",
    )
    parser.add_argument(
        "--delay",
        type=non_negative_seconds,
        default=4.3,
        help="seconds the caller waits after the answer before speaking (default: 4.3; "
        "the greeting lasts 4 s)",
    )
    parser.add_argument(
        "--dtmf",
        type=dtmf_string,
        default="",
        help="DTMF digits (0-9, *, #, A-D) the caller presses after speaking, e.g. 0",
    )
    parser.add_argument(
        "--wait",
        type=positive_seconds,
        default=40.0,
        help="seconds to wait for the caller to reach a queue (default: 40)",
    )
    parser.add_argument(
        "--entry",
        choices=sorted(ENTRY_CONTEXTS),
        default="ari",
        help="entry point: 'ari' sends the call to Stasis (careroute ari), 'eagi' to the "
        "EAGI relay and `careroute eagi-serve` (default: ari)",
    )
    parser.add_argument(
        "--eagi-port",
        type=tcp_port,
        default=None,
        help="with --entry eagi: port of `careroute eagi-serve` on 127.0.0.1 "
        "(default: 4578, the relay's default and eagi.port's)",
    )


#: Seconds after the caller's speech to wait for an escalation to a second queue.
ESCALATION_MARGIN_S = 3.0


def wav_seconds(path: Path) -> float:
    """Return the length of a WAV file in seconds."""
    with wave.open(str(path), "rb") as wav_file:
        return wav_file.getnframes() / wav_file.getframerate()


def caller_variables(entry: str, eagi_port: int | None) -> dict[str, str]:
    """Return the extra channel variables of a caller that enters at ``entry``.

    Raises:
        CareRouteError: ``eagi_port`` was given for an entry other than eagi.
    """
    from careroute.errors import CareRouteError

    if eagi_port is None:
        return {}
    if entry != "eagi":
        raise CareRouteError(f"--eagi-port {eagi_port} needs --entry eagi (got --entry {entry})")
    # The relay reads the engine address from this variable (extensions_careroute_eagi.conf).
    return {"CAREROUTE_EAGI_ENGINE": f"127.0.0.1:{eagi_port}"}


def run(args: argparse.Namespace) -> int:
    import asyncio

    from careroute.commands.ami_errors import quiet_ami_library
    from careroute.logs import configure_logging
    from careroute.testbed import Testbed, root_path

    configure_logging("warning")
    quiet_ami_library()
    variables = caller_variables(args.entry, args.eagi_port)
    # The running test bed's run folder lives under the root; the root is not
    # built here, because a test bed that runs has one already.
    testbed = Testbed(root_path())
    return asyncio.run(_call(args, testbed, variables))


async def _call(args: argparse.Namespace, testbed: Testbed, variables: dict[str, str]) -> int:
    import asyncio

    from agi.ami import AmiError
    from careroute.commands.ami_errors import ami_failure
    from careroute.livecalls import ami_session
    from careroute.queuewatch import QueueWatch
    from careroute.speech import synthesize

    settings = testbed.settings
    # AMI is opened first, so a test bed that is not running fails before the speech synthesis.
    try:
        async with ami_session("127.0.0.1", testbed.ami_port, settings.ami_user, settings.ami_password) as ami:
            watch = QueueWatch(ami)
            wav = await asyncio.to_thread(synthesize, args.text, args.voice)
            placed = await _place(testbed, wav, args, variables)
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
    except AmiError as exc:
        raise ami_failure(
            exc, testbed.ami_port, START_HINT, "the test bed's AMI secret is testbed-ami-secret"
        ) from exc
    if not arrivals:
        print(f"no queue reached within {args.wait:.0f} s; {NO_QUEUE_HINTS[args.entry]}")
        return 1
    for arrival in arrivals:
        print(
            f"queue={arrival.queue} priority={arrival.priority} "
            f"urgency={arrival.urgency} reason={arrival.reason!r}"
        )
    return 0


async def _place(
    testbed: Testbed,
    wav: Path,
    args: argparse.Namespace,
    variables: dict[str, str],
) -> PlacedCall:
    """Originate the caller; turn ARI failures into one-line CareRouteErrors."""
    import httpx

    from careroute.errors import CareRouteError
    from careroute.testcallers import place_call

    try:
        return await place_call(
            testbed,
            wav,
            delay_s=args.delay,
            hold_s=args.wait,
            dtmf=args.dtmf,
            entry=ENTRY_CONTEXTS[args.entry],
            variables=variables,
        )
    except httpx.HTTPStatusError as exc:
        raise CareRouteError(
            f"the test bed's ARI at {testbed.ari_url} rejected the call with HTTP "
            f"{exc.response.status_code}: {exc.response.text.strip()[:200]!r}"
        ) from exc
    except httpx.HTTPError as exc:
        raise CareRouteError(
            f"cannot reach the test bed's ARI at {testbed.ari_url} ({exc or type(exc).__name__}); "
            f"{START_HINT}"
        ) from exc

