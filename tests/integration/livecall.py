"""Helpers for live triage tests: run the service in-process against the test bed."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from agi.ami import AmiClient
from ari_app.client import AriClient
from ari_app.runner import ari_base_url, build_service
from ari_app.service import TriageService
from careroute.config import CareRouteConfig, parse_config
from careroute.queuewatch import QueueWatch
from careroute.testbed import Testbed

PASSWORD_ENV = "CAREROUTE_TEST_ARI_PASSWORD"


def service_config(testbed: Testbed, model_dir: Path, **routing: Any) -> CareRouteConfig:
    """Return a config that points the service at the test bed."""
    return parse_config(
        {
            "ari": {
                "url": f"http://127.0.0.1:{testbed.settings.http_port}",
                "user": testbed.ari_user,
                "password_env": PASSWORD_ENV,
                "reconnect_backoff_min": 0.2,
                "reconnect_backoff_max": 1.0,
            },
            "recognizer": {"model_path": str(model_dir)},
            "media": {"rtp_port_min": 33000, "rtp_port_max": 33099},
            # Derived from the test bed's port so parallel test runs do not collide.
            "health": {"port": testbed.settings.http_port + 11},
            "routing": routing,
        }
    )


@contextlib.asynccontextmanager
async def running_service(config: CareRouteConfig) -> AsyncIterator[TriageService]:
    """Run the triage service until the block ends; yield it once connected."""
    client = AriClient(
        ari_base_url(config.ari.url), config.ari.user, config.ari.password(), config.ari.app,
        request_timeout=config.ari.request_timeout,
    )
    async with client:
        service = build_service(config, client)
        task = asyncio.get_running_loop().create_task(service.run())
        try:
            async with asyncio.timeout(10):
                await client.connected.wait()
            yield service
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


@contextlib.asynccontextmanager
async def queue_watch(testbed: Testbed) -> AsyncIterator[QueueWatch]:
    """Yield a QueueWatch on the test bed's AMI."""
    async with AmiClient(
        "127.0.0.1", testbed.ami_port, testbed.settings.ami_user, testbed.settings.ami_password
    ) as ami:
        watch = QueueWatch(ami)
        try:
            yield watch
        finally:
            watch.close()
