"""Watch where calls went, from Asterisk itself: the CareRouteQueue user events.

Every queue extension in ``[careroute-queues]`` sends
``UserEvent(CareRouteQueue, Queue, Prio, Urgency, Reason, CallId)``. AMI
delivers it with the channel's ``Uniqueid``, which is the ARI channel id of
the caller, so tests and the live evaluation can match an arrival to the call
they placed without trusting the app's own log.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from agi.ami import AmiClient, UserEvent

QUEUE_EVENT = "CareRouteQueue"


@dataclass(frozen=True)
class QueueArrival:
    """A caller entering a queue extension, as Asterisk reported it."""

    channel_id: str
    queue: str
    priority: int
    urgency: str
    reason: str
    arrived_at: float
    """``time.monotonic()`` when the event reached us."""


class QueueWatch:
    """Collects CareRouteQueue events by caller channel id."""

    def __init__(self, ami: AmiClient) -> None:
        self._ami = ami
        self._arrivals: dict[str, QueueArrival] = {}
        self._history: dict[str, list[QueueArrival]] = {}
        self._changed: dict[str, asyncio.Event] = {}
        self._waiters: dict[str, asyncio.Future[QueueArrival]] = {}
        self._remove = ami.on_user_event(self._on_event, QUEUE_EVENT)

    def _on_event(self, event: UserEvent) -> None:
        headers = event.headers
        channel_id = headers.get("Uniqueid", "")
        try:
            priority = int(headers.get("Prio", "0") or 0)
        except ValueError:
            priority = -1
        arrival = QueueArrival(
            channel_id=channel_id,
            queue=headers.get("Queue", ""),
            priority=priority,
            urgency=headers.get("Urgency", ""),
            reason=headers.get("Reason", ""),
            arrived_at=time.monotonic(),
        )
        self._arrivals.setdefault(channel_id, arrival)
        self._history.setdefault(channel_id, []).append(arrival)
        changed = self._changed.pop(channel_id, None)
        if changed is not None:
            changed.set()
        waiter = self._waiters.pop(channel_id, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(arrival)

    async def wait_for(self, channel_id: str, timeout_s: float) -> QueueArrival | None:
        """Return the first arrival of ``channel_id``, or None after ``timeout_s``."""
        if channel_id in self._arrivals:
            return self._arrivals[channel_id]
        waiter = self._waiters.setdefault(channel_id, asyncio.get_running_loop().create_future())
        try:
            async with asyncio.timeout(timeout_s):
                return await asyncio.shield(waiter)
        except TimeoutError:
            return None

    def arrivals(self, channel_id: str) -> list[QueueArrival]:
        """Return every arrival of ``channel_id`` so far, first to last.

        A caller escalated after routing enters a second queue: the last
        arrival is where the caller ends up.
        """
        return list(self._history.get(channel_id, []))

    async def wait_for_count(self, channel_id: str, count: int, timeout_s: float) -> list[QueueArrival]:
        """Wait until ``channel_id`` has ``count`` arrivals or ``timeout_s`` passed; return them."""
        try:
            async with asyncio.timeout(timeout_s):
                while len(self._history.get(channel_id, [])) < count:
                    await self._changed.setdefault(channel_id, asyncio.Event()).wait()
        except TimeoutError:
            pass
        return self.arrivals(channel_id)

    def close(self) -> None:
        self._remove()
