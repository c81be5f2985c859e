"""One caller's visit to the CareRoute Stasis app, from StasisStart to the queue.

A ``CallSession`` answers the caller and plays the greeting. It taps the
caller's voice with a snoop (``spy=in``) bridged to an externalMedia RTP
channel that sends to a UDP port assigned to this call. The audio goes to the
engine's ``CallPipeline`` in a worker thread, and the session carries out the
pipeline's actions: a reprompt, or a routing decision.

A decision sets the CAREROUTE_* variables and ``QUEUE_PRIO`` on the caller,
clears the dialplan watchdog and continues the caller to
``[careroute-queues]``. After a routine or urgent decision the session keeps
listening for ``escalation_window_s`` and, on an emergency red flag, moves the
caller to the emergency queue through its escalator (AMI). Whatever happens,
every channel and bridge the session created is removed when it ends, and it
ends exactly once.

The session holds no classification or policy logic: it moves audio in and
decisions out.
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

import structlog

from ari_app.client import AriClient
from ari_app.errors import AriError, is_gone
from ari_app.media import RtpPortPool, RtpReceiver, open_rtp_receiver
from careroute.audio import AudioFormat
from careroute.pipeline import CallPipeline
from careroute.policy import CallLifecycle, CallState, Decision, Reprompt, Trigger

log = structlog.get_logger("careroute.session")

#: Maximum frames handed to the recognizer per worker-thread call. A single
#: 20 ms frame would cost more in thread hand-off than in decoding, so up to
#: five frames (100 ms) go at once. Partials still come several times a second.
MAX_FRAMES_PER_FEED = 5
#: How often the policy's clocks (no speech, maximum listening time) are checked.
TICK_INTERVAL_S = 0.1
#: Maximum greeting length the no-speech timer waits for before it starts anyway.
GREETING_MAX_S = 15.0
#: Bound on each teardown request, so a dead Asterisk cannot hold a session open.
TEARDOWN_TIMEOUT_S = 3.0
#: Prefix of every channel and bridge id CareRoute creates. Recovery and the
#: periodic sweep use it to find what a crashed or disconnected app left behind.
OWNED_ID_PREFIX = "careroute-"


@dataclass(frozen=True)
class SessionSettings:
    """Configuration values one call session uses."""

    app: str
    audio_format: AudioFormat
    media_host: str
    dialplan_context: str
    fallback_queue: str
    greeting: str | None
    reprompt: str | None
    no_rtp_timeout_s: float
    priorities: dict[str, int]
    escalation_window_s: float = 0.0
    """Seconds of listening after a non-emergency decision; 0 turns it off."""


@dataclass
class CallTrace:
    """Timings of one call in seconds since StasisStart, for the routing trace."""

    started_at: float = field(default_factory=time.monotonic)
    marks: dict[str, float] = field(default_factory=dict)

    def mark(self, name: str) -> None:
        """Record the first time ``name`` happened."""
        self.marks.setdefault(name, round(time.monotonic() - self.started_at, 3))


def sanitize_dialplan_value(value: str) -> str:
    """Return ``value`` safe to read back in dialplan functions and UserEvent bodies.

    Commas and pipes separate application arguments; newlines would end an
    AMI header.
    """
    return "".join(" " if ch in ",|\r\n" else ch for ch in value).strip()[:80]


#: Builds the engine pipeline for one call from its call id.
PipelineFactory = Callable[[str], CallPipeline]

#: Moves a caller who already left Stasis to a new queue: (channel name,
#: decision) -> True when Asterisk accepted the move.
Escalator = Callable[[str, Decision], Awaitable[bool]]


class CallSession:
    """Runs one caller from StasisStart to a queue (or to their hangup)."""

    def __init__(
        self,
        client: AriClient,
        caller_id: str,
        settings: SessionSettings,
        pipeline_factory: PipelineFactory,
        port_pool: RtpPortPool,
        executor: Executor,
        *,
        caller_state: str = "Up",
        caller_name: str = "",
        escalator: Escalator | None = None,
        on_closed: Callable[[CallSession], None] | None = None,
    ) -> None:
        self.client = client
        self.caller_id = caller_id
        self.settings = settings
        self.call_id = caller_id.replace(".", "-")
        self.snoop_id = f"{OWNED_ID_PREFIX}snoop-{self.call_id}"
        self.media_id = f"{OWNED_ID_PREFIX}media-{self.call_id}"
        self.bridge_id = f"{OWNED_ID_PREFIX}bridge-{self.call_id}"
        self.greeting_id = f"{OWNED_ID_PREFIX}greeting-{self.call_id}"
        self.reprompt_id = f"{OWNED_ID_PREFIX}reprompt-{self.call_id}"
        self._pipeline_factory = pipeline_factory
        self._port_pool = port_pool
        self._executor = executor
        self._caller_state = caller_state
        self._caller_name = caller_name
        self._escalator = escalator
        self._on_closed = on_closed
        self.lifecycle = CallLifecycle()
        self.trace = CallTrace()
        self.decision: Decision | None = None
        self.end_reason = ""
        self._receiver: RtpReceiver | None = None
        self._port: int | None = None
        self._pipeline: CallPipeline | None = None
        self._listening_started = False
        self._ready: dict[str, asyncio.Event] = {self.snoop_id: asyncio.Event(), self.media_id: asyncio.Event()}
        self._early_digits: list[str] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._group: asyncio.TaskGroup | None = None
        self._hung_up = asyncio.Event()
        self._finished = asyncio.Event()
        # Set once continue was requested: the StasisEnd that follows is expected.
        self._continue_requested = False
        # True while the call is in its queue and the app still listens for red flags.
        self._watching = False
        # Set by hand_over: the service is stopping, so no escalation watch starts.
        self._stopping = False
        self.escalation: Decision | None = None
        self._closed = False
        self._log = log.bind(call_id=self.call_id)

    # -- ids and events ----------------------------------------------------

    @property
    def owned_ids(self) -> tuple[str, ...]:
        """Ids of the channels and playbacks this session creates."""
        return (self.snoop_id, self.media_id, self.greeting_id, self.reprompt_id)

    def channel_entered_app(self, channel_id: str) -> None:
        """Record the StasisStart of our snoop or externalMedia channel."""
        ready = self._ready.get(channel_id)
        if ready is not None:
            ready.set()

    def caller_left(self, reason: str) -> None:
        """Record that the caller hung up or left Stasis, so the session stops and cleans up."""
        if not self._hung_up.is_set():
            self.trace.mark("caller_left")
            self.end_reason = self.end_reason or reason
            self._hung_up.set()

    def left_stasis(self) -> None:
        """Handle the caller's StasisEnd: expected after continue, a hangup otherwise."""
        if not self._continue_requested:
            self.caller_left("left the application")

    def owned_channel_gone(self, channel_id: str) -> None:
        """Handle the end of our snoop or externalMedia leg."""
        if self._watching:
            # The snoop ends with the caller: nothing more to listen to.
            self.trace.mark("watch_ended")
            self._finished.set()
            return
        if self.state in (CallState.ANSWERED, CallState.LISTENING, CallState.REPROMPTING) and not self._hung_up.is_set():
            self._log.warning("call.media.leg_lost", channel=channel_id)

    def hand_over(self, reason: str) -> None:
        """Release the caller to humans because the service is stopping.

        A caller still being listened to goes to the fallback queue at once,
        through the same routing as any decision. A routed caller whose
        escalation watch is running keeps its queue and the watch ends. A
        routing already under way completes.
        """
        self._stopping = True
        if self._watching:
            self.trace.mark("watch_ended")
            self._finished.set()
            return
        if self._hung_up.is_set() or self.state not in (
            CallState.NEW, CallState.ANSWERED, CallState.LISTENING, CallState.REPROMPTING
        ):
            return
        self._spawn(self._route(self._decide_fallback(reason, Trigger.SHUTDOWN)))

    def playback_finished(self, playback_id: str) -> None:
        """Start the policy's no-speech timer once the greeting has played."""
        if playback_id == self.greeting_id:
            self.trace.mark("greeting_done")
            self._start_listening_clock()

    def _start_listening_clock(self) -> None:
        if self._pipeline is not None and not self._listening_started:
            self._listening_started = True
            self._pipeline.start(time.monotonic())

    def dtmf(self, digit: str) -> None:
        """Pass a DTMF digit from the caller to the policy.

        Digits count from StasisStart on, so a caller who presses the operator
        digit during the greeting is routed before the audio tap exists.
        """
        if self.state not in (CallState.NEW, CallState.ANSWERED, CallState.LISTENING):
            return
        if self._pipeline is None:
            self._early_digits.append(digit)
            return
        self._apply(self._pipeline.dtmf(digit, time.monotonic()))

    # -- lifecycle ---------------------------------------------------------

    @property
    def state(self) -> CallState:
        return self.lifecycle.state

    def _transition(self, new: CallState) -> None:
        self.lifecycle.advance(new)

    async def run(self) -> None:
        """Run the call to its end; never raises for a caller who hangs up.

        The call ends when it is routed or the caller is gone. Every task the
        call started is cancelled then: a decoder waiting for audio that stopped
        with the caller's hangup would otherwise hold the teardown forever.
        """
        structlog.contextvars.bind_contextvars(call_id=self.call_id)
        self.trace.mark("stasis_start")
        try:
            async with asyncio.TaskGroup() as group:
                self._group = group
                self._spawn(self._watch_hangup())
                self._spawn(self._setup())
                await self._finished.wait()
                for task in list(self._tasks):
                    task.cancel()
        except* AriError as errors:
            if self._hung_up.is_set() or all(is_gone(exc) for exc in errors.exceptions):
                self.caller_left("caller gone during a request")
            else:
                self._log.error("call.failed", error=str(errors.exceptions[0]))
                await self._route_to_fallback("app error")
        except* Exception as errors:
            # A bug or a broken recognizer must not strand the caller in the app.
            self._log.error(
                "call.failed", error=repr(errors.exceptions[0]), exc_info=errors.exceptions[0]
            )
            await self._route_to_fallback("app error")
        finally:
            self._group = None
            await self._teardown()

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run ``coro`` in the call's task group; it is cancelled when the call ends."""
        if self._group is None or self._finished.is_set():
            coro.close()
            return
        task = self._group.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _watch_hangup(self) -> None:
        await self._hung_up.wait()
        if self.state in (CallState.NEW, CallState.ANSWERED, CallState.LISTENING, CallState.REPROMPTING, CallState.DECIDED):
            self._transition(CallState.HUNG_UP)
        self._finished.set()

    async def _setup(self) -> None:
        # A new Vosk recognizer took 80-130 ms (small English model, 2-core
        # machine): ten callers at once would stall the event loop for a second.
        self._pipeline = await asyncio.get_running_loop().run_in_executor(
            self._executor, contextvars.copy_context().run, self._pipeline_factory, self.call_id
        )
        for digit in self._early_digits:
            self.dtmf(digit)
        self._early_digits.clear()
        if self._caller_state != "Up":
            await self.client.answer(self.caller_id)
        if self.state is not CallState.NEW:
            return
        self._transition(CallState.ANSWERED)
        self.trace.mark("answered")
        if self.settings.greeting:
            await self.client.play(self.caller_id, f"sound:{self.settings.greeting}", playback_id=self.greeting_id)

        self._receiver, self._port = await open_rtp_receiver(self._port_pool, self.settings.audio_format)
        await self.client.snoop(self.caller_id, snoop_id=self.snoop_id, spy="in", app=self.settings.app)
        await self.client.create_bridge(self.bridge_id, bridge_type="mixing")
        await self.client.external_media(
            channel_id=self.media_id,
            app=self.settings.app,
            external_host=f"{self.settings.media_host}:{self._port}",
            format=self.settings.audio_format.asterisk_name,
        )
        # A channel can join a bridge only after its StasisStart was sent.
        async with asyncio.timeout(self.settings.no_rtp_timeout_s + 3.0):
            await asyncio.gather(*(event.wait() for event in self._ready.values()))
        await self.client.add_channels_to_bridge(self.bridge_id, [self.snoop_id, self.media_id])
        self.trace.mark("media_bridged")
        # A DTMF decision or a hangup may have come during the set-up requests.
        if self.state not in (CallState.ANSWERED,):
            return
        self._transition(CallState.LISTENING)
        self._spawn(self._watch_first_packet())
        self._spawn(self._decode_loop())
        self._spawn(self._tick_loop())

    async def _watch_first_packet(self) -> None:
        assert self._receiver is not None
        try:
            async with asyncio.timeout(self.settings.no_rtp_timeout_s):
                await self._receiver.first_packet.wait()
        except TimeoutError:
            self._log.error(
                "call.media.no_rtp",
                port=self._port,
                timeout_s=self.settings.no_rtp_timeout_s,
                action="routing caller to the fallback queue",
            )
            await self._route_to_fallback("no audio")
            return
        self.trace.mark("first_audio")

    async def _decode_loop(self) -> None:
        assert self._receiver is not None
        assert self._pipeline is not None
        frames = self._receiver.frames
        loop = asyncio.get_running_loop()
        while self.state in (CallState.LISTENING, CallState.DECIDED) or self._watching:
            frame = await frames.get()
            if frame is None:
                return
            batch = [frame]
            while len(batch) < MAX_FRAMES_PER_FEED and not frames.empty():
                more = frames.get_nowait()
                if more is None:
                    break
                batch.append(more)
            context = contextvars.copy_context()
            # After the decision, audio queued meanwhile goes to the red-flag watch.
            step = self._pipeline.watch if self._watching else self._pipeline.feed
            actions = await loop.run_in_executor(
                self._executor, context.run, step, b"".join(batch), time.monotonic()
            )
            if not actions:
                continue
            if self._watching:
                self._start_escalation(actions)
            elif self.state is CallState.LISTENING:
                self._apply(actions)

    async def _tick_loop(self) -> None:
        assert self._pipeline is not None
        bridged_at = time.monotonic()
        while self.state is CallState.LISTENING:
            now = time.monotonic()
            if not self._listening_started and (
                not self.settings.greeting or now - bridged_at > GREETING_MAX_S
            ):
                # No greeting, or its PlaybackFinished never came: start the clock anyway.
                self._start_listening_clock()
            if self._listening_started:
                self._apply(self._pipeline.tick(now))
            await asyncio.sleep(TICK_INTERVAL_S)

    def _apply(self, actions: list[Any]) -> None:
        for action in actions:
            if isinstance(action, Decision) and self.state in (
                CallState.NEW, CallState.ANSWERED, CallState.LISTENING
            ):
                self.decision = action
                self._transition(CallState.DECIDED)
                self._spawn(self._route(action))
                return
            if isinstance(action, Reprompt) and self.settings.reprompt:
                self.trace.mark("reprompt")
                self._spawn(self._reprompt())

    async def _reprompt(self) -> None:
        try:
            await self.client.stop_playback(self.greeting_id, missing_ok=True)
            await self.client.play(self.caller_id, f"sound:{self.settings.reprompt}", playback_id=self.reprompt_id)
        except AriError as exc:
            if not is_gone(exc):
                self._log.warning("call.reprompt.failed", error=str(exc))

    # -- routing -------------------------------------------------------------

    async def _route_to_fallback(self, reason: str) -> None:
        if self.state is CallState.DECIDED and self.decision is not None and "continued" not in self.trace.marks:
            # The decision's own routing task was cancelled by the failure: route it now.
            await self._route(self.decision)
            return
        if self.state in (CallState.DECIDED, CallState.ROUTED, CallState.HUNG_UP, CallState.FINISHED):
            return
        await self._route(self._decide_fallback(reason, Trigger.MEDIA_FAILURE))

    def _decide_fallback(self, reason: str, trigger: Trigger) -> Decision:
        """Record a routine decision for the fallback queue and return it."""
        decision = Decision(
            queue=self.settings.fallback_queue,
            urgency="routine",
            confidence=0.0,
            reason=reason,
            priority=self.settings.priorities.get("routine", 0),
            trigger=trigger,
            decided_at=time.monotonic(),
        )
        self.decision = decision
        self._transition(CallState.DECIDED)
        return decision

    async def _route(self, decision: Decision) -> None:
        """Set the routing variables on the caller and continue it to its queue."""
        self.trace.mark("decision")
        try:
            for playback in (self.greeting_id, self.reprompt_id):
                await self.client.stop_playback(playback, missing_ok=True)
            variables = {
                "TIMEOUT(absolute)": "0",
                "CAREROUTE_QUEUE": decision.queue,
                "CAREROUTE_URGENCY": decision.urgency,
                "CAREROUTE_CONFIDENCE": f"{decision.confidence:.2f}",
                "CAREROUTE_REASON": sanitize_dialplan_value(decision.reason),
                "CAREROUTE_CALL_ID": self.call_id,
                "QUEUE_PRIO": str(decision.priority),
            }
            for name, value in variables.items():
                await self.client.set_channel_var(self.caller_id, name, value)
            self._continue_requested = True
            await self.client.continue_in_dialplan(
                self.caller_id, context=self.settings.dialplan_context, extension=decision.queue, priority=1
            )
        except AriError as exc:
            if is_gone(exc):
                self.caller_left("caller gone while routing")
            else:
                self._log.error("call.route.failed", error=str(exc), queue=decision.queue)
            self._finished.set()
            return
        self.trace.mark("continued")
        if self.state is CallState.DECIDED:
            self._transition(CallState.ROUTED)
        if self._should_watch(decision):
            self._watching = True
            self._spawn(self._end_watch_after(self.settings.escalation_window_s))
            return
        self._finished.set()

    # -- escalation ------------------------------------------------------------

    def _should_watch(self, decision: Decision) -> bool:
        return (
            self._escalator is not None
            and not self._stopping
            and self.settings.escalation_window_s > 0
            and decision.urgency != "emergency"
            and self._receiver is not None
            and not self._hung_up.is_set()
        )

    async def _end_watch_after(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
        self.trace.mark("watch_ended")
        self._finished.set()

    def _start_escalation(self, actions: list[Any]) -> None:
        for action in actions:
            if isinstance(action, Decision) and self.escalation is None:
                self.escalation = action
                self._watching = False
                self._spawn(self._escalate(action))
                return

    async def _escalate(self, decision: Decision) -> None:
        """Move the routed caller to the emergency queue over AMI."""
        assert self._escalator is not None
        self.trace.mark("escalation")
        moved = await self._escalator(self._caller_name, decision)
        if moved:
            self.trace.mark("escalated")
            self._log.warning(
                "call.escalated", queue=decision.queue, priority=decision.priority, reason=decision.reason
            )
        else:
            self._log.error(
                "call.escalation.failed", queue=decision.queue, action="caller stays in its first queue"
            )
        self._finished.set()

    # -- teardown -------------------------------------------------------------

    async def _teardown(self) -> None:
        """Remove everything this call created; runs once, even when cancelled."""
        if self._closed:
            return
        self._closed = True
        steps: tuple[Callable[[], Awaitable[bool]], ...] = (
            lambda: self.client.hangup(self.media_id, missing_ok=True),
            lambda: self.client.destroy_bridge(self.bridge_id, missing_ok=True),
            lambda: self.client.hangup(self.snoop_id, missing_ok=True),
        )
        try:
            for step in steps:
                try:
                    async with asyncio.timeout(TEARDOWN_TIMEOUT_S):
                        await step()
                except (AriError, TimeoutError) as exc:
                    # The periodic sweep removes whatever is left.
                    self._log.warning("call.teardown.incomplete", error=str(exc) or type(exc).__name__)
        finally:
            # Local resources go even when the service is cancelled mid-teardown.
            if self._receiver is not None:
                self._receiver.close()
            if self._port is not None:
                self._port_pool.release(self._port)
            if self._pipeline is not None:
                # It waits for a decode still running in a worker thread, so not on the loop.
                await asyncio.shield(
                    asyncio.get_running_loop().run_in_executor(self._executor, self._pipeline.release)
                )
        if self.state in (CallState.ROUTED, CallState.HUNG_UP):
            self._transition(CallState.FINISHED)
        try:
            self._log_summary()
        finally:
            if self._on_closed is not None:
                self._on_closed(self)

    def _outcome(self) -> str:
        """Return how the call ended: routed, hung up, or left in the app (service failure)."""
        if self.decision is not None and self.trace.marks.get("continued") is not None:
            return "routed"
        if self._hung_up.is_set():
            return "hung_up"
        return "not_routed"

    def _log_summary(self) -> None:
        decision = self.decision
        stats = self._receiver.stats if self._receiver else None
        # The pipeline's trace comes first, so the session's view of the decision wins.
        fields: dict[str, Any] = self._pipeline.trace.log_fields() if self._pipeline is not None else {}
        fields.pop("call_id", None)
        fields.update(
            outcome=self._outcome(),
            queue=decision.queue if decision else None,
            urgency=decision.urgency if decision else None,
            priority=decision.priority if decision else None,
            confidence=round(decision.confidence, 3) if decision else None,
            reason=decision.reason if decision else self.end_reason,
            trigger=decision.trigger if decision else None,
            escalated_to=self.escalation.queue if self.escalation and "escalated" in self.trace.marks else None,
            timings=self.trace.marks,
            rtp_packets=stats.packets if stats else 0,
            rtp_malformed=stats.malformed if stats else 0,
        )
        self._log.info("call.summary", **fields)
