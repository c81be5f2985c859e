"""Start-up failures of the triage service end in a clear configuration error."""

from __future__ import annotations

import socket

import pytest

from ari_app.health import HealthServer
from ari_app.runner import escalator_from_config
from careroute.config import parse_config
from careroute.errors import ConfigError


@pytest.mark.asyncio
async def test_health_port_in_use_names_key() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        server = HealthServer("127.0.0.1", port, lambda: True, lambda: None)
        with pytest.raises(ConfigError, match=rf"health.port {port}"):
            await server.start()


@pytest.mark.asyncio
async def test_ami_unreachable_names_fix(tmp_path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free_port = probe.getsockname()[1]
    secret = tmp_path / "ami-secret"
    secret.write_text("not-used\n")
    config = parse_config({"ami": {"port": free_port, "secret_file": str(secret)}})
    with pytest.raises(ConfigError, match=r"ami\.enabled: false"):
        async with escalator_from_config(config):
            pass


@pytest.mark.asyncio
async def test_escalation_off_without_ami() -> None:
    config = parse_config({"ami": {"enabled": False}})
    async with escalator_from_config(config) as escalator:
        assert escalator is None
