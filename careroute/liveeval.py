"""Live end-to-end evaluation: manifest utterances as callers through Asterisk and the app.

Each manifest row becomes a test caller (``careroute.testcallers``) that
waits for the greeting, then plays the row's ``audio`` file. Where the call
went is read from Asterisk itself: the ``CareRouteQueue`` AMI user event that
every queue extension sends carries the queue and ``QUEUE_PRIO``. The answer
time is the AMI ``Newstate`` event that reports the caller channel Up.

Decision time after the speech (``decision_after_speech_ms``):

    decision - (answered + caller_delay + duration - PAD_SECONDS)

``decision`` and ``answered`` are the session's own trace marks (seconds
since StasisStart) when the app runs in this process. The caller's dialplan
starts its ``Wait(caller_delay)`` when the app answers, so the speech file
starts at ``answered + caller_delay``; the words in the file end
``PAD_SECONDS`` before its end. With an app running elsewhere the session is
out of reach, and the AMI queue event stands in for ``decision`` (AMI answer
time for ``answered``), which adds the set-variable and continue requests.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import wave
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import httpx

from careroute.config import CareRouteConfig, parse_config
from careroute.errors import CareRouteError
from careroute.livecalls import AnswerWatch, SessionCapture, ami_session, hang_up, running_service
from careroute.livemetrics import CallResult
from careroute.paths import repo_root
from careroute.policy import Trigger
from careroute.queuewatch import QueueArrival, QueueWatch
from careroute.speech import PAD_SECONDS
from careroute.testbed import Testbed
from careroute.testcallers import place_call

#: The caller starts speaking this long after the greeting's last sample, as
#: a person would after a short pause; it also covers the play request.
GREETING_MARGIN_S = 0.3
#: Triggers of the app's fallback routes (not decisions).
FALLBACK_TRIGGERS = frozenset({
    Trigger.FINAL_LOW_CONFIDENCE, Trigger.NO_SPEECH, Trigger.MAX_LISTEN, Trigger.MEDIA_FAILURE,
})
#: The test bed's dialplan watchdog (30 s) releases any caller to the front
#: desk; 15 s more covers the originate, a slow queue event and a loaded machine.
DEFAULT_CALL_TIMEOUT_S = 45.0
#: Seconds after the end of the caller's speech to wait for an escalation:
#: Vosk's endpoint needs up to 1 s of trailing silence, and AMI Redirect
#: plus the queue entry took well under a second on the test bed.
ESCALATION_GRACE_S = 3.0
DEFAULT_CONCURRENCY = 4
#: The only WAV format the test callers can play. Asterisk 22's format_wav
#: reads 16-bit PCM mono from a lowercase ``.wav`` file and expects 8000 Hz
#: there (16 kHz needs the ``.wav16`` suffix); other files fail to play.
CALLER_WAV_RATE_HZ = 8000
CALLER_WAV_SAMPLE_BYTES = 2
CALLER_WAV_CHANNELS = 1
#: Hint appended to every audio problem: sox is already a requirement.
CONVERT_HINT = "convert it with `sox IN -r 8000 -c 1 -b 16 -e signed-integer OUT.wav`"


def greeting_seconds(path: Path | None = None) -> float:
    """Return the length of the shipped greeting prompt in seconds."""
    path = path or repo_root() / "dialplan" / "sounds" / "greeting.wav"
    try:
        with wave.open(str(path), "rb") as wav:
            return wav.getnframes() / wav.getframerate()
    except (OSError, wave.Error) as exc:
        raise CareRouteError(f"greeting {str(path)!r} cannot be read as a WAV file ({exc})") from exc


def caller_audio_problem(path: Path) -> str | None:
    """Return what keeps the test bed from playing ``path``, or None when it can.

    The file must be a complete ``.wav`` of 16-bit PCM mono at 8000 Hz. A file
    that fails the check would be played as silence and scored as a miss.
    """
    if path.suffix != ".wav":
        return f"has the suffix {path.suffix!r}; the test bed plays only .wav files"
    try:
        with wave.open(str(path), "rb") as wav:
            channels, sample_bytes, rate = wav.getnchannels(), wav.getsampwidth(), wav.getframerate()
            expected_frames = wav.getnframes()
            data = wav.readframes(expected_frames)
    except (OSError, EOFError, wave.Error) as exc:
        # wave reads only PCM, so mu-law or float WAV files end here too ("unknown format: 7").
        return f"cannot be read as a PCM WAV file ({exc}); {CONVERT_HINT}"
    if sample_bytes != CALLER_WAV_SAMPLE_BYTES:
        return f"has {sample_bytes * 8}-bit samples, not 16-bit; {CONVERT_HINT}"
    if channels != CALLER_WAV_CHANNELS:
        return f"has {channels} channels, not 1 (mono); {CONVERT_HINT}"
    if rate != CALLER_WAV_RATE_HZ:
        return f"is sampled at {rate} Hz, not {CALLER_WAV_RATE_HZ} Hz; {CONVERT_HINT}"
    frames = len(data) // (sample_bytes * channels)
    if frames == 0:
        return "contains no audio frames"
    if frames < expected_frames:
        return f"is truncated: its header declares {expected_frames} frames, the file has {frames}"
    return None


@dataclass(frozen=True)
class ManifestCall:
    """One labelled utterance of the manifest."""

    call_id: str
    audio: Path
    queue: str
    urgency: str
    engine: str
    """The TTS engine: the part of ``voice`` before the first colon."""
    hard: bool
    duration_s: float


def read_manifest(path: Path, limit: int | None = None) -> list[ManifestCall]:
    """Read a JSON Lines manifest; ``audio`` paths are relative to its folder.

    Raises:
        CareRouteError: the file is missing, a line is not JSON, a field is
            missing, or an audio file does not exist.
    """
    if not path.is_file():
        raise CareRouteError(f"manifest {str(path)!r} not found; pass --manifest PATH")
    calls: list[ManifestCall] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        if limit is not None and len(calls) >= limit:
            break
        try:
            row = json.loads(line)
            call = ManifestCall(
                call_id=str(row["id"]),
                audio=path.parent / row["audio"],
                queue=str(row["queue"]),
                urgency=str(row["urgency"]),
                engine=str(row["voice"]).split(":", 1)[0],
                hard=bool(row.get("hard", False)),
                duration_s=float(row["duration_s"]),
            )
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise CareRouteError(
                f"manifest {str(path)!r} line {number} is not a call row ({exc!r}); each line needs "
                "id, audio, queue, urgency, voice and duration_s"
            ) from exc
        if not call.audio.is_file():
            raise CareRouteError(f"manifest {str(path)!r} line {number}: audio {str(call.audio)!r} not found")
        calls.append(call)
    return calls


@dataclass
class LiveEval:
    """Runs manifest calls against a test bed and an app, and collects CallResults."""

    testbed: Testbed
    queues: QueueWatch
    answers: AnswerWatch
    capture: SessionCapture | None
    """The in-process app's sessions; None when the app runs elsewhere."""
    emergency_prio: int
    caller_delay_s: float
    call_timeout_s: float = DEFAULT_CALL_TIMEOUT_S
    concurrency: int = DEFAULT_CONCURRENCY

    async def run(
        self, calls: Sequence[ManifestCall], on_result: Callable[[CallResult], None] | None = None
    ) -> list[CallResult]:
        """Place every call, at most ``concurrency`` at a time; return results in manifest order."""
        slots = asyncio.Semaphore(self.concurrency)

        async def one(call: ManifestCall) -> CallResult:
            async with slots:
                result = await self.evaluate(call)
            if on_result is not None:
                on_result(result)
            return result

        return list(await asyncio.gather(*(one(call) for call in calls)))

    async def evaluate(self, call: ManifestCall) -> CallResult:
        """Place one call, wait for its queue event, hang the caller up."""
        base = CallResult(
            call_id=call.call_id,
            expected_queue=call.queue,
            expected_urgency=call.urgency,
            engine=call.engine,
            hard=call.hard,
            emergency_prio=self.emergency_prio,
        )
        problem = caller_audio_problem(call.audio)
        if problem is not None:
            return replace(base, error=f"audio {str(call.audio)!r} {problem}")
        try:
            placed = await place_call(
                self.testbed, call.audio, delay_s=self.caller_delay_s, hold_s=self.call_timeout_s
            )
        except (httpx.HTTPError, CareRouteError) as exc:
            return replace(base, error=f"originate failed: {exc}")
        try:
            arrival = await self.queues.wait_for(placed.caller_channel_id, self.call_timeout_s)
            if arrival is not None and arrival.priority < self.emergency_prio:
                # Keep the caller on the line until it has finished speaking, so
                # an emergency named late in the sentence can still escalate.
                answered_at = self.answers.answered_at.get(placed.caller_channel_id, arrival.arrived_at)
                speech_end_at = answered_at + self.caller_delay_s + call.duration_s
                remaining = speech_end_at + ESCALATION_GRACE_S - time.monotonic()
                if remaining > 0:
                    await self.queues.wait_for_count(placed.caller_channel_id, 2, remaining)
        finally:
            with contextlib.suppress(httpx.HTTPError):
                await hang_up(self.testbed, placed.local_channel_id)
            with contextlib.suppress(OSError):
                (self.testbed.run_dir / "sounds" / f"caller-{placed.call_tag}.wav").unlink()
        if arrival is None:
            return replace(base, error=f"no queue event within {self.call_timeout_s:.0f} s")
        return self._observed(base, call, placed.caller_channel_id, arrival)

    def _observed(self, base: CallResult, call: ManifestCall, channel_id: str, arrival: QueueArrival) -> CallResult:
        speech_end_s = self.caller_delay_s + call.duration_s - PAD_SECONDS
        answered_at = self.answers.answered_at.get(channel_id)
        answer_to_queue = None if answered_at is None else (arrival.arrived_at - answered_at) * 1000
        after_speech = None if answer_to_queue is None else answer_to_queue - speech_end_s * 1000
        fallback = False
        session = self.capture.sessions.get(channel_id) if self.capture is not None else None
        if session is not None:
            marks = session.trace.marks
            if "decision" in marks and "answered" in marks:
                after_speech = (marks["decision"] - marks["answered"] - speech_end_s) * 1000
            fallback = session.decision is not None and session.decision.trigger in FALLBACK_TRIGGERS
        # Routing is judged by where the caller ended up; timing by the first arrival.
        final = (self.queues.arrivals(channel_id) or [arrival])[-1]
        return replace(
            base,
            got_queue=final.queue,
            got_prio=final.priority,
            got_urgency=final.urgency,
            reason=final.reason,
            escalated=final is not arrival,
            fallback=fallback,
            decision_after_speech_ms=None if after_speech is None else round(after_speech, 1),
            answer_to_queue_ms=None if answer_to_queue is None else round(answer_to_queue, 1),
        )



async def run_live_eval(
    calls: Sequence[ManifestCall],
    testbed: Testbed,
    config: CareRouteConfig | None,
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    call_timeout_s: float = DEFAULT_CALL_TIMEOUT_S,
    on_result: Callable[[CallResult], None] | None = None,
) -> list[CallResult]:
    """Evaluate ``calls`` on ``testbed``; run the app in-process from ``config`` unless it is None.

    With ``config`` None the app must already be connected to the test bed.
    """
    priorities = (config or parse_config({})).routing.priorities
    settings = testbed.settings
    async with ami_session("127.0.0.1", testbed.ami_port, settings.ami_user, settings.ami_password) as ami:
        queues = QueueWatch(ami)
        answers = AnswerWatch(ami)
        evaluation = LiveEval(
            testbed,
            queues,
            answers,
            capture=None,
            emergency_prio=priorities.emergency,
            caller_delay_s=greeting_seconds() + GREETING_MARGIN_S,
            call_timeout_s=call_timeout_s,
            concurrency=concurrency,
        )
        try:
            if config is None:
                return await evaluation.run(calls, on_result)
            async with running_service(config) as service:
                evaluation.capture = SessionCapture(service)
                try:
                    return await evaluation.run(calls, on_result)
                finally:
                    evaluation.capture.close()
        finally:
            queues.close()
            answers.close()
