"""The resident EAGI engine: ``careroute eagi-serve``.

Loading the Vosk model takes about a second and 240 MB, too much for a
process per call. The engine loads the model and the classifier once and
accepts one TCP connection per call from ``agi/eagi_relay.py``, the small
script that Asterisk's ``EAGI()`` runs. Each connection is one ``EagiCall``
with its own ``CallPipeline``; recognizers come from a shared pool and
decoding runs in a thread pool, never on the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass

import structlog

from agi.eagi_call import EagiCall, EagiSettings, PipelineFactory
from ari_app.runner import warn_unknown_queues
from ari_app.service import SHUTDOWN_REASON
from careroute.audio import TELEPHONE_RATE_HZ
from careroute.classifier import Classifier
from careroute.config import CareRouteConfig
from careroute.errors import ConfigError
from careroute.pipeline import CallPipeline
from careroute.recognizer import RecognizerPool, load_vosk_model

log = structlog.get_logger("careroute.eagi")

#: Seconds a stopping engine lets calls in progress end on their own before cancelling them.
STOP_GRACE_S = 2.0


@dataclass
class EagiStats:
    """Counters since start."""

    calls: int = 0
    routed: int = 0
    failed: int = 0


class EagiServer:
    """Accepts relay connections on ``host:port`` and runs one ``EagiCall`` per connection."""

    def __init__(
        self,
        host: str,
        port: int,
        settings: EagiSettings,
        pipeline_factory: PipelineFactory,
        executor: Executor | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.settings = settings
        self.pipeline_factory = pipeline_factory
        self._own_executor = executor is None
        # Vosk releases the GIL while decoding, so one worker per core keeps every core busy.
        self.executor = executor or ThreadPoolExecutor(
            max_workers=max(2, os.cpu_count() or 2), thread_name_prefix="careroute-eagi"
        )
        self.stats = EagiStats()
        self._server: asyncio.Server | None = None
        self._calls: dict[asyncio.Task[None], EagiCall] = {}

    async def start(self) -> None:
        """Listen for relay connections; port 0 picks a free port, stored in ``port``.

        Raises:
            ConfigError: the address cannot be bound (in use, or not a local address).
        """
        try:
            self._server = await asyncio.start_server(self._accept, self.host, self.port)
        except OSError as exc:
            # asyncio's strerror repeats the address, so take the plain text of the errno.
            reason = os.strerror(exc.errno) if exc.errno else str(exc)
            raise ConfigError(
                f"eagi.bind:eagi.port {self.host}:{self.port} cannot be opened "
                f"({reason}); stop the process that holds the port "
                f"(ss -ltnp 'sport = :{self.port}') or set another eagi.port, and set "
                f"CAREROUTE_EAGI_ENGINE={self.host}:PORT in the dialplan's [globals] to match"
            ) from exc
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("eagi.server.started", host=self.host, port=self.port)

    async def stop(self) -> None:
        """Stop listening and end the calls in progress; their callers fall back in the dialplan."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        if self._calls:
            # Callers still listened to go to the fallback queue at once. A call whose
            # relay already left finishes in milliseconds and logs its summary. The rest
            # are cancelled, and their relays send the callers to the fallback queue.
            loop = asyncio.get_running_loop()
            handovers = [loop.create_task(call.hand_over(SHUTDOWN_REASON)) for call in self._calls.values()]
            await asyncio.wait([*self._calls, *handovers], timeout=STOP_GRACE_S)
            for task in handovers:
                task.cancel()
            await asyncio.gather(*handovers, return_exceptions=True)
        for task in list(self._calls):
            task.cancel()
        if self._calls:
            await asyncio.gather(*self._calls, return_exceptions=True)
        if self._own_executor:
            self.executor.shutdown(wait=False, cancel_futures=True)
        log.info("eagi.server.stopped", calls=self.stats.calls, routed=self.stats.routed)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.stats.calls += 1
        call = EagiCall(reader, writer, self.settings, self.pipeline_factory, self.executor)
        self._calls[task] = call
        try:
            await call.run()
        finally:
            self._calls.pop(task, None)
            if call.outcome == "routed":
                self.stats.routed += 1
            elif call.outcome == "failed":
                self.stats.failed += 1


def eagi_settings(config: CareRouteConfig) -> EagiSettings:
    """Collect what each EAGI call needs from the configuration."""
    return EagiSettings(
        greeting=config.prompts.greeting or None,
        reprompt=config.prompts.reprompt or None,
        operator_digit=config.routing.operator_digit,
        watch_seconds=config.eagi.watch_seconds,
    )


def build_server(config: CareRouteConfig, *, port: int | None = None) -> EagiServer:
    """Load the shared models once and return an EagiServer (not started yet).

    ``port`` overrides ``eagi.port``; tests pass 0 for a free port.

    Raises:
        ModelError: the Vosk model cannot be loaded.
        ArtifactError: the classifier artifact cannot be loaded.
    """
    warn_unknown_queues(config)
    model = load_vosk_model(
        config.recognizer.resolved_model_path(),
        decoder=config.recognizer.decoder_settings(),
        graph=config.recognizer.graph,
    )
    classifier = Classifier.load(config.classifier.artifact_path)
    # EAGI delivers 8 kHz signed linear audio unless the dialplan sets EAGI_AUDIO_FORMAT.
    recognizers = RecognizerPool(model, config.recognizer.sample_rate, input_rate=TELEPHONE_RATE_HZ)

    def make_pipeline(call_id: str) -> CallPipeline:
        return CallPipeline.create(
            model,
            classifier,
            config.routing,
            input_rate=TELEPHONE_RATE_HZ,
            model_rate=config.recognizer.sample_rate,
            call_id=call_id,
            start_on_audio=False,
            pool=recognizers,
        )

    return EagiServer(
        config.eagi.bind,
        config.eagi.port if port is None else port,
        eagi_settings(config),
        make_pipeline,
    )


async def run_server(config: CareRouteConfig) -> None:
    """Run the EAGI engine until SIGINT or SIGTERM."""
    server = build_server(config)
    await server.start()
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopped.set)
    try:
        await stopped.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(ValueError):
                loop.remove_signal_handler(sig)
        await server.stop()
