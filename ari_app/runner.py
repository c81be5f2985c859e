"""Build the triage service from a validated configuration and run it."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator

import structlog

from agi.ami import AmiClient, AmiConnectionError, AmiError, AmiLoginError, AmiTimeout
from ari_app.client import AriClient
from ari_app.errors import AriError
from ari_app.escalation import AmiEscalator
from ari_app.health import HealthServer
from ari_app.listener import Backoff
from ari_app.media import RtpPortPool
from ari_app.service import TriageService
from ari_app.session import Escalator, SessionSettings
from careroute.audio import AudioFormat
from careroute.classifier import Classifier
from careroute.config import CareRouteConfig
from careroute.errors import ConfigError
from careroute.pipeline import CallPipeline
from careroute.recognizer import RecognizerPool, load_vosk_model
from careroute.scores import QUEUES

log = structlog.get_logger("careroute.service")


def ari_base_url(url: str) -> str:
    """Return the ARI base URL: ``http://host:port`` gains the ``/ari`` path."""
    url = url.rstrip("/")
    return url if url.endswith("/ari") else url + "/ari"


def session_settings(config: CareRouteConfig) -> SessionSettings:
    """Collect what each call session needs from the configuration."""
    routing = config.routing
    return SessionSettings(
        app=config.ari.app,
        audio_format=AudioFormat.from_name(config.media.format),
        media_host=config.media.bind_host,
        dialplan_context=routing.dialplan_context,
        fallback_queue=routing.fallback_queue,
        greeting=config.prompts.greeting or None,
        reprompt=config.prompts.reprompt or None,
        no_rtp_timeout_s=config.media.no_rtp_timeout,
        escalation_window_s=config.routing.escalation_window_seconds,
        priorities={
            "emergency": routing.priorities.emergency,
            "urgent": routing.priorities.urgent,
            "routine": routing.priorities.routine,
        },
    )


def warn_unknown_queues(config: CareRouteConfig) -> None:
    """Log a warning for each configured queue the shipped dialplan has no extension for.

    Such a name is allowed, for an on-call target an admin added to
    ``[careroute-queues]``, but a typo would send every such call through the
    dialplan's ``i`` extension to the front desk.
    """
    routing = config.routing
    for key, name in (
        ("routing.fallback_queue", routing.fallback_queue),
        ("routing.emergency_queue", routing.emergency_queue),
        ("routing.urgent_red_flag_queue", routing.urgent_red_flag_queue),
    ):
        if name not in QUEUES:
            log.warning(
                "config.queue.not_shipped",
                key=key,
                queue=name,
                message=f"add an extension {name!r} to [careroute-queues], or use one of {', '.join(QUEUES)}",
            )


def build_service(
    config: CareRouteConfig, client: AriClient, escalator: Escalator | None = None
) -> TriageService:
    """Load the shared models once and wire a TriageService around ``client``."""
    warn_unknown_queues(config)
    model = load_vosk_model(
        config.recognizer.resolved_model_path(),
        decoder=config.recognizer.decoder_settings(),
        graph=config.recognizer.graph,
    )
    classifier = Classifier.load(config.classifier.artifact_path)
    audio_format = AudioFormat.from_name(config.media.format)

    recognizers = RecognizerPool(
        model, config.recognizer.sample_rate, input_rate=audio_format.sample_rate
    )

    def make_pipeline(call_id: str) -> CallPipeline:
        return CallPipeline.create(
            model,
            classifier,
            config.routing,
            input_rate=audio_format.sample_rate,
            model_rate=config.recognizer.sample_rate,
            call_id=call_id,
            start_on_audio=False,
            pool=recognizers,
        )

    ports = range(config.media.rtp_port_min, config.media.rtp_port_max + 1)
    return TriageService(
        client,
        session_settings(config),
        make_pipeline,
        RtpPortPool(ports, host=config.media.bind_host),
        Backoff(initial_s=config.ari.reconnect_backoff_min, maximum_s=config.ari.reconnect_backoff_max),
        escalator=escalator,
    )


#: Seconds between AMI connection attempts while nothing listens on the AMI port: from
#: 1 s, doubling to 30 s, so a service started before Asterisk escalates soon after it.
AMI_RETRY_MIN_S = 1.0
AMI_RETRY_MAX_S = 30.0


@contextlib.asynccontextmanager
async def escalator_from_config(config: CareRouteConfig) -> AsyncIterator[Escalator | None]:
    """Yield an AMI escalator when ``ami.enabled``, else None (escalation off).

    When nothing listens on the AMI port (Asterisk not started yet, or
    restarting), the escalator is yielded anyway and connects in the
    background. Until then an escalation fails with a logged error, and the
    caller keeps the first queue. Rejected credentials are a configuration
    error and stop the service.

    Raises:
        ConfigError: the AMI secret is not available, or the login was rejected.
    """
    if not config.ami.enabled or config.routing.escalation_window_seconds <= 0:
        if config.routing.escalation_window_seconds > 0:
            log.warning(
                "service.escalation.disabled",
                message="ami.enabled is false: emergencies named after routing are not escalated",
            )
        yield None
        return
    ami = AmiClient(config.ami.host, config.ami.port, config.ami.user, config.ami.secret())
    retry: asyncio.Task[None] | None = None
    try:
        await ami.connect()
    except (AmiConnectionError, AmiTimeout) as exc:
        log.error(
            "service.escalation.waiting_for_ami",
            error=str(exc),
            message="escalation is off until AMI accepts a connection; retrying in the background",
        )
        retry = asyncio.get_running_loop().create_task(_connect_until_up(ami), name="ami-retry")
    except AmiError as exc:
        raise ConfigError(
            f"AMI at {config.ami.host}:{config.ami.port} failed: {exc}. Fix the ami section "
            "(or manager.conf), or set ami.enabled: false to run without escalation"
        ) from exc
    try:
        yield AmiEscalator(ami, config.routing.dialplan_context)
    finally:
        if retry is not None:
            retry.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await retry
        ami.close()


async def _connect_until_up(ami: AmiClient) -> None:
    """Connect ``ami`` with capped exponential backoff; stop at the first success."""
    delay = AMI_RETRY_MIN_S
    while True:
        await asyncio.sleep(delay)
        try:
            await ami.connect()
        except AmiLoginError as exc:
            log.error("service.escalation.ami_login_rejected", error=str(exc))
        except AmiError as exc:
            log.warning("service.escalation.ami_retry", error=str(exc), next_try_s=min(delay * 2, AMI_RETRY_MAX_S))
        else:
            log.info("service.escalation.ami_connected", message="escalation is on")
            return
        delay = min(delay * 2, AMI_RETRY_MAX_S)


async def run_service(config: CareRouteConfig) -> None:
    """Run until SIGINT or SIGTERM."""
    client = AriClient(
        ari_base_url(config.ari.url),
        config.ari.user,
        config.ari.password(),
        config.ari.app,
        request_timeout=config.ari.request_timeout,
    )
    async with client:
        await check_ari_login(client, config)
        await _serve(config, client)


async def check_ari_login(client: AriClient, config: CareRouteConfig) -> None:
    """Raise ConfigError when Asterisk rejects the ARI user or password.

    A wrong password would otherwise be retried forever while every caller
    takes the dialplan's fallback. An Asterisk that is not up yet is no error:
    the service keeps reconnecting until it is.

    Raises:
        ConfigError: Asterisk rejected the request with status 401 or 403.
    """
    try:
        await client.list_channels()
    except AriError as exc:
        if exc.status in (401, 403):
            raise ConfigError(
                f"ARI at {config.ari.url} rejected user {config.ari.user!r} ({exc.status}); "
                "compare ari.user and the password (ari.password_env or ari.password_file) "
                "with the user in Asterisk's ari.conf"
            ) from exc
        log.warning("service.ari.not_reachable", error=str(exc), action="retrying in the background")


async def _serve(config: CareRouteConfig, client: AriClient) -> None:
    async with escalator_from_config(config) as escalator:
        service = build_service(config, client, escalator)
        health = HealthServer(
            config.health.bind, config.health.port, lambda: service.ready, lambda: service.stats
        )
        await health.start()
        loop = asyncio.get_running_loop()
        task = loop.create_task(service.run())
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        log.info("service.started", ari=ari_base_url(config.ari.url), app=config.ari.app)
        stopping = loop.create_task(stop.wait())
        try:
            await asyncio.wait((task, stopping), return_when=asyncio.FIRST_COMPLETED)
            if stop.is_set():
                # Callers in the app go to a human before the connection closes;
                # without this they would wait in silence for the dialplan watchdog.
                await service.drain()
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        finally:
            stopping.cancel()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)
            await health.stop()
            log.info("service.stopped")
