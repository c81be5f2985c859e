"""A small typed wrapper over panoramisk 1.4 for the AMI actions CareRoute uses.

``AmiClient`` logs in, reads queue state (``QueueStatus``, ``QueueSummary``),
moves a channel with ``Redirect`` (the external watchdog for a caller stranded in
Stasis), sends and receives ``UserEvent``. Every action has a timeout and every
failure is an ``AmiError``.

panoramisk's ``Manager`` is constructed inside ``connect()`` only: built outside
a running event loop it calls ``asyncio.get_event_loop()``, which warns on
Python 3.12 and 3.13 and fails on 3.14.

Hierarchy::

    AmiError                base: every AMI failure
    ├── AmiConnectionError  the TCP connection to the manager port failed
    ├── AmiLoginError       Asterisk rejected the username or secret
    ├── AmiActionError      Asterisk returned Response: Error for an action
    └── AmiTimeout          an action got no complete answer in time
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

import structlog
from panoramisk import Manager

_log = structlog.get_logger("agi.ami")

#: AMI responds on loopback within milliseconds, so five seconds only expires when
#: Asterisk is hung or the manager port is not Asterisk's.
DEFAULT_ACTION_TIMEOUT_S = 5.0


class AmiError(Exception):
    """Base class for every error the AMI wrapper raises."""


class AmiConnectionError(AmiError):
    """The TCP connection to Asterisk's manager port failed."""


class AmiLoginError(AmiError):
    """Asterisk rejected the AMI username or secret."""


class AmiActionError(AmiError):
    """Asterisk returned ``Response: Error`` for an action."""

    def __init__(self, action: str, asterisk_message: str) -> None:
        super().__init__(f"AMI action {action!r} failed: {asterisk_message or 'no message'}")
        self.action = action
        self.asterisk_message = asterisk_message


class AmiTimeout(AmiError):
    """An AMI action got no complete answer within the action timeout."""


@dataclass(frozen=True, slots=True)
class QueueEntry:
    """A caller waiting in a queue, from a ``QueueEntry`` event of ``QueueStatus``."""

    queue: str
    position: int
    channel: str
    unique_id: str = ""
    #: Seconds the caller has waited so far, when Asterisk reports it.
    wait_s: int | None = None
    #: The caller's ``QUEUE_PRIO``, reported by Asterisk 16 and later.
    priority: int | None = None


@dataclass(frozen=True, slots=True)
class QueueSummary:
    """One queue's counters from a ``QueueSummary`` event."""

    queue: str
    logged_in: int = 0
    available: int = 0
    callers: int = 0
    hold_time_s: int = 0
    talk_time_s: int = 0
    longest_hold_time_s: int = 0


@dataclass(frozen=True, slots=True)
class AmiEvent:
    """Any AMI event, e.g. ``QueueCallerJoin``; ``headers`` contains every header as sent."""

    name: str
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class UserEvent:
    """An AMI ``UserEvent``; ``headers`` contains every header of the message as sent."""

    name: str
    channel: str = ""
    headers: dict[str, str] = field(default_factory=dict)


def _optional_int(message: Mapping[str, Any], key: str) -> int | None:
    value = message.get(key)
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _int(message: Mapping[str, Any], key: str) -> int:
    value = _optional_int(message, key)
    return 0 if value is None else value


def _messages(result: Any) -> list[Any]:
    return list(result) if isinstance(result, list) else [result]


def _event_name(message: Any) -> str:
    return str(message.get("Event", ""))


class _Manager(Manager):  # type: ignore[misc]  # panoramisk ships no type information
    """panoramisk's Manager, minus the reconnect loop it starts after a failed connect."""

    shut_down = False

    def connect(self, *args: Any, **kwargs: Any) -> Any:
        # panoramisk schedules connect() again every reconnect_timeout seconds after
        # a failed or lost connection; once the wrapper is closed that must stop.
        if self.shut_down:
            return None
        return super().connect(*args, **kwargs)


class AmiClient:
    """One AMI login; use as ``async with AmiClient(...) as ami`` inside a running loop."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 5038,
        username: str = "",
        secret: str = "",
        *,
        action_timeout: float = DEFAULT_ACTION_TIMEOUT_S,
    ) -> None:
        if not username:
            raise ValueError(
                "AMI username must be non-empty; use the section name from manager.conf"
            )
        if action_timeout <= 0:
            raise ValueError(f"action_timeout={action_timeout!r} must be > 0 seconds")
        self.host = host
        self.port = port
        self._username = username
        self._secret = secret
        self.action_timeout = action_timeout
        self._manager: _Manager | None = None
        self._logged_in = False
        self._user_event_handlers: list[tuple[str | None, Callable[[UserEvent], None]]] = []
        self._event_handlers: dict[str, list[Callable[[AmiEvent], None]]] = {}

    async def __aenter__(self) -> Self:
        await self.connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    async def connect(self) -> None:
        """Open the connection and log in.

        Raises:
            AmiConnectionError: nothing answers on host:port.
            AmiLoginError: the credentials were rejected.
            AmiTimeout: the login got no answer within the action timeout.
        """
        manager = _Manager(
            host=self.host,
            port=self.port,
            username=self._username,
            secret=self._secret,
            loop=asyncio.get_running_loop(),
        )
        manager.register_event("UserEvent", self._on_user_event)
        manager.register_event("*", self._on_event)
        self._manager = manager
        try:
            async with asyncio.timeout(self.action_timeout):
                await manager.connect()
                login = manager.authenticated_future
                response = await login if login is not None else None
        except OSError as exc:
            self.close()
            raise AmiConnectionError(
                f"AMI connection to {self.host}:{self.port} failed: {exc}; check that "
                "manager.conf has enabled = yes and bindaddr/port match"
            ) from exc
        except TimeoutError as exc:
            self.close()
            raise AmiTimeout(
                f"AMI login at {self.host}:{self.port} timed out after {self.action_timeout} s"
            ) from exc
        if response is None or not response.success:
            self.close()
            message = "" if response is None else str(response.get("Message", ""))
            raise AmiLoginError(
                f"AMI login as {self._username!r} at {self.host}:{self.port} was rejected: "
                f"{message or 'no answer'}; check the secret and permit= in manager.conf"
            )
        self._logged_in = True
        _log.info("ami.connected", host=self.host, port=self.port)

    @property
    def connected(self) -> bool:
        """True after a successful login, until ``close``."""
        return self._logged_in

    def close(self) -> None:
        """Close the connection and stop panoramisk from reconnecting."""
        manager = self._manager
        self._manager = None
        self._logged_in = False
        if manager is not None:
            manager.shut_down = True
            manager.close()

    async def action(self, action: Mapping[str, Any]) -> list[Any]:
        """Send one action and return every message of its answer (panoramisk Messages).

        Raises:
            AmiActionError: the first message is ``Response: Error``.
            AmiTimeout: no complete answer within the action timeout.
        """
        manager = self._manager
        if manager is None:
            raise AmiError("the AMI client is not connected; call connect() first")
        name = str(action.get("Action", ""))
        try:
            async with asyncio.timeout(self.action_timeout):
                result = await manager.send_action(dict(action))
        except TimeoutError as exc:
            raise AmiTimeout(
                f"AMI action {name!r} got no complete response within {self.action_timeout} s"
            ) from exc
        messages = _messages(result)
        first = messages[0]
        if str(first.get("Response", "")).lower() == "error":
            raise AmiActionError(name, str(first.get("Message", "")))
        return messages

    async def ping(self) -> None:
        """Check that the manager session answers."""
        await self.action({"Action": "Ping"})

    async def queue_status(self, queue: str) -> list[QueueEntry]:
        """Return the callers waiting in ``queue``, ordered by position."""
        messages = await self.action({"Action": "QueueStatus", "Queue": queue})
        entries = [
            QueueEntry(
                queue=str(m.get("Queue", "")),
                position=_int(m, "Position"),
                channel=str(m.get("Channel", "")),
                unique_id=str(m.get("Uniqueid", "")),
                wait_s=_optional_int(m, "Wait"),
                priority=_optional_int(m, "Priority"),
            )
            for m in messages
            if _event_name(m) == "QueueEntry"
        ]
        return sorted(entries, key=lambda entry: entry.position)

    async def queue_summary(self, queue: str | None = None) -> list[QueueSummary]:
        """Return the counters of ``queue``, or of every queue when it is None."""
        action: dict[str, str] = {"Action": "QueueSummary"}
        if queue is not None:
            action["Queue"] = queue
        messages = await self.action(action)
        return [
            QueueSummary(
                queue=str(m.get("Queue", "")),
                logged_in=_int(m, "LoggedIn"),
                available=_int(m, "Available"),
                callers=_int(m, "Callers"),
                hold_time_s=_int(m, "HoldTime"),
                talk_time_s=_int(m, "TalkTime"),
                longest_hold_time_s=_int(m, "LongestHoldTime"),
            )
            for m in messages
            if _event_name(m) == "QueueSummary"
        ]

    async def redirect(self, channel: str, context: str, exten: str, priority: int = 1) -> None:
        """Move ``channel`` (its name, e.g. ``Local/s@inbound-00000001;2``) to a dialplan location."""
        await self.action(
            {
                "Action": "Redirect",
                "Channel": channel,
                "Context": context,
                "Exten": exten,
                "Priority": str(priority),
            }
        )

    async def send_user_event(self, name: str, headers: Mapping[str, str] | None = None) -> None:
        """Raise a ``UserEvent`` named ``name`` with extra headers."""
        action: dict[str, str] = {"Action": "UserEvent", "UserEvent": name}
        action.update(headers or {})
        await self.action(action)

    def on_user_event(
        self, handler: Callable[[UserEvent], None], name: str | None = None
    ) -> Callable[[], None]:
        """Call ``handler`` for every ``UserEvent`` (or only those named ``name``); return a remover."""
        entry = (name, handler)
        self._user_event_handlers.append(entry)

        def remove() -> None:
            if entry in self._user_event_handlers:
                self._user_event_handlers.remove(entry)

        return remove

    def on_event(self, name: str, handler: Callable[[AmiEvent], None]) -> Callable[[], None]:
        """Call ``handler`` for every AMI event named ``name``; return a remover."""
        handlers = self._event_handlers.setdefault(name.lower(), [])
        handlers.append(handler)

        def remove() -> None:
            if handler in handlers:
                handlers.remove(handler)

        return remove

    def _on_event(self, _manager: Any, message: Any) -> None:
        name = _event_name(message)
        handlers = self._event_handlers.get(name.lower())
        if not handlers:
            return
        event = AmiEvent(name=name, headers={str(k): str(v) for k, v in message.items()})
        for handler in list(handlers):
            try:
                handler(event)
            except Exception as exc:
                _log.error("ami.event.handler_failed", event_name=name, error=repr(exc))

    def _on_user_event(self, _manager: Any, message: Any) -> None:
        event = UserEvent(
            name=str(message.get("UserEvent", "")),
            channel=str(message.get("Channel", "")),
            headers={str(k): str(v) for k, v in message.items()},
        )
        for name, handler in list(self._user_event_handlers):
            if name is not None and name != event.name:
                continue
            try:
                handler(event)
            except Exception as exc:
                _log.error("ami.user_event.handler_failed", event_name=event.name, error=repr(exc))
