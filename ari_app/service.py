"""The CareRoute ARI service: one websocket to Asterisk, one session per caller.

``TriageService`` keeps the event socket open (reconnecting with capped
exponential backoff), starts a ``CallSession`` for every caller that enters
``Stasis(<app>)``, and routes each later event to the session that owns the
channel. On every (re)connect it recovers what a previous run left behind,
because Asterisk does not replay StasisStart: stranded callers are continued
to the fallback queue, and orphaned snoop/externalMedia legs and bridges are
removed. A periodic sweep removes anything a session failed to remove.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

import structlog

from ari_app.client import AriClient
from ari_app.errors import AriError, AriNotFound, is_gone
from ari_app.events import (
    ChannelDestroyed,
    ChannelDtmfReceived,
    ChannelHangupRequest,
    PlaybackFinished,
    StasisEnd,
    StasisStart,
)
from ari_app.listener import Backoff, Connected, Disconnected
from ari_app.media import RtpPortPool
from ari_app.models import Channel, parse_ari_time
from ari_app.session import (
    OWNED_ID_PREFIX,
    CallSession,
    Escalator,
    PipelineFactory,
    SessionSettings,
    sanitize_dialplan_value,
)

log = structlog.get_logger("careroute.service")

#: Seconds between sweeps for leftover channels and bridges. A session removes
#: its own legs within a second of the caller leaving. The sweep only catches
#: what a failed teardown left, so a slow cadence is enough.
SWEEP_INTERVAL_S = 15.0
#: Seconds between checks that Asterisk still lists the app. When another
#: connection under the same app name closes, Asterisk drops the app although this
#: socket stays open, and every new caller then takes the dialplan's fallback.
APP_CHECK_INTERVAL_S = 3.0
#: CAREROUTE_REASON of callers handed to the fallback queue because the service stops.
SHUTDOWN_REASON = "service stopping"
#: Seconds a stopping service waits for its callers to be continued. Routing is a
#: handful of REST requests (about 10 ms each on loopback), so 5 s leaves room for a
#: slow Asterisk. Callers not continued by then reach a human through the dialplan watchdog.
DRAIN_TIMEOUT_S = 5.0
#: Seconds a finished call's id is remembered, so a leg whose creating request was
#: still in flight when the call ended is not taken for another service's leg.
OWN_CALL_MEMORY_S = 120.0


def _call_id_of(owned_id: str) -> str:
    """Return the call id inside an owned id such as ``careroute-snoop-<call id>``."""
    return owned_id.removeprefix(OWNED_ID_PREFIX).partition("-")[2]


@dataclass
class ServiceStats:
    """Counters exposed on the health endpoint."""

    calls_started: int = 0
    calls_routed: int = 0
    calls_hung_up: int = 0
    calls_escalated: int = 0
    recovered_callers: int = 0
    swept_legs: int = 0
    disconnects: int = 0


class TriageService:
    """Runs the CareRoute Stasis application until stopped."""

    def __init__(
        self,
        client: AriClient,
        settings: SessionSettings,
        pipeline_factory: PipelineFactory,
        port_pool: RtpPortPool,
        backoff: Backoff,
        *,
        workers: int | None = None,
        escalator: Escalator | None = None,
    ) -> None:
        self.client = client
        self.escalator = escalator
        self.settings = settings
        self.pipeline_factory = pipeline_factory
        self.port_pool = port_pool
        self.backoff = backoff
        # Vosk releases the GIL while decoding, so one worker per core keeps
        # every core busy; decoding never runs on the event loop.
        self.executor = ThreadPoolExecutor(
            max_workers=workers or max(2, os.cpu_count() or 2), thread_name_prefix="careroute-decode"
        )
        self.sessions: dict[str, CallSession] = {}
        self._owner: dict[str, CallSession] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.stats = ServiceStats()
        # True once drain() started: new callers go straight to the fallback queue.
        self.draining = False
        # When the event socket last opened, and the calls this process took since.
        self._connected_at: datetime | None = None
        self._own_calls: dict[str, float] = {}
        # Legs another live process created under our prefix: another service with this app name.
        self.foreign_legs: set[str] = set()
        self._log = log.bind(app=settings.app)

    @property
    def ready(self) -> bool:
        """True while the event socket is open, new calls can be taken, and no other
        service shares the app name."""
        return self.client.connected.is_set() and not self.draining and not self.foreign_legs

    def _spawn(self, coro: object, name: str) -> None:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coro, name=name)  # type: ignore[arg-type]
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self._log.error("service.task.failed", task=task.get_name(), error=repr(task.exception()))

    # -- events ---------------------------------------------------------------

    def _register_handlers(self) -> None:
        self.client.on(Connected, self._on_connected)
        self.client.on(Disconnected, self._on_disconnected)
        self.client.on(StasisStart, self._on_stasis_start)
        self.client.on(StasisEnd, self._on_stasis_end)
        self.client.on(ChannelDestroyed, self._on_channel_gone)
        self.client.on(ChannelHangupRequest, self._on_hangup_request)
        self.client.on(ChannelDtmfReceived, self._on_dtmf)
        self.client.on(PlaybackFinished, self._on_playback_finished)

    def _on_connected(self, event: Connected) -> None:
        self._connected_at = datetime.now(UTC)
        self._log.info("ari.connect.complete")
        self._spawn(self.recover(), "recover")

    def _on_disconnected(self, event: Disconnected) -> None:
        self.stats.disconnects += 1
        self._log.warning("ari.disconnected", reason=getattr(event, "reason", ""), live_calls=len(self.sessions))

    def _on_stasis_start(self, event: StasisStart) -> None:
        channel = event.channel
        if channel.id.startswith(OWNED_ID_PREFIX):
            owner = self._owner.get(channel.id)
            if owner is not None:
                owner.channel_entered_app(channel.id)
            else:
                # Its call ended while the request that created the leg was in flight.
                self._spawn(self._remove_leg(channel.id), f"remove-{channel.id}")
            return
        if channel.id in self.sessions:
            return
        if self.draining:
            self._spawn(self._rescue_caller(channel.id, SHUTDOWN_REASON), f"handover-{channel.id}")
            return
        session = CallSession(
            self.client,
            channel.id,
            self.settings,
            self.pipeline_factory,
            self.port_pool,
            self.executor,
            caller_state=channel.state,
            caller_name=channel.name,
            escalator=self.escalator,
            on_closed=self._on_session_closed,
        )
        self.sessions[channel.id] = session
        self._own_calls[session.call_id] = time.monotonic()
        for owned in session.owned_ids:
            self._owner[owned] = session
        self.stats.calls_started += 1
        self._spawn(session.run(), f"call-{session.call_id}")

    def _on_session_closed(self, session: CallSession) -> None:
        self.sessions.pop(session.caller_id, None)
        for owned in session.owned_ids:
            self._owner.pop(owned, None)
        if "escalated" in session.trace.marks:
            self.stats.calls_escalated += 1
        if session.decision is not None and "continued" in session.trace.marks:
            self.stats.calls_routed += 1
        else:
            self.stats.calls_hung_up += 1

    def _on_stasis_end(self, event: StasisEnd) -> None:
        session = self.sessions.get(event.channel.id)
        if session is not None:
            session.left_stasis()

    def _on_channel_gone(self, event: ChannelDestroyed) -> None:
        channel_id = event.channel.id
        session = self.sessions.get(channel_id)
        if session is not None:
            session.caller_left("hung up")
            return
        owner = self._owner.get(channel_id)
        if owner is not None:
            owner.owned_channel_gone(channel_id)

    def _on_hangup_request(self, event: ChannelHangupRequest) -> None:
        session = self.sessions.get(event.channel.id)
        if session is not None:
            session.caller_left("hangup requested")

    def _on_dtmf(self, event: ChannelDtmfReceived) -> None:
        session = self.sessions.get(event.channel.id)
        if session is not None:
            session.dtmf(event.digit)

    def _on_playback_finished(self, event: PlaybackFinished) -> None:
        owner = self._owner.get(event.playback.id)
        if owner is not None:
            owner.playback_finished(event.playback.id)

    # -- recovery and sweep ---------------------------------------------------

    async def recover(self) -> None:
        """Continue stranded callers and remove orphaned legs and bridges after a (re)connect."""
        try:
            application = await self.client.get_application()
            channels = await self.client.list_channels()
            bridges = await self.client.list_bridges()
        except AriNotFound as exc:
            await self._register_again(exc)
            return
        except AriError as exc:
            self._log.error("service.recover.failed", error=str(exc))
            return
        in_app = set(application.channel_ids)
        self._note_foreign_legs(channels, in_app)
        unowned = [
            channel.id
            for channel in channels
            if channel.id not in self.sessions
            and channel.id not in self._owner
            and channel.id not in self.foreign_legs
        ]
        # Callers first: a snoop whose app went away may not leave on a hangup
        # request, but it ends when the caller it spies on leaves Stasis
        # (measured on Asterisk 22.10.1).
        for channel_id in unowned:
            if not channel_id.startswith(OWNED_ID_PREFIX) and channel_id in in_app:
                await self._rescue_caller(channel_id)
        for channel_id in unowned:
            if channel_id.startswith(OWNED_ID_PREFIX):
                await self._remove_leg(channel_id)
        foreign_calls = {_call_id_of(leg) for leg in self.foreign_legs}
        for bridge in bridges:
            if _call_id_of(bridge.id) in foreign_calls:
                continue
            if bridge.id.startswith(OWNED_ID_PREFIX) and not self._bridge_in_use(bridge.id):
                with contextlib.suppress(AriError):
                    await self.client.destroy_bridge(bridge.id, missing_ok=True)
                    self.stats.swept_legs += 1

    def _note_foreign_legs(self, channels: list[Channel], in_app: set[str]) -> None:
        """Find legs with our prefix, and callers in our app, that another live process
        took since we connected.

        A leg from an earlier run of this service predates the connection and
        is removed as an orphan. A newer one that no call of this process
        explains belongs to a second service registered under the same app
        name. Removing it would cut that service's calls off. So it is left
        alone and logged, and readiness is false until it is gone.
        """
        found: set[str] = set()
        for channel in channels:
            ours = channel.id in self._owner or channel.id in self.sessions
            if ours or not (channel.id.startswith(OWNED_ID_PREFIX) or channel.id in in_app):
                continue
            created = parse_ari_time(channel.creationtime)
            if self._connected_at is None or created is None or created < self._connected_at:
                continue
            if _call_id_of(channel.id) in self._own_calls or channel.id.replace(".", "-") in self._own_calls:
                continue  # Created for a call of ours that ended while the request was in flight.
            found.add(channel.id)
        # A leg request outlives its call by a request timeout at most; older calls are forgotten.
        horizon = time.monotonic() - OWN_CALL_MEMORY_S
        self._own_calls = {call: at for call, at in self._own_calls.items() if at >= horizon}
        if found and not self.foreign_legs:
            self._log.error(
                "service.app.shared",
                app=self.settings.app,
                legs=len(found),
                message=f"another service is registered as ARI app {self.settings.app!r}; stop it "
                "or give each service its own app name (ari.app) and Stasis() line",
            )
        self.foreign_legs = found

    def _bridge_in_use(self, bridge_id: str) -> bool:
        return any(session.bridge_id == bridge_id for session in self.sessions.values())

    async def _remove_leg(self, channel_id: str) -> None:
        try:
            if await self.client.hangup(channel_id, missing_ok=True):
                self.stats.swept_legs += 1
        except AriError as exc:
            self._log.warning("service.sweep.hangup_failed", channel=channel_id, error=str(exc))

    async def _rescue_caller(self, channel_id: str, reason: str = "recovered after reconnect") -> None:
        """Send a caller stranded by an earlier run, or arriving while stopping, to the fallback queue."""
        queue = self.settings.fallback_queue
        try:
            for name, value in (
                ("TIMEOUT(absolute)", "0"),
                ("CAREROUTE_QUEUE", queue),
                ("CAREROUTE_URGENCY", "routine"),
                ("CAREROUTE_REASON", sanitize_dialplan_value(reason)),
            ):
                await self.client.set_channel_var(channel_id, name, value)
            await self.client.continue_in_dialplan(
                channel_id, context=self.settings.dialplan_context, extension=queue, priority=1
            )
        except AriError as exc:
            if not is_gone(exc):
                self._log.error("service.recover.caller_failed", channel=channel_id, error=str(exc))
            return
        self.stats.recovered_callers += 1
        self._log.warning("service.recover.caller_continued", channel=channel_id, queue=queue)

    async def check_registered(self) -> None:
        """Register the app again when Asterisk no longer lists it."""
        try:
            await self.client.get_application()
        except AriNotFound as exc:
            await self._register_again(exc)
        except AriError as exc:
            self._log.warning("service.app.check_failed", error=str(exc))

    async def _register_again(self, exc: AriNotFound) -> None:
        # The socket is open but Asterisk dropped the app: another connection
        # registered the same name and left. Reconnecting registers it again.
        self._log.error(
            "service.app.not_registered",
            error=str(exc),
            action="reconnecting to register the application again",
        )
        await self.client.reconnect_events()

    async def sweep_forever(self) -> None:
        """Check the app registration every APP_CHECK_INTERVAL_S, and every SWEEP_INTERVAL_S
        remove legs and bridges that no live session owns.

        The sweep also runs while another service shares the app name, so that
        readiness returns once that service is gone.
        """
        last_sweep = time.monotonic()
        while True:
            await asyncio.sleep(APP_CHECK_INTERVAL_S)
            if not self.client.connected.is_set() or self.draining:
                continue
            if time.monotonic() - last_sweep >= SWEEP_INTERVAL_S:
                last_sweep = time.monotonic()
                await self.recover()
            else:
                await self.check_registered()

    # -- shutdown ----------------------------------------------------------------

    async def drain(self, reason: str = SHUTDOWN_REASON, timeout_s: float = DRAIN_TIMEOUT_S) -> bool:
        """Hand every live caller over to the dialplan before the service stops.

        Callers still being listened to go to the fallback queue; routed
        callers keep their queue. Returns False when some session had not
        finished after ``timeout_s`` (the dialplan watchdog still covers those).
        """
        self.draining = True
        sessions = list(self.sessions.values())
        if not sessions:
            return True
        self._log.warning("service.draining", live_calls=len(sessions), reason=reason)
        for session in sessions:
            session.hand_over(reason)
        calls = [task for task in self._tasks if task.get_name().startswith("call-")]
        if not calls:
            return True
        _, pending = await asyncio.wait(calls, timeout=timeout_s)
        if pending:
            self._log.error("service.drain.incomplete", calls_left=len(pending), timeout_s=timeout_s)
        return not pending

    # -- run ---------------------------------------------------------------------

    async def run(self) -> None:
        """Connect, serve calls and reconnect until cancelled."""
        self._register_handlers()
        sweeper = asyncio.get_running_loop().create_task(self.sweep_forever(), name="sweep")
        try:
            await self.client.connect_with_backoff(self.backoff)
        finally:
            sweeper.cancel()
            for task in list(self._tasks):
                task.cancel()
            if self._tasks:
                await asyncio.gather(*self._tasks, return_exceptions=True)
            self.executor.shutdown(wait=False, cancel_futures=True)
