"""One EAGI call on the resident engine, from the relay's connection to its EXIT.

``EagiCall`` reads the AGI environment, plays the greeting with ``STREAM
FILE``, feeds the caller's audio to the engine's ``CallPipeline`` in a worker
thread, and carries out the pipeline's actions: a reprompt, or a decision.
A decision becomes ``SET VARIABLE`` commands for the CAREROUTE_* variables and
``QUEUE_PRIO``, then EXIT; the dialplan line after ``EAGI()`` does the Goto.
The frame protocol is described in ``agi.eagi_relay``.

Asterisk delivers no audio on file descriptor 3 while an AGI command runs, so
the caller is not heard during the greeting or the reprompt. Both prompts stop
at the operator digit, which is the only point where DTMF reaches the call.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import time
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

import structlog

from agi.agi_commands import (
    AgiReply,
    AgiReplyError,
    parse_agi_reply,
    routing_variables,
    set_variable,
    stream_file,
)
from agi.eagi_relay import (
    FRAME_AUDIO,
    FRAME_COMMAND,
    FRAME_ENVIRONMENT,
    FRAME_EXIT,
    FRAME_HANGUP,
    FRAME_REPLY,
    HEADER,
    MAX_PAYLOAD,
    ProtocolError,
    encode_frame,
)
from careroute.pipeline import CallPipeline
from careroute.policy import Action, Decision, Reprompt

log = structlog.get_logger("careroute.eagi")

#: Seconds the relay may take to send the AGI environment after connecting.
#: The relay sends it right after connecting, so this only catches a peer
#: that is not the relay.
ENVIRONMENT_TIMEOUT_S = 5.0
#: Seconds Asterisk may take to reply to SET VARIABLE; it took under 1 ms on
#: loopback (Asterisk 22.10.1), so this only catches a hung channel.
COMMAND_TIMEOUT_S = 5.0
#: Seconds a prompt may play before the call stops waiting for its reply.
#: The shipped prompts last 3-5 s.
PROMPT_TIMEOUT_S = 30.0
#: How often the policy's clocks are checked when no audio arrives.
TICK_INTERVAL_S = 0.1
#: Seconds without audio after which the gap counts as silence. Asterisk writes no
#: EAGI audio while a channel sends none (a Local channel between sentences, a trunk
#: with silence suppression). The recognizer ends a sentence only on silence it is
#: fed, so the engine fills the gap. 0.2 s is ten 20 ms frames, well above the
#: jitter of a local pipe.
SILENCE_GAP_S = 0.2
#: Maximum silence added per check, so a long gap is filled at about real-time pace.
MAX_SILENCE_FILL_S = 0.5
#: Bytes per second of the 8 kHz, 16-bit EAGI audio.
AUDIO_BYTES_PER_S = 8000 * 2
#: Bytes of 8 kHz audio handed to the recognizer per worker-thread call:
#: 100 ms, the same batch size as the ARI app's five 20 ms frames.
MAX_BYTES_PER_FEED = 1600

#: Builds the engine pipeline for one call from its call id.
PipelineFactory = Callable[[str], CallPipeline]


class RelayGone(Exception):
    """The relay closed the connection or reported a hangup."""


@dataclass(frozen=True)
class EagiSettings:
    """Configuration values of one EAGI call."""

    greeting: str | None
    """Sound name for STREAM FILE, or None for no greeting."""
    reprompt: str | None
    operator_digit: str
    """DTMF digit that ends a prompt and routes to the fallback queue."""
    watch_seconds: float = 0.0
    """Seconds of listening after a routine or urgent decision before routing; 0 routes at once."""


def parse_environment(payload: bytes) -> dict[str, str]:
    """Return the ``agi_*`` variables of an ENVIRONMENT frame by name."""
    environment: dict[str, str] = {}
    for line in payload.decode("utf-8", "replace").splitlines():
        name, separator, value = line.partition(":")
        if separator:
            environment[name.strip()] = value.strip()
    return environment


async def read_frame(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """Read one frame.

    Raises:
        RelayGone: the connection ended.
        ProtocolError: the header is not valid.
    """
    try:
        header = await reader.readexactly(HEADER.size)
        frame_type, length = HEADER.unpack(header)
        if length > MAX_PAYLOAD:
            raise ProtocolError(f"frame length {length} exceeds MAX_PAYLOAD ({MAX_PAYLOAD})")
        payload = await reader.readexactly(length)
    except (asyncio.IncompleteReadError, ConnectionError) as exc:
        raise RelayGone("the relay closed the connection") from exc
    return frame_type, payload


class EagiCall:
    """Runs one relay connection to its end; see the module docstring."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        settings: EagiSettings,
        pipeline_factory: PipelineFactory,
        executor: Executor,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self.settings = settings
        self._pipeline_factory = pipeline_factory
        self._executor = executor
        self.call_id = ""
        self.environment: dict[str, str] = {}
        self.decision: Decision | None = None
        self.outcome = "hung_up"
        self._pipeline: CallPipeline | None = None
        self._audio: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._reply: asyncio.Future[AgiReply] | None = None
        self._command_lock = asyncio.Lock()
        # The pipeline is not thread-safe: a digit must not reach it while a feed decodes.
        self._pipeline_lock = asyncio.Lock()
        self._gone = asyncio.Event()
        self._reprompt_task: asyncio.Task[None] | None = None
        self._reader_task: asyncio.Task[None] | None = None
        # A routine or urgent decision held back while the call listens for red flags.
        self._held: Decision | None = None
        self._held_until = 0.0
        # When the audio that reached the recognizer ends, real or filled with silence.
        self._audio_until: float | None = None
        # True once the stopping engine sent the caller to the dialplan's fallback.
        self._handed_over = False
        self._log = log

    async def run(self) -> None:
        """Serve the call until EXIT was sent or the relay is gone.

        Errors are logged and end with the fallback reason set for the dialplan.
        """
        try:
            async with asyncio.timeout(ENVIRONMENT_TIMEOUT_S):
                frame_type, payload = await read_frame(self._reader)
            if frame_type != FRAME_ENVIRONMENT:
                raise ProtocolError(f"the first frame has type 0x{frame_type:02x}; expected ENVIRONMENT")
            self.environment = parse_environment(payload)
            # The same id as the ARI app's: the channel's unique id with dots replaced.
            self.call_id = self.environment.get("agi_uniqueid", "").replace(".", "-")
            self._log = log.bind(call_id=self.call_id)
            structlog.contextvars.bind_contextvars(call_id=self.call_id)
            self._start_reader()
            await self._serve()
        except RelayGone:
            self._log.info("eagi.call.relay_gone")
        except (TimeoutError, ProtocolError, AgiReplyError) as exc:
            self.outcome = "failed"
            self._log.error("eagi.call.failed", error=str(exc) or type(exc).__name__)
            await self._give_up("app error")
        except Exception as exc:
            # A bug or a broken recognizer must not strand the caller: the dialplan falls back.
            self.outcome = "failed"
            self._log.error("eagi.call.failed", error=repr(exc), exc_info=exc)
            await self._give_up("app error")
        finally:
            if self._reader_task is not None:
                self._reader_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._reader_task
            await self._close()

    def _start_reader(self) -> None:
        if self._reader_task is None:
            self._reader_task = asyncio.get_running_loop().create_task(self._read_frames())

    async def _serve(self) -> None:
        loop = asyncio.get_running_loop()
        # A new Vosk recognizer took 80-130 ms: keep it off the event loop.
        self._pipeline = await loop.run_in_executor(
            self._executor, contextvars.copy_context().run, self._pipeline_factory, self.call_id
        )
        self._log.info("eagi.call.started", channel=self.environment.get("agi_channel", ""))
        if self.settings.greeting and await self._play(self.settings.greeting):
            return  # The caller pressed the operator digit during the greeting.
        self._pipeline.start(time.monotonic())
        await self._decode_loop()
        if self._reprompt_task is not None:
            # A digit pressed during the reprompt may still be setting the variables.
            await self._reprompt_task

    async def _decode_loop(self) -> None:
        assert self._pipeline is not None
        while self.decision is None:
            try:
                async with asyncio.timeout(TICK_INTERVAL_S):
                    chunk = await self._audio.get()
            except TimeoutError:
                filled = await self._fill_silence()
                if filled:
                    await self._apply(filled)
                if self._held is not None:
                    await self._release_held()
                    continue
                async with self._pipeline_lock:
                    ticked = self._pipeline.tick(time.monotonic())
                await self._apply(ticked)
                continue
            if chunk is None:
                raise RelayGone("the call ended")
            batch = [chunk]
            size = len(chunk)
            while size < MAX_BYTES_PER_FEED and not self._audio.empty():
                more = self._audio.get_nowait()
                if more is None:
                    self._audio.put_nowait(None)
                    break
                batch.append(more)
                size += len(more)
            self._audio_until = time.monotonic()
            await self._apply(await self._decode(b"".join(batch)))
            await self._release_held()

    async def _decode(self, pcm: bytes) -> list[Action]:
        """Feed ``pcm`` in a worker thread: to the policy, or to the red-flag watch while held."""
        assert self._pipeline is not None
        step = self._pipeline.feed if self._held is None else self._pipeline.watch
        async with self._pipeline_lock:
            return await asyncio.get_running_loop().run_in_executor(
                self._executor, contextvars.copy_context().run, step, pcm, time.monotonic()
            )

    async def _fill_silence(self) -> list[Action]:
        """Give the recognizer the silence of an audio gap, so the caller's last words end."""
        if self._audio_until is None:
            return []  # No audio yet, so there are no words for a pause to end.
        gap = time.monotonic() - self._audio_until
        if gap < SILENCE_GAP_S:
            return []
        seconds = min(gap, MAX_SILENCE_FILL_S)
        self._audio_until += seconds
        return await self._decode(bytes(int(seconds * AUDIO_BYTES_PER_S) // 2 * 2))

    async def _release_held(self) -> None:
        """Route the held decision once its watch time is over."""
        if self._held is not None and time.monotonic() >= self._held_until:
            await self._route(self._held)

    async def _apply(self, actions: list[Action]) -> None:
        for action in actions:
            if isinstance(action, Decision) and self._held is not None:
                # The watch heard an emergency red flag: it replaces the held decision.
                self._log.warning("eagi.call.escalated", held_queue=self._held.queue, reason=action.reason)
                await self._route(action)
                return
            if isinstance(action, Decision):
                if action.urgency != "emergency" and self.settings.watch_seconds > 0:
                    self._held = action
                    self._held_until = time.monotonic() + self.settings.watch_seconds
                    return
                await self._route(action)
                return
            if isinstance(action, Reprompt) and self.settings.reprompt and self._reprompt_task is None:
                self._reprompt_task = asyncio.get_running_loop().create_task(
                    self._play_reprompt(self.settings.reprompt)
                )

    async def _play_reprompt(self, sound: str) -> None:
        with contextlib.suppress(RelayGone, TimeoutError):
            await self._play(sound)

    async def _play(self, sound: str) -> bool:
        """Play ``sound``; return True when the caller pressed the operator digit (now routed)."""
        reply = await self.command(stream_file(sound, self.settings.operator_digit), PROMPT_TIMEOUT_S)
        if reply.code != 200 or reply.result == -1:
            self._log.warning("eagi.prompt.failed", sound=sound, reply=reply.text)
            return False
        digit = reply.digit()
        if digit is None or self._pipeline is None or self.decision is not None:
            return False
        async with self._pipeline_lock:
            actions = self._pipeline.dtmf(digit, time.monotonic())
        decisions = [action for action in actions if isinstance(action, Decision)]
        if not decisions:
            return False
        await self._route(decisions[0])
        return True

    async def hand_over(self, reason: str) -> None:
        """Send a caller still undecided to the dialplan's fallback now, with ``reason``.

        The engine calls it when it stops, so the caller reaches a human at
        once instead of waiting for the connection to drop.
        """
        if self.decision is not None or self._gone.is_set() or self._handed_over:
            return
        self._handed_over = True
        self.outcome = "handed_over"
        self._log.warning("eagi.call.handed_over", reason=reason)
        await self._give_up(reason)

    async def _route(self, decision: Decision) -> None:
        """Set the routing variables on the caller and tell the relay to exit."""
        if self.decision is not None or self._handed_over:
            return
        self.decision = decision
        for name, value in routing_variables(decision, self.call_id).items():
            reply = await self.command(set_variable(name, value), COMMAND_TIMEOUT_S)
            if not reply.ok:
                self._log.error("eagi.route.set_variable_failed", variable=name, reply=reply.text)
        await self._send(FRAME_EXIT)
        self.outcome = "routed"

    async def _give_up(self, reason: str) -> None:
        """Leave the caller to the dialplan's fallback, with ``reason`` in CAREROUTE_REASON."""
        if self._gone.is_set() or self.decision is not None:
            return
        # The replies come through the frame reader, which a failure may have preceded.
        self._start_reader()
        with contextlib.suppress(RelayGone, TimeoutError, ConnectionError):
            await self.command(set_variable("CAREROUTE_REASON", reason), COMMAND_TIMEOUT_S)
            await self._send(FRAME_EXIT)

    async def command(self, line: str, timeout_s: float) -> AgiReply:
        """Send one AGI command through the relay and return Asterisk's parsed reply.

        Commands run one at a time, as AGI requires.

        Raises:
            RelayGone: the relay disconnected before the reply came.
            TimeoutError: no reply within ``timeout_s``.
            AgiReplyError: the reply has no status code.
        """
        async with self._command_lock:
            if self._gone.is_set():
                raise RelayGone("the relay is gone")
            self._reply = asyncio.get_running_loop().create_future()
            await self._send(FRAME_COMMAND, line.encode("utf-8"))
            try:
                async with asyncio.timeout(timeout_s):
                    return await self._reply
            finally:
                self._reply = None

    async def _send(self, frame_type: int, payload: bytes = b"") -> None:
        try:
            self._writer.write(encode_frame(frame_type, payload))
            await self._writer.drain()
        except ConnectionError as exc:
            raise RelayGone("the relay closed the connection") from exc

    async def _read_frames(self) -> None:
        """Dispatch the relay's frames: audio to the decoder, replies to the waiting command."""
        try:
            while True:
                frame_type, payload = await read_frame(self._reader)
                if frame_type == FRAME_AUDIO:
                    self._audio.put_nowait(payload)
                elif frame_type == FRAME_REPLY:
                    self._deliver_reply(payload)
                elif frame_type == FRAME_HANGUP:
                    break
                else:
                    raise ProtocolError(f"the relay sent frame type 0x{frame_type:02x} during the call")
        except (RelayGone, ProtocolError) as exc:
            self._log.info("eagi.call.relay_closed", detail=str(exc))
        self._gone.set()
        self._audio.put_nowait(None)
        if self._reply is not None and not self._reply.done():
            self._reply.set_exception(RelayGone("the call ended before Asterisk replied"))

    def _deliver_reply(self, payload: bytes) -> None:
        text = payload.decode("utf-8", "replace")
        if self._reply is None or self._reply.done():
            self._log.warning("eagi.reply.unexpected", reply=text)
            return
        try:
            self._reply.set_result(parse_agi_reply(text))
        except AgiReplyError as exc:
            self._reply.set_exception(exc)

    async def _close(self) -> None:
        if self._reprompt_task is not None and not self._reprompt_task.done():
            self._reprompt_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reprompt_task
        self._writer.close()
        with contextlib.suppress(ConnectionError):
            await self._writer.wait_closed()
        pipeline = self._pipeline
        if pipeline is not None:
            # It waits for a decode still running in a worker thread, so not on the loop.
            await asyncio.shield(asyncio.get_running_loop().run_in_executor(self._executor, pipeline.release))
        self._log_summary()

    def _log_summary(self) -> None:
        fields: dict[str, Any] = self._pipeline.trace.log_fields() if self._pipeline is not None else {}
        fields.pop("call_id", None)
        decision = self.decision
        fields.update(
            outcome=self.outcome,
            queue=decision.queue if decision else None,
            urgency=decision.urgency if decision else None,
            priority=decision.priority if decision else None,
            trigger=decision.trigger if decision else None,
        )
        self._log.info("eagi.call.summary", **fields)
