"""A fake Asterisk manager (AMI) server on 127.0.0.1 with scripted answers.

It speaks the AMI wire format (``Key: value`` lines, a blank line after each
message, ``ActionID`` echoed), so the real panoramisk parser reads its answers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

Message = dict[str, str]
EOL = "\r\n"


def encode(message: Message) -> bytes:
    return ("".join(f"{key}: {value}{EOL}" for key, value in message.items()) + EOL).encode()


class FakeAmiServer:
    """Answers Login itself; other actions from ``scripts`` (action name -> messages)."""

    def __init__(self, username: str = "careroute", secret: str = "secret") -> None:
        self.username = username
        self.secret = secret
        self.scripts: dict[str, Callable[[Message], list[Message]] | list[Message] | None] = {}
        self.actions: list[Message] = []
        self.writers: list[asyncio.StreamWriter] = []
        self.action_received = asyncio.Condition()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0

    async def __aenter__(self) -> FakeAmiServer:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self.writers:
            writer.transport.abort()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def push_event(self, message: Message) -> None:
        """Send an unsolicited event to every connected client."""
        for writer in self.writers:
            writer.write(encode(message))
            await writer.drain()

    async def wait_for_action(self, name: str) -> Message:
        async with self.action_received:
            await self.action_received.wait_for(
                lambda: any(a.get("Action", "").lower() == name.lower() for a in self.actions)
            )
        return next(a for a in self.actions if a.get("Action", "").lower() == name.lower())

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.writers.append(writer)
        writer.write(f"Asterisk Call Manager/9.0.0{EOL}".encode())
        try:
            while True:
                try:
                    raw = await reader.readuntil((EOL + EOL).encode())
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                action = _parse(raw.decode())
                async with self.action_received:
                    self.actions.append(action)
                    self.action_received.notify_all()
                for message in self._answer(action):
                    writer.write(encode(message))
                await writer.drain()
        finally:
            self._tasks.discard(task)
            self.writers.remove(writer)
            writer.close()

    def _answer(self, action: Message) -> list[Message]:
        action_id = action.get("ActionID", "")
        name = action.get("Action", "")
        if name.lower() == "login":
            if action.get("Username") == self.username and action.get("Secret") == self.secret:
                return [
                    {
                        "Response": "Success",
                        "ActionID": action_id,
                        "Message": "Authentication accepted",
                    },
                    {"Event": "FullyBooted", "Privilege": "system,all", "Status": "Fully Booted"},
                ]
            return [
                {"Response": "Error", "ActionID": action_id, "Message": "Authentication failed"}
            ]
        script = self.scripts.get(name, [{"Response": "Success", "ActionID": "", "Message": "OK"}])
        if script is None:
            return []  # never answer: lets a test exercise the action timeout
        messages = script(action) if callable(script) else script
        return [dict(message, ActionID=action_id) for message in messages]


def _parse(raw: str) -> Message:
    message: Message = {}
    for line in raw.split(EOL):
        if ": " in line:
            key, value = line.split(": ", 1)
            message[key] = value
    return message
