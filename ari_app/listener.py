"""The ARI event websocket: one reader, handler dispatch and reconnection with backoff.

Every exit of the reader (clean close by either side, a network error, a failed
handshake, a keepalive timeout, cancellation) is reported as a ``Disconnected``
event to handlers and subscriptions. ``connected`` is cleared first, so the
service above can mark itself not ready, and recover its calls on the next
``Connected``. Asterisk does not replay ``StasisStart`` after a reconnect.

The socket is opened with ``subscribeAll=false`` and this module never subscribes
to ``deviceState:`` sources: closing an ARI websocket while device-state events
are delivered to it can deadlock ARI (reproduced on Asterisk 22.10.1, upstream
issue asterisk/asterisk#2170).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import structlog
import websockets
from websockets.asyncio.client import ClientConnection, connect

from ari_app.errors import AriStateError
from ari_app.events import Event, parse_event

_log = structlog.get_logger("ari_app.listener")


@dataclass(frozen=True, slots=True)
class Connected:
    """The event websocket is open and the application is registered with Asterisk."""

    url: str


@dataclass(frozen=True, slots=True)
class Disconnected:
    """The event websocket closed, failed to open, or its reader was cancelled."""

    #: One of ``closed`` (a close handshake), ``lost`` (network error or keepalive
    #: timeout), ``connect_failed``, ``cancelled`` or ``stopped`` (``stop()`` was called).
    reason: str
    #: True when the socket had been open, False for a failed connection attempt.
    was_connected: bool
    #: Seconds the socket stayed open (0.0 when it never opened).
    uptime_s: float = 0.0
    close_code: int | None = None
    error: str = ""


ClientEvent = Event | Connected | Disconnected
E = TypeVar("E", bound=ClientEvent)
Handler = Callable[[E], Awaitable[None] | None]


class EventSubscription:
    """An async iterator over every event, registered from the moment it is created.

    Use it as ``async with client.events() as events: async for event in events``
    so it unsubscribes on exit. It buffers without limit, so a consumer that stops
    reading must leave the block.
    """

    def __init__(self, owner: EventDispatcher) -> None:
        self._owner = owner
        self._queue: asyncio.Queue[ClientEvent] = asyncio.Queue()
        owner.subscriptions.add(self)

    def put(self, event: ClientEvent) -> None:
        self._queue.put_nowait(event)

    def close(self) -> None:
        self._owner.subscriptions.discard(self)

    def __aiter__(self) -> EventSubscription:
        return self

    async def __anext__(self) -> ClientEvent:
        return await self._queue.get()

    async def __aenter__(self) -> EventSubscription:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.close()


@dataclass
class EventDispatcher:
    """Handlers per event class (any number each) and open subscriptions."""

    handlers: dict[type[Any], list[Callable[[Any], Awaitable[None] | None]]] = field(
        default_factory=dict
    )
    subscriptions: set[EventSubscription] = field(default_factory=set)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def add(self, event_class: type[E], handler: Handler[E]) -> Callable[[], None]:
        """Register ``handler`` for events of exactly ``event_class``; return its remover."""
        self.handlers.setdefault(event_class, []).append(handler)

        def remove() -> None:
            with contextlib.suppress(ValueError):
                self.handlers.get(event_class, []).remove(handler)

        return remove

    def dispatch(self, event: ClientEvent) -> None:
        """Call the handlers of ``event``'s class in registration order, then feed subscriptions.

        A plain function runs inline, in event order. A coroutine function runs as a task,
        so a slow handler never delays the reader; its errors are logged, not raised.
        """
        for handler in list(self.handlers.get(type(event), ())):
            try:
                result = handler(event)
            except Exception as exc:
                _log.error("ari.handler.failed", event_class=type(event).__name__, error=repr(exc))
                continue
            if inspect.isawaitable(result):
                task = asyncio.ensure_future(result)
                self.tasks.add(task)
                task.add_done_callback(self._handler_done)
        for subscription in list(self.subscriptions):
            subscription.put(event)

    def _handler_done(self, task: asyncio.Task[None]) -> None:
        self.tasks.discard(task)
        if task.cancelled():
            return
        error = task.exception()
        if error is not None:
            _log.error("ari.handler.failed", error=repr(error))

    async def cancel_tasks(self) -> None:
        """Cancel the handler tasks still running and wait for them to finish."""
        pending = list(self.tasks)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)


@dataclass(frozen=True, slots=True)
class Backoff:
    """Capped exponential backoff with jitter between reconnection attempts.

    The n-th consecutive failure waits ``min(maximum, initial * multiplier**n)``
    scaled by a random factor in ``[1 - jitter, 1]``, so many clients restarted
    together do not reconnect in lockstep. A session that stayed open for
    ``stable_after_s`` resets the count.
    """

    initial_s: float = 0.5
    maximum_s: float = 30.0
    multiplier: float = 2.0
    jitter: float = 0.5
    stable_after_s: float = 30.0

    def __post_init__(self) -> None:
        if not 0 < self.initial_s <= self.maximum_s:
            raise ValueError(
                f"backoff initial_s={self.initial_s!r} must be > 0 and <= maximum_s={self.maximum_s!r}"
            )
        if self.multiplier < 1:
            raise ValueError(f"backoff multiplier={self.multiplier!r} must be >= 1")
        if not 0 <= self.jitter <= 1:
            raise ValueError(f"backoff jitter={self.jitter!r} must be between 0 and 1")

    def delay(self, failures: int, rand: Callable[[], float] = random.random) -> float:
        """Return the wait in seconds before the attempt after ``failures`` consecutive failures."""
        exponent = min(failures, 64)
        base = min(self.maximum_s, self.initial_s * self.multiplier**exponent)
        return base * (1 - self.jitter * rand())


class EventListener:
    """Owns the event websocket; at most one reader runs at a time."""

    def __init__(
        self,
        url: str,
        headers: dict[str, str],
        dispatcher: EventDispatcher,
        *,
        open_timeout: float,
        ping_interval: float,
        ping_timeout: float,
        close_timeout: float = 10.0,
    ) -> None:
        self.url = url
        self._headers = headers
        self._dispatcher = dispatcher
        self._open_timeout = open_timeout
        self._ping_interval = ping_interval
        self._ping_timeout = ping_timeout
        self._close_timeout = close_timeout
        self._socket: ClientConnection | None = None
        self._running = False
        self._stop_requested = asyncio.Event()
        #: Set while the socket is open; cleared before ``Disconnected`` is dispatched.
        self.connected = asyncio.Event()

    async def listen(self) -> Disconnected:
        """Open the socket, dispatch events until it closes, and report the exit.

        Returns the ``Disconnected`` event that was dispatched. Cancellation is
        reported the same way and then propagates.

        Raises:
            AriStateError: another ``listen`` is already running on this client.
        """
        self._stop_requested.clear()
        return await self._listen_once()

    async def _listen_once(self) -> Disconnected:
        if self._running:
            raise AriStateError(
                f"an event listener for {self.url!r} is already running; "
                "run one listen() or connect_with_backoff() per client"
            )
        self._running = True
        opened_at: float | None = None
        outcome = Disconnected(reason="lost", was_connected=False)
        try:
            try:
                async with connect(
                    self.url,
                    additional_headers=self._headers,
                    open_timeout=self._open_timeout,
                    ping_interval=self._ping_interval,
                    ping_timeout=self._ping_timeout,
                    close_timeout=self._close_timeout,
                ) as socket:
                    self._socket = socket
                    opened_at = time.monotonic()
                    self.connected.set()
                    _log.info("ari.events.connected", url=self.url)
                    self._dispatcher.dispatch(Connected(url=self.url))
                    if self._stop_requested.is_set():
                        await socket.close()
                    await self._read(socket)
                    outcome = self._closed_outcome(socket, opened_at)
            except websockets.ConnectionClosed as exc:
                outcome = self._lost_outcome(exc, opened_at, exc.rcvd.code if exc.rcvd else None)
            except websockets.InvalidStatus as exc:
                outcome = self._lost_outcome(exc, opened_at, None)
                _log_rejected_handshake(self.url, exc.response.status_code)
            except (OSError, TimeoutError, websockets.InvalidHandshake) as exc:
                outcome = self._lost_outcome(exc, opened_at, None)
            except asyncio.CancelledError:
                outcome = Disconnected(
                    reason="cancelled",
                    was_connected=opened_at is not None,
                    uptime_s=_uptime(opened_at),
                )
                raise
        finally:
            self._socket = None
            self.connected.clear()
            self._running = False
            self._log_exit(outcome)
            self._dispatcher.dispatch(outcome)
        return outcome

    async def stop(self) -> None:
        """Close the open socket with a close handshake; ``listen`` then returns ``stopped``."""
        self._stop_requested.set()
        socket = self._socket
        if socket is not None:
            await socket.close()

    async def drop(self) -> None:
        """Close the open socket so ``connect_with_backoff`` connects again.

        Used when Asterisk no longer has the application registered although the socket
        is open, for example after another connection with the same app name
        replaced it and then went away.
        """
        socket = self._socket
        if socket is not None:
            await socket.close()

    async def connect_with_backoff(
        self,
        backoff: Backoff,
        *,
        rand: Callable[[], float] = random.random,
    ) -> None:
        """Listen, and reconnect after every exit with capped exponential backoff.

        Runs until ``stop()`` is called or the task is cancelled.
        """
        self._stop_requested.clear()
        failures = 0
        while True:
            outcome = await self._listen_once()
            if outcome.reason == "stopped":
                return
            if outcome.uptime_s >= backoff.stable_after_s:
                failures = 0
            wait_s = backoff.delay(failures, rand)
            failures += 1
            _log.info(
                "ari.events.reconnect.scheduled",
                url=self.url,
                wait_s=round(wait_s, 3),
                failures=failures,
            )
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait_s):
                    await self._stop_requested.wait()
            if self._stop_requested.is_set():
                return

    async def _read(self, socket: ClientConnection) -> None:
        async for message in socket:
            if isinstance(message, bytes):
                message = message.decode("utf-8", "replace")
            try:
                data = json.loads(message)
            except json.JSONDecodeError as exc:
                _log.warning("ari.event.invalid_json", error=str(exc), length=len(message))
                continue
            if not isinstance(data, dict):
                _log.warning("ari.event.not_an_object", json_type=type(data).__name__)
                continue
            self._dispatcher.dispatch(parse_event(data))

    def _closed_outcome(self, socket: ClientConnection, opened_at: float) -> Disconnected:
        return Disconnected(
            reason="stopped" if self._stop_requested.is_set() else "closed",
            was_connected=True,
            uptime_s=_uptime(opened_at),
            close_code=socket.close_code,
            error=socket.close_reason or "",
        )

    def _lost_outcome(
        self, exc: BaseException, opened_at: float | None, close_code: int | None
    ) -> Disconnected:
        if self._stop_requested.is_set():
            reason = "stopped"
        elif opened_at is None:
            reason = "connect_failed"
        else:
            reason = "lost"
        return Disconnected(
            reason=reason,
            was_connected=opened_at is not None,
            uptime_s=_uptime(opened_at),
            close_code=close_code,
            error=repr(exc),
        )

    def _log_exit(self, outcome: Disconnected) -> None:
        log = _log.info if outcome.reason in ("stopped", "cancelled") else _log.warning
        log(
            "ari.events.disconnected",
            url=self.url,
            reason=outcome.reason,
            was_connected=outcome.was_connected,
            uptime_s=round(outcome.uptime_s, 3),
            close_code=outcome.close_code,
            error=outcome.error,
        )


#: Hint per HTTP status with which Asterisk rejects the event websocket.
_HANDSHAKE_HINTS = {
    401: "the ARI user or password is wrong: compare ari.user and the password "
    "(ari.password_env or ari.password_file) with ari.conf",
    403: "the ARI user may not connect: check ari.conf and http.conf",
    404: "no ARI at this URL: check ari.url and that res_ari and http.conf are enabled",
}


def _log_rejected_handshake(url: str, status: int) -> None:
    _log.error(
        "ari.events.rejected",
        url=url,
        status=status,
        hint=_HANDSHAKE_HINTS.get(status, "check ari.url and Asterisk's HTTP server"),
    )


def _uptime(opened_at: float | None) -> float:
    return 0.0 if opened_at is None else time.monotonic() - opened_at
