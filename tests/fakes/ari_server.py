"""A fake ARI server: HTTP REST routes and the event websocket on one loopback port.

REST replies are scripted per (method, path); every request is recorded. The
websocket side uses the sans-I/O protocol of the ``websockets`` package, so
handshakes, keepalive pongs and close frames are real, and a test can send
events, close cleanly, or drop the TCP connection without a close frame.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from websockets.http11 import Request
from websockets.server import ServerProtocol


@dataclass
class RecordedRequest:
    """One HTTP request as the fake server received it."""

    method: str
    path: str
    raw_query: str
    params: dict[str, str]
    headers: dict[str, str]
    body: Any


@dataclass
class Reply:
    """A scripted REST reply; ``hold`` delays it until the event is set."""

    status: int = 200
    body: Any = None
    hold: asyncio.Event | None = None


@dataclass
class FakeSocket:
    """One accepted event websocket."""

    path: str
    params: dict[str, str]
    headers: dict[str, str]
    protocol: ServerProtocol
    writer: asyncio.StreamWriter
    closed: asyncio.Event = field(default_factory=asyncio.Event)

    async def flush(self) -> None:
        for data in self.protocol.data_to_send():
            if data:
                self.writer.write(data)
            elif not self.writer.is_closing():
                self.writer.close()
        await self.writer.drain()

    async def send_event(self, event: dict[str, Any]) -> None:
        await self.send_raw(json.dumps(event))

    async def send_raw(self, text: str) -> None:
        self.protocol.send_text(text.encode())
        await self.flush()

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Start a close handshake, as Asterisk does on a clean shutdown."""
        self.protocol.send_close(code, reason)
        await self.flush()

    def drop(self) -> None:
        """Abort the TCP connection without a close frame, as a crashed Asterisk would."""
        self.writer.transport.abort()


RouteHandler = Reply | Callable[[RecordedRequest], Reply]


class FakeAriServer:
    """Serves ``/ari/...`` REST routes and ``/ari/events`` on 127.0.0.1."""

    def __init__(self, *, authorization: str | None = None) -> None:
        self.authorization = authorization
        self.routes: dict[tuple[str, str], RouteHandler] = {}
        self.requests: list[RecordedRequest] = []
        self.sockets: list[FakeSocket] = []
        self.reject_sockets_with: int | None = None
        self._socket_opened = asyncio.Condition()
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/ari"

    async def __aenter__(self) -> FakeAriServer:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._server is not None
        self._server.close()
        for socket in self.sockets:
            socket.drop()
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
        await self._server.wait_closed()

    def reply(self, method: str, path: str, handler: RouteHandler) -> None:
        self.routes[(method, path)] = handler

    async def wait_for_socket(self, count: int = 1) -> FakeSocket:
        """Wait until ``count`` websockets have been accepted; return the latest one."""
        async with self._socket_opened:
            await self._socket_opened.wait_for(lambda: len(self.sockets) >= count)
        return self.sockets[count - 1]

    # --- connection handling -------------------------------------------------------

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                method, target, headers = _parse_head(head)
                if headers.get("upgrade", "").lower() == "websocket":
                    await self._serve_socket(head, target, headers, reader, writer)
                    return
                length = int(headers.get("content-length", "0"))
                body_bytes = await reader.readexactly(length) if length else b""
                await self._serve_rest(method, target, headers, body_bytes, writer)
        finally:
            self._connections.discard(task)
            writer.close()

    async def _serve_rest(
        self,
        method: str,
        target: str,
        headers: dict[str, str],
        body_bytes: bytes,
        writer: asyncio.StreamWriter,
    ) -> None:
        parts = urlsplit(target)
        request = RecordedRequest(
            method=method,
            path=parts.path,
            raw_query=parts.query,
            params=dict(parse_qsl(parts.query, keep_blank_values=True)),
            headers=headers,
            body=json.loads(body_bytes) if body_bytes else None,
        )
        self.requests.append(request)
        if self.authorization is not None and headers.get("authorization") != self.authorization:
            reply = Reply(401, {"message": "Authentication required"})
        else:
            handler = self.routes.get((method, parts.path))
            if handler is None:
                reply = Reply(404, {"message": "Resource not found"})
            elif isinstance(handler, Reply):
                reply = handler
            else:
                reply = handler(request)
        if reply.hold is not None:
            await reply.hold.wait()
        payload = b"" if reply.body is None else json.dumps(reply.body).encode()
        lines = [f"HTTP/1.1 {reply.status} Fake", f"Content-Length: {len(payload)}"]
        if payload:
            lines.append("Content-Type: application/json")
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + payload)
        await writer.drain()

    async def _serve_socket(
        self,
        head: bytes,
        target: str,
        headers: dict[str, str],
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        protocol = ServerProtocol()
        protocol.receive_data(head)
        [request] = [e for e in protocol.events_received() if isinstance(e, Request)]
        if self.reject_sockets_with is not None:
            response = protocol.reject(self.reject_sockets_with, "rejected by the fake server\n")
            protocol.send_response(response)
            writer.write(b"".join(protocol.data_to_send()))
            await writer.drain()
            return
        protocol.send_response(protocol.accept(request))
        parts = urlsplit(target)
        socket = FakeSocket(
            path=parts.path,
            params=dict(parse_qsl(parts.query, keep_blank_values=True)),
            headers=headers,
            protocol=protocol,
            writer=writer,
        )
        await socket.flush()
        async with self._socket_opened:
            self.sockets.append(socket)
            self._socket_opened.notify_all()
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    protocol.receive_eof()
                    break
                protocol.receive_data(data)
                protocol.events_received()
                await socket.flush()
                if protocol.close_expected():
                    break
        except ConnectionError:
            pass
        finally:
            socket.closed.set()


def _parse_head(head: bytes) -> tuple[str, str, dict[str, str]]:
    request_line, *header_lines = head.decode("latin-1").split("\r\n")
    method, target, _version = request_line.split(" ", 2)
    headers: dict[str, str] = {}
    for line in header_lines:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    return method, target, headers
