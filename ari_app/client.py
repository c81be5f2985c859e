"""A thin typed asyncio client for the Asterisk REST Interface (ARI).

``AriClient`` combines the REST endpoints of ``ari_app.rest`` (httpx) with the
event websocket of ``ari_app.listener`` (websockets).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from types import TracebackType
from typing import Self
from urllib.parse import urlsplit, urlunsplit

import httpx

from ari_app.listener import (
    Backoff,
    Disconnected,
    E,
    EventDispatcher,
    EventListener,
    EventSubscription,
    Handler,
)
from ari_app.rest import DEFAULT_BASE_URL, DEFAULT_REQUEST_TIMEOUT_S, AriRest, encode_query

#: Keepalive pings on the event socket: a ping every 5 s, with 5 s for the pong.
DEFAULT_PING_INTERVAL_S = 5.0
DEFAULT_PING_TIMEOUT_S = 5.0
#: Seconds to wait for the closing handshake of a socket whose peer stopped replying.
#: The websockets library waits 10 s by default, and a hung Asterisk never completes
#: the handshake. With 2 s, ``connected`` clears about 12 s after Asterisk's last reply.
DEFAULT_CLOSE_TIMEOUT_S = 2.0


class AriClient(AriRest):
    """REST calls and the event websocket for one Stasis application.

    Use as ``async with AriClient(user=..., password=..., app="careroute") as ari``.
    Run ``connect_with_backoff()`` (or ``listen()``) in a task to receive events,
    register handlers with ``on()`` or iterate ``events()``, and watch
    ``connected`` for readiness.
    """

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        user: str = "",
        password: str = "",
        app: str = "careroute",
        *,
        request_timeout: float = DEFAULT_REQUEST_TIMEOUT_S,
        ping_interval: float = DEFAULT_PING_INTERVAL_S,
        ping_timeout: float = DEFAULT_PING_TIMEOUT_S,
        close_timeout: float = DEFAULT_CLOSE_TIMEOUT_S,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(
            base_url, user, password, app, request_timeout=request_timeout, transport=transport
        )
        parts = urlsplit(self.base_url)
        ws_scheme = "wss" if parts.scheme == "https" else "ws"
        events_path = parts.path.rstrip("/") + "/events"
        query = encode_query({"app": app, "subscribeAll": False})
        events_url = urlunsplit((ws_scheme, parts.netloc, events_path, query, ""))
        self._dispatcher = EventDispatcher()
        self._listener = EventListener(
            events_url,
            self.auth_headers,
            self._dispatcher,
            open_timeout=request_timeout,
            ping_interval=ping_interval,
            ping_timeout=ping_timeout,
            close_timeout=close_timeout,
        )

    # --- lifecycle -------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop the event listener, cancel running async handlers and close the HTTP pool."""
        await self._listener.stop()
        await self._dispatcher.cancel_tasks()
        await super().aclose()

    # --- events ----------------------------------------------------------------------

    @property
    def events_url(self) -> str:
        """The websocket URL, without credentials."""
        return self._listener.url

    @property
    def connected(self) -> asyncio.Event:
        """Set while the event socket is open, cleared before ``Disconnected`` is dispatched."""
        return self._listener.connected

    def on(self, event_class: type[E], handler: Handler[E]) -> Callable[[], None]:
        """Register a handler for one event class; any number per class. Return a remover.

        ``GenericEvent`` handlers receive every event type without a class of its own.
        ``Connected`` and ``Disconnected`` report the socket's lifecycle.
        """
        return self._dispatcher.add(event_class, handler)

    def events(self) -> EventSubscription:
        """Subscribe to every event from now on: ``async with client.events() as stream``."""
        return EventSubscription(self._dispatcher)

    async def listen(self) -> Disconnected:
        """Run one websocket session; return the ``Disconnected`` event describing its end."""
        return await self._listener.listen()

    async def connect_with_backoff(self, backoff: Backoff | None = None) -> None:
        """Keep the event socket open until ``stop_events()`` or cancellation."""
        await self._listener.connect_with_backoff(backoff or Backoff())

    async def reconnect_events(self) -> None:
        """Close the event socket; ``connect_with_backoff`` then registers the app again."""
        await self._listener.drop()

    async def stop_events(self) -> None:
        """Close the event socket cleanly and end ``listen`` or ``connect_with_backoff``."""
        await self._listener.stop()
