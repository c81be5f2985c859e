"""One call's engine: audio -> recognizer -> classifier -> routing policy.

``CallPipeline`` is what every front end drives: the ARI app with RTP
payloads, the EAGI script with file-descriptor audio, and the benchmark with
WAV files at simulated pace. It adds as little as possible on top of Vosk.
The classifier runs only when the cumulative transcript changed, and the
policy is a handful of comparisons.

Times are seconds on one monotonic clock chosen by the caller. ``feed`` uses
the pipeline's clock when no time is passed, so a simulation can pass audio
time instead of wall time.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from careroute.audio import WIDEBAND_RATE_HZ
from careroute.config import RoutingConfig
from careroute.logs import log_transcript
from careroute.policy import Action, Decision, Reprompt, RoutingPolicy
from careroute.recognizer import RecognizerPool, RecognizerUpdate, StreamingRecognizer, run_off_loop
from careroute.scores import Scores

#: RMS of 16-bit samples above which audio counts as the caller talking:
#: about -30 dBFS. Speech in the test recordings peaks at -3 to -9 dBFS, and
#: their line noise sits 18-30 dB below that, so noise alone stays under it.
VOICE_RMS = 1000.0
#: Consecutive loud audio that counts as talking; shorter bursts are clicks.
VOICE_MIN_SECONDS = 0.3
#: Maximum transcripts of one call whose scores ``CallPipeline`` keeps. Vosk
#: revises its partial back and forth ("i need my" -> "i need me" -> "i need
#: my"). Over the 200 dev calls, 271 of 3075 classifications repeated a
#: transcript scored earlier in the same call.
SCORE_CACHE_SIZE = 64


class ScoreSource(Protocol):
    """Anything that scores a transcript, such as ``careroute.classifier.Classifier``."""

    def score(self, text: str) -> Scores:
        """Return queue and urgency scores for ``text``."""
        ...


@dataclass(slots=True)
class CallTrace:
    """Timings and counters of one call, for the routing log line and the benchmark.

    Timestamps are on the pipeline's clock; ``None`` means it has not happened.
    It contains no transcript text, so it can be logged at the default level.
    """

    call_id: str
    started_at: float
    first_audio_at: float | None = None
    first_partial_at: float | None = None
    first_final_at: float | None = None
    decided_at: float | None = None
    decision_audio_seconds: float | None = None
    """Seconds of call audio fed when the decision was made."""
    audio_seconds: float = 0.0
    partials: int = 0
    finals: int = 0
    reprompts: int = 0
    classifications: int = 0
    classifier_seconds: float = 0.0
    """Wall time spent in the classifier."""
    recognizer_seconds: float = 0.0
    """Wall time spent in Vosk, upsampling included."""
    scores: Scores | None = None
    """Scores of the last classified transcript."""
    decision: Decision | None = None
    scores_at_decision: Scores | None = None
    escalation: Decision | None = None
    """The emergency decision that replaced ``decision`` after routing, if any."""
    escalated_at: float | None = None

    def log_fields(self) -> dict[str, Any]:
        """Return the trace as flat log fields: milliseconds since start, no caller text."""

        def since_start(moment: float | None) -> float | None:
            return None if moment is None else round((moment - self.started_at) * 1000, 1)

        fields: dict[str, Any] = {
            "call_id": self.call_id,
            "first_audio_ms": since_start(self.first_audio_at),
            "first_partial_ms": since_start(self.first_partial_at),
            "first_final_ms": since_start(self.first_final_at),
            "decision_ms": since_start(self.decided_at),
            "audio_seconds": round(self.audio_seconds, 3),
            "partials": self.partials,
            "finals": self.finals,
            "reprompts": self.reprompts,
            "classifications": self.classifications,
            "classifier_ms": round(self.classifier_seconds * 1000, 2),
            "recognizer_ms": round(self.recognizer_seconds * 1000, 1),
        }
        scores = self.scores_at_decision or self.scores
        if scores is not None:
            fields["scores_queue"] = scores.queue
            fields["scores_queue_confidence"] = round(scores.queue_confidence, 3)
            fields["scores_urgency"] = scores.urgency
            fields["scores_red_flags"] = [hit.category for hit in scores.red_flags]
        if self.decision is not None:
            fields["queue"] = self.decision.queue
            fields["urgency"] = self.decision.urgency
            fields["priority"] = self.decision.priority
            fields["confidence"] = round(self.decision.confidence, 3)
            fields["rule"] = self.decision.trigger.value
            fields["reason"] = self.decision.reason
        if self.escalation is not None:
            fields["escalated_ms"] = since_start(self.escalated_at)
            fields["escalation_reason"] = self.escalation.reason
        return fields


class CallPipeline:
    """Recognizer, classifier and routing policy of one call.

    Args:
        recognizer: this call's recognizer.
        classifier: any object with ``score(text) -> Scores``; shared between calls.
        policy: this call's routing policy.
        call_id: id for the trace and logs.
        clock: time source for ``feed`` without an explicit time.
        start_on_audio: start the policy's timers at the first audio. A front
            end that wants the no-speech timer to start after the greeting passes
            False and calls ``start`` itself.

    Not thread-safe: drive one pipeline from one thread or task at a time
    (the ``*_async`` methods serialize themselves).
    """

    def __init__(
        self,
        recognizer: StreamingRecognizer,
        classifier: ScoreSource,
        policy: RoutingPolicy,
        *,
        call_id: str = "",
        clock: Callable[[], float] = time.monotonic,
        start_on_audio: bool = True,
    ) -> None:
        self.recognizer = recognizer
        self.classifier = classifier
        self.policy = policy
        self._clock = clock
        self._start_on_audio = start_on_audio
        self.trace = CallTrace(call_id=call_id, started_at=clock())
        # Scores of this call's transcripts by text. The classifier's scores depend on the text alone.
        self._scores_by_text: dict[str, Scores] = {}
        self._pool: RecognizerPool | None = None
        self._released = False
        self._recognizer_lock = threading.Lock()
        # Seconds of consecutive audio louder than VOICE_RMS, for the no-speech timer.
        self._voiced_seconds = 0.0
        self._lock = asyncio.Lock()

    @classmethod
    def create(
        cls,
        model: Any,
        classifier: ScoreSource,
        routing: RoutingConfig,
        *,
        input_rate: int = WIDEBAND_RATE_HZ,
        model_rate: int = WIDEBAND_RATE_HZ,
        call_id: str = "",
        clock: Callable[[], float] = time.monotonic,
        start_on_audio: bool = True,
        pool: RecognizerPool | None = None,
    ) -> CallPipeline:
        """Build a pipeline with a recognizer on the shared ``model``, from ``pool`` if given.

        With a pool, call ``release`` when the call ends so the recognizer is reused.
        """
        recognizer = (
            pool.acquire()
            if pool is not None
            else StreamingRecognizer(model, model_rate, input_rate=input_rate)
        )
        pipeline = cls(
            recognizer,
            classifier,
            RoutingPolicy(routing),
            call_id=call_id,
            clock=clock,
            start_on_audio=start_on_audio,
        )
        pipeline._pool = pool
        return pipeline

    def release(self) -> None:
        """Hand the recognizer back to its pool (reset); later audio is an error.

        Without a pool this only closes the recognizer. Call it once, when the call ends.
        """
        # A feed still running in a worker thread finishes first: the
        # recognizer must not reach another call while it decodes this one.
        with self._recognizer_lock:
            if self._released:
                return
            self._released = True
            self._scores_by_text.clear()
            pool, self._pool = self._pool, None
            if pool is not None:
                pool.release(self.recognizer)
            else:
                self.recognizer.finish()

    @property
    def decision(self) -> Decision | None:
        """Return the decision, once there is one."""
        return self.policy.decision

    @property
    def transcript(self) -> str:
        """Return the cumulative transcript (caller speech: keep it out of default logs)."""
        return self.recognizer.transcript

    def start(self, now: float | None = None) -> None:
        """Start the no-speech and listening timers (later calls change nothing)."""
        self.policy.start(self._clock() if now is None else now)

    def feed(self, pcm: bytes, now: float | None = None) -> list[Action]:
        """Feed 16-bit little-endian PCM at the recognizer's input rate.

        Audio after the decision is ignored, and so is audio after ``release``.
        Returns the actions to take now.
        """
        with self._recognizer_lock:
            return [] if self._released else self._feed_unlocked(pcm, now)

    def watch(self, pcm: bytes, now: float | None = None) -> list[Action]:
        """Keep recognizing after the decision and return an escalation, if any.

        A caller routed as routine or urgent may name an emergency later in the
        same sentence. The front end keeps feeding audio here for a while after
        the decision; an emergency red flag then yields a new emergency
        ``Decision`` (trigger ``escalation``), at most once per call. Before the
        decision this is ``feed``.
        """
        with self._recognizer_lock:
            return [] if self._released else self._watch_unlocked(pcm, now)

    def finish(self, now: float | None = None) -> list[Action]:
        """End the audio: flush the recognizer and apply its last final result.

        Returns the actions from that final result (none when the call already
        had a decision or the recognizer heard no words).
        """
        with self._recognizer_lock:
            return [] if self._released else self._finish_unlocked(now)

    def _feed_unlocked(self, pcm: bytes, now: float | None = None) -> list[Action]:
        if self.policy.decided:
            return []
        moment = self._clock() if now is None else now
        if self.trace.first_audio_at is None:
            self.trace.first_audio_at = moment
        if self._start_on_audio:
            self.policy.start(moment)
        if self.policy.heard_speech:
            # Loudness only matters to the no-speech timer, which speech has stopped already.
            self._voiced_seconds = 0.0
        elif self._voiced_run(pcm) >= VOICE_MIN_SECONDS:
            self.policy.voice(moment)

        began = time.perf_counter()
        update = self.recognizer.accept(pcm)
        self.trace.recognizer_seconds += time.perf_counter() - began
        self.trace.audio_seconds = self.recognizer.audio_seconds

        action = self._apply(update, moment) if update is not None else None
        if action is None:
            action = self.policy.tick(moment)
        # Most frames change nothing: skip building the action list for them.
        return [] if action is None else self._record([action], moment)

    def _voiced_run(self, pcm: bytes) -> float:
        """Return the seconds of consecutive loud audio that end with ``pcm``."""
        samples = np.frombuffer(pcm[: len(pcm) - len(pcm) % 2], dtype="<i2")
        if samples.size == 0:
            return self._voiced_seconds
        # np.mean of float32 squares, spelled out: a float32 sum divided in
        # float64 and rounded back to float32, without np.mean's per-call set-up.
        squares = np.square(samples, dtype=np.float32)
        mean_square = np.float32(float(np.add.reduce(squares)) / samples.size)
        rms = float(np.sqrt(mean_square))
        seconds = samples.size / self.recognizer.input_rate
        self._voiced_seconds = self._voiced_seconds + seconds if rms >= VOICE_RMS else 0.0
        return self._voiced_seconds

    def _watch_unlocked(self, pcm: bytes, now: float | None = None) -> list[Action]:
        if not self.policy.decided:
            return self._feed_unlocked(pcm, now)
        moment = self._clock() if now is None else now
        began = time.perf_counter()
        update = self.recognizer.accept(pcm)
        self.trace.recognizer_seconds += time.perf_counter() - began
        self.trace.audio_seconds = self.recognizer.audio_seconds
        if update is None or not update.text:
            return []
        log_transcript(self.trace.call_id, f"watch-{update.kind}", update.text)
        escalation = self.policy.escalation(
            self._score(update.text), moment, words=len(update.text.split())
        )
        if escalation is None:
            return []
        self.trace.escalation = escalation
        self.trace.escalated_at = moment
        return [escalation]

    def tick(self, now: float) -> list[Action]:
        """Check the timers; call it periodically, also when no audio arrives."""
        return self._record([self.policy.tick(now)], now)

    def dtmf(self, digit: str, now: float) -> list[Action]:
        """Apply a DTMF digit from the caller."""
        return self._record([self.policy.dtmf(digit, now)], now)

    def _finish_unlocked(self, now: float | None = None) -> list[Action]:
        moment = self._clock() if now is None else now
        update = self.recognizer.finish()
        if update is None or self.policy.decided:
            return []
        return self._record([self._apply(update, moment)], moment)

    async def feed_async(
        self, pcm: bytes, now: float | None = None, *, executor: Executor | None = None
    ) -> list[Action]:
        """Run ``feed`` in a worker thread so decoding does not block the event loop."""
        async with self._lock:
            return await run_off_loop(self.feed, pcm, now, executor=executor)

    async def finish_async(
        self, now: float | None = None, *, executor: Executor | None = None
    ) -> list[Action]:
        """Run ``finish`` in a worker thread."""
        async with self._lock:
            return await run_off_loop(self.finish, now, executor=executor)

    def _apply(self, update: RecognizerUpdate, now: float) -> Action | None:
        if update.kind == "partial":
            self.trace.partials += 1
            if self.trace.first_partial_at is None:
                self.trace.first_partial_at = now
        else:
            self.trace.finals += 1
            if self.trace.first_final_at is None:
                self.trace.first_final_at = now

        if not update.text:
            return None
        log_transcript(self.trace.call_id, update.kind, update.text)
        scores = self._score(update.text)
        return self.policy.observe(
            scores, final=update.kind == "final", now=now, words=len(update.text.split())
        )

    def _score(self, text: str) -> Scores:
        # A final result often repeats the last partial word for word, and a
        # partial may return to an earlier text: reuse the scores of both.
        scores = self._scores_by_text.get(text)
        if scores is None:
            began = time.perf_counter()
            scores = self.classifier.score(text)
            self.trace.classifier_seconds += time.perf_counter() - began
            self.trace.classifications += 1
            if len(self._scores_by_text) >= SCORE_CACHE_SIZE:
                del self._scores_by_text[next(iter(self._scores_by_text))]
            self._scores_by_text[text] = scores
        self.trace.scores = scores
        return scores

    def _record(self, actions: list[Action | None], now: float) -> list[Action]:
        pending = [action for action in actions if action is not None]
        for action in pending:
            if isinstance(action, Reprompt):
                self.trace.reprompts += 1
            elif self.trace.decision is None:
                self.trace.decision = action
                self.trace.decided_at = now
                self.trace.decision_audio_seconds = self.recognizer.audio_seconds
                self.trace.scores_at_decision = self.trace.scores
        return pending
