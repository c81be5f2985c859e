"""Start-up of the triage service: configuration errors stop it, a missing AMI does not."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest
from structlog.testing import capture_logs

import ari_app.runner
from ari_app.escalation import AmiEscalator
from ari_app.health import HealthServer
from ari_app.runner import escalator_from_config
from careroute.config import CareRouteConfig, parse_config
from careroute.errors import ConfigError
from careroute.policy import Decision, Trigger

EMERGENCY = Decision(
    queue="nurse", urgency="emergency", confidence=1.0, reason="chest pain", priority=10,
    trigger=Trigger.ESCALATION, decided_at=0.0,
)


@pytest.mark.asyncio
async def test_health_port_in_use_names_key() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        server = HealthServer("127.0.0.1", port, lambda: True, lambda: None)
        with pytest.raises(ConfigError, match=rf"health.port {port}"):
            await server.start()


class FakeManager:
    """Minimal AMI server: the banner, then one response to the Login action."""

    def __init__(self, accept: bool) -> None:
        self.accept = accept
        self.logins = 0
        self.closed = asyncio.Event()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"Asterisk Call Manager/9.0.0\r\n")
        await writer.drain()
        request = (await reader.readuntil(b"\r\n\r\n")).decode()
        self.logins += 1
        action_id = next(
            line.split(":", 1)[1].strip() for line in request.split("\r\n") if line.lower().startswith("actionid:")
        )
        answer = "Success\r\nMessage: Authentication accepted" if self.accept else "Error\r\nMessage: Authentication failed"
        writer.write(f"Response: {answer}\r\nActionID: {action_id}\r\n\r\n".encode())
        await writer.drain()
        try:
            # Stay open like Asterisk until the client leaves.
            await reader.read()
        finally:
            writer.close()
            self.closed.set()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def ami_config(tmp_path: Path, port: int) -> CareRouteConfig:
    secret = tmp_path / "ami-secret"
    secret.write_text("not-used\n")
    return parse_config({"ami": {"port": port, "secret_file": str(secret)}})


@pytest.mark.asyncio
async def test_ami_unreachable_starts_without_escalation(tmp_path: Path) -> None:
    config = ami_config(tmp_path, free_port())
    with capture_logs() as logs:
        async with escalator_from_config(config) as escalator:
            assert escalator is not None
            escalated = await escalator("Local/s@tb-1;2", EMERGENCY)
    assert escalated is False
    assert any(entry["event"] == "service.escalation.waiting_for_ami" for entry in logs)


@pytest.mark.asyncio
async def test_ami_connects_once_manager_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ari_app.runner, "AMI_RETRY_MIN_S", 0.05)
    port = free_port()
    config = ami_config(tmp_path, port)
    manager = FakeManager(accept=True)
    async with escalator_from_config(config) as escalator:
        assert isinstance(escalator, AmiEscalator)
        assert not escalator.ami.connected
        # Asterisk comes up after the service.
        server = await asyncio.start_server(manager.handle, "127.0.0.1", port)
        async with asyncio.timeout(10):
            while True:
                if escalator.ami.connected:
                    break
                await asyncio.sleep(0.05)
    # The service closed AMI on the way out; the fake manager saw it leave.
    async with server, asyncio.timeout(10):
        await manager.closed.wait()
    assert manager.logins == 1


@pytest.mark.asyncio
async def test_ami_login_rejected_names_fix(tmp_path: Path) -> None:
    manager = FakeManager(accept=False)
    server = await asyncio.start_server(manager.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        with pytest.raises(ConfigError, match=r"ami\.enabled: false"):
            async with escalator_from_config(ami_config(tmp_path, port)):
                pass
        async with asyncio.timeout(10):
            await manager.closed.wait()


@pytest.mark.asyncio
async def test_escalation_off_without_ami() -> None:
    config = parse_config({"ami": {"enabled": False}})
    async with escalator_from_config(config) as escalator:
        assert escalator is None


async def _answer_status(status_line: bytes) -> asyncio.Server:
    """Start a loopback HTTP server that responds to every request with ``status_line``."""
    body = b'{"message": "Authentication required"}'

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(
            b"HTTP/1.1 " + status_line + b"\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body
        )
        await writer.drain()
        writer.close()

    return await asyncio.start_server(answer, "127.0.0.1", 0)


@pytest.mark.asyncio
async def test_ari_wrong_password_stops_start() -> None:
    from ari_app.client import AriClient
    from ari_app.runner import check_ari_login

    server = await _answer_status(b"401 Unauthorized")
    port = server.sockets[0].getsockname()[1]
    config = CareRouteConfig()
    async with server, AriClient(f"http://127.0.0.1:{port}/ari", "careroute", "wrong", "careroute") as client:
        with pytest.raises(ConfigError, match=r"rejected user 'careroute' \(401\).*ari\.conf"):
            await check_ari_login(client, config)


@pytest.mark.asyncio
async def test_ari_down_at_start_is_logged_not_fatal() -> None:
    from ari_app.client import AriClient
    from ari_app.runner import check_ari_login

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    async with AriClient(f"http://127.0.0.1:{closed_port}/ari", "careroute", "secret", "careroute") as client:
        with capture_logs() as logs:
            await check_ari_login(client, CareRouteConfig())
    assert [entry["event"] for entry in logs] == ["service.ari.not_reachable"]
