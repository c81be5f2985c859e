"""A minimal HTTP health endpoint for load balancers and process supervisors.

``GET /health`` (or ``/ready``) returns 200 with JSON counters while the ARI
event socket is open, and 503 otherwise. Readiness turns false as soon as
the websocket reader ends; a silently dead connection is detected by the
websocket keepalive (ping interval plus ping timeout, 5 s + 5 s by default)
and a 2 s wait for the closing handshake, so the endpoint reports it within
about 12 s of Asterisk's last reply.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

import structlog

from careroute.errors import ConfigError

log = structlog.get_logger("careroute.health")

#: A request line and headers larger than this are not a health probe.
MAX_REQUEST_BYTES = 4096
READ_TIMEOUT_S = 2.0


class HealthServer:
    """Serves the readiness of a service on ``host:port``."""

    def __init__(self, host: str, port: int, ready: Callable[[], bool], details: Callable[[], Any]) -> None:
        self.host = host
        self.port = port
        self._ready = ready
        self._details = details
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        try:
            self._server = await asyncio.start_server(
                self._handle, self.host, self.port, limit=MAX_REQUEST_BYTES
            )
        except OSError as exc:
            raise ConfigError(
                f"health.port {self.port} on {self.host} cannot be opened ({exc.strerror}); "
                "stop the process that holds it or set another health.port"
            ) from exc
        sockets = self._server.sockets
        if sockets:
            self.port = sockets[0].getsockname()[1]
        log.info("health.started", host=self.host, port=self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(READ_TIMEOUT_S):
                request = await reader.readuntil(b"\r\n\r\n")
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            writer.close()
            return
        parts = request.split(b" ", 2)
        path = parts[1].decode("latin-1") if len(parts) > 1 else ""
        if path not in ("/health", "/ready"):
            body: dict[str, Any]
            status, body = "404 Not Found", {"error": f"unknown path {path!r}; use /health"}
        else:
            ready = self._ready()
            details = self._details()
            status = "200 OK" if ready else "503 Service Unavailable"
            body = {"ready": ready, **(asdict(details) if details is not None else {})}
        payload = json.dumps(body).encode()
        writer.write(
            f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n".encode() + payload
        )
        try:
            await writer.drain()
        finally:
            writer.close()
