"""Harness for live calls: the triage service in-process, and what Asterisk reports.

Used by the live evaluation (``careroute eval``) and the integration tests.
``running_service`` runs the real ``TriageService`` in this process against
an Asterisk. ``queue_watch`` and ``AnswerWatch`` observe the calls from AMI.
``SessionCapture`` keeps each call's session, so its trace marks can be read
after the session closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx

from agi.ami import AmiClient, AmiEvent
from ari_app.client import AriClient
from ari_app.events import StasisStart
from ari_app.runner import ari_base_url, build_service, escalator_from_config
from ari_app.service import TriageService
from ari_app.session import CallSession
from careroute.config import CareRouteConfig, parse_config
from careroute.policy import CallState
from careroute.queuewatch import QueueWatch
from careroute.testbed import Testbed

#: Environment variable the in-process service reads the test bed's ARI password from.
PASSWORD_ENV = "CAREROUTE_TEST_ARI_PASSWORD"
#: App RTP ports of the in-process service. They lie above the default
#: service range (31000-31999) so a service running for real is never disturbed.
DEFAULT_HARNESS_RTP_PORTS = (33000, 33099)
#: Seconds the service may take to open its event socket.
CONNECT_TIMEOUT_S = 10.0
#: A session removes its legs within about a second of routing the caller.
TEARDOWN_WAIT_S = 5.0
#: How often ``wait_sessions_finished`` looks at the sessions.
SESSION_POLL_S = 0.05
#: Seconds an ARI hang-up of a test caller may take on loopback.
HANGUP_TIMEOUT_S = 5.0


def service_config(
    testbed: Testbed,
    model_dir: Path,
    *,
    rtp_ports: tuple[int, int] = DEFAULT_HARNESS_RTP_PORTS,
    **routing: Any,
) -> CareRouteConfig:
    """Return a config that points the service at the test bed."""
    return harness_config(
        f"http://127.0.0.1:{testbed.settings.http_port}",
        testbed.ari_user,
        PASSWORD_ENV,
        model_dir,
        rtp_ports=rtp_ports,
        # Derived from the test bed's port so parallel runs do not collide.
        health_port=testbed.settings.http_port + 11,
        ami={
            "enabled": True,
            "port": testbed.ami_port,
            "user": testbed.settings.ami_user,
            "secret_file": str(testbed.ami_secret_file),
        },
        **routing,
    )


def harness_config(
    ari_url: str,
    ari_user: str,
    password_env: str,
    model_dir: Path,
    *,
    rtp_ports: tuple[int, int],
    health_port: int,
    ami: dict[str, Any] | None = None,
    **routing: Any,
) -> CareRouteConfig:
    """Return a service config for ``ari_url``; unset keys keep their defaults."""
    return parse_config(
        {
            "ari": {
                "url": ari_url,
                "user": ari_user,
                "password_env": password_env,
                "reconnect_backoff_min": 0.2,
                "reconnect_backoff_max": 1.0,
            },
            "recognizer": {"model_path": str(model_dir)},
            "media": {"rtp_port_min": rtp_ports[0], "rtp_port_max": rtp_ports[1]},
            "health": {"port": health_port},
            "ami": ami or {},
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
    async with client, escalator_from_config(config) as escalator:
        service = build_service(config, client, escalator)
        task = asyncio.get_running_loop().create_task(service.run())
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT_S):
                await client.connected.wait()
            yield service
        finally:
            # Stopping the service while a session still tears down would
            # cancel the teardown half-way and leave its RTP socket open.
            await wait_sessions_finished(service, TEARDOWN_WAIT_S)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def wait_sessions_finished(service: TriageService, timeout_s: float) -> bool:
    """Wait until every live session of ``service`` finished; False after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while any(session.state is not CallState.FINISHED for session in service.sessions.values()):
        if time.monotonic() >= deadline:
            return False
        # Sessions report their end only through a callback the service owns, so poll.
        await asyncio.sleep(SESSION_POLL_S)
    return True


class SessionCapture:
    """Keeps every call session the service starts, by caller channel id.

    The service drops a session when it closes. This class keeps it, so the
    session's ``trace`` can be read after the caller reached a queue. Register
    it after the service connected: its StasisStart handler then runs after
    the service's own, which creates the session.
    """

    def __init__(self, service: TriageService) -> None:
        self._service = service
        self.sessions: dict[str, CallSession] = {}
        self._remove = service.client.on(StasisStart, self._on_stasis_start)

    def _on_stasis_start(self, event: StasisStart) -> None:
        session = self._service.sessions.get(event.channel.id)
        if session is not None:
            self.sessions[event.channel.id] = session

    def close(self) -> None:
        self._remove()


class AnswerWatch:
    """Records when Asterisk reports each channel Up (AMI ``Newstate``), by Uniqueid."""

    def __init__(self, ami: AmiClient) -> None:
        self.answered_at: dict[str, float] = {}
        """``time.monotonic()`` when the Up event reached us."""
        self._remove = ami.on_event("Newstate", self._on_event)

    def _on_event(self, event: AmiEvent) -> None:
        if event.headers.get("ChannelStateDesc") == "Up":
            self.answered_at.setdefault(event.headers.get("Uniqueid", ""), time.monotonic())

    def close(self) -> None:
        self._remove()


@contextlib.asynccontextmanager
async def ami_session(host: str, port: int, user: str, password: str) -> AsyncIterator[AmiClient]:
    """Yield a connected AMI client."""
    async with AmiClient(host, port, user, password) as ami:
        yield ami


@contextlib.asynccontextmanager
async def queue_watch(testbed: Testbed) -> AsyncIterator[QueueWatch]:
    """Yield a QueueWatch on the test bed's AMI."""
    settings = testbed.settings
    async with ami_session("127.0.0.1", testbed.ami_port, settings.ami_user, settings.ami_password) as ami:
        watch = QueueWatch(ami)
        try:
            yield watch
        finally:
            watch.close()


async def hang_up(testbed: Testbed, channel_id: str) -> None:
    """Hang up a test-bed channel over ARI; a channel that is already gone is fine.

    Raises:
        httpx.HTTPStatusError: Asterisk rejected the request for another reason.
    """
    settings = testbed.settings
    async with httpx.AsyncClient(
        auth=(settings.ari_user, settings.ari_password), timeout=HANGUP_TIMEOUT_S
    ) as client:
        response = await client.delete(f"{testbed.ari_url}/channels/{channel_id}")
    if response.status_code not in (204, 404):
        response.raise_for_status()
