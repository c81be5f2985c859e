"""The EAGI engine's listening socket: a port in use is a ConfigError naming the address."""

from __future__ import annotations

import socket

import pytest

from agi.eagi_call import EagiSettings
from agi.eagi_server import EagiServer
from careroute.errors import ConfigError
from careroute.pipeline import CallPipeline


def no_pipeline(call_id: str) -> CallPipeline:
    raise AssertionError(f"no call should reach this server, got {call_id!r}")


@pytest.mark.asyncio
async def test_eagi_server_port_in_use_is_config_error() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = int(holder.getsockname()[1])
        server = EagiServer("127.0.0.1", port, EagiSettings(None, None, "0"), no_pipeline)
        with pytest.raises(ConfigError) as error:
            await server.start()
        await server.stop()
    message = str(error.value)
    assert f"127.0.0.1:{port}" in message
    assert "Address already in use" in message
    assert "eagi.port" in message
