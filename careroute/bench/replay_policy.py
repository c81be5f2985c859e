"""Replay of cached recognizer events through the classifier and the routing policy.

Per call, the replay drives one ``RoutingPolicy`` as ``CallPipeline`` does.
Listening starts at audio time 0, and each event's transcript is scored and
passed to ``observe``. The timers are checked at the end of every 20 ms frame. After the first decision, events within the escalation
window go to ``escalation`` instead, as the ARI app's watch does. A call still
undecided when its audio ends keeps ticking in silence, as a caller who holds
the line, until a timer routes it to the fallback queue.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from careroute.bench.calls import FRAME_SECONDS
from careroute.bench.replay_events import Event
from careroute.config.schema import RoutingConfig
from careroute.policy import Decision, RoutingPolicy
from careroute.scores import Scores

ScoreFunction = Callable[[str], Scores]
#: Tolerance when an event's audio time is compared with a frame end. Both are
#: multiples of 20 ms computed in floating point, so they differ only by rounding.
TIME_EPSILON = 1e-6


class MemoizedScorer:
    """Scores of a classifier, kept by transcript text.

    The classifier's scores depend on the text alone, and the partials of
    different calls and settings repeat, so each text is scored once.
    """

    def __init__(self, score: ScoreFunction) -> None:
        self._score = score
        self._scores: dict[str, Scores] = {}

    def __call__(self, text: str) -> Scores:
        scores = self._scores.get(text)
        if scores is None:
            scores = self._score(text)
            self._scores[text] = scores
        return scores


@dataclass(frozen=True, slots=True)
class ReplayedDecision:
    """Routing result of one call in the replay."""

    queue: str
    urgency: str
    trigger: str
    """Trigger of the final decision (``escalation`` when a red flag moved the caller)."""
    decided_at: float
    """Audio seconds of the first decision, the one that sends the caller to a queue."""
    decided_in_audio: bool
    """False when only a timer in the silence after the audio decided."""
    escalated: bool


def replay_call(
    events: Sequence[Event], score: ScoreFunction, routing: RoutingConfig, audio_seconds: float
) -> ReplayedDecision:
    """Replay one call's ``events`` through a new policy for ``routing``."""
    policy = RoutingPolicy(routing)
    policy.start(0.0)
    first: Decision | None = None
    escalated = False
    pending = list(events)
    next_event = 0

    for now in _frame_ends(audio_seconds):
        while next_event < len(pending) and pending[next_event].seconds <= now + TIME_EPSILON:
            event = pending[next_event]
            next_event += 1
            scores = score(event.text)
            words = len(event.text.split())
            if first is None:
                policy.observe(scores, final=event.kind == "final", now=event.seconds, words=words)
                first = policy.decision
            elif _watching(first, event.seconds, routing) and not escalated:
                escalated = policy.escalation(scores, event.seconds, words) is not None
        if first is None:
            policy.tick(now)
            first = policy.decision

    decided_in_audio = first is not None
    if first is None:
        first = _tick_in_silence(policy, audio_seconds, routing)
    final = policy.decision or first
    return ReplayedDecision(
        queue=final.queue,
        urgency=final.urgency,
        trigger=final.trigger.value,
        decided_at=first.decided_at,
        decided_in_audio=decided_in_audio,
        escalated=escalated,
    )


def _frame_ends(audio_seconds: float) -> list[float]:
    frames = max(1, math.ceil(audio_seconds / FRAME_SECONDS - TIME_EPSILON))
    return [min((index + 1) * FRAME_SECONDS, audio_seconds) for index in range(frames)]


def _watching(first: Decision, now: float, routing: RoutingConfig) -> bool:
    window = routing.escalation_window_seconds
    return window > 0 and first.urgency != "emergency" and now - first.decided_at <= window


def _tick_in_silence(policy: RoutingPolicy, audio_seconds: float, routing: RoutingConfig) -> Decision:
    """Check the timers every frame after the audio until one of them decides.

    ``max_listen_seconds`` always decides, so the loop ends at the latest one
    frame after it.
    """
    last = max(audio_seconds, routing.max_listen_seconds) + FRAME_SECONDS
    now = audio_seconds
    frame = 0
    while now <= last:
        frame += 1
        now = audio_seconds + frame * FRAME_SECONDS
        policy.tick(now)
        if policy.decision is not None:
            return policy.decision
    raise RuntimeError(
        f"no timer decided by {now!r} s although max_listen_seconds is "
        f"{routing.max_listen_seconds!r}; RoutingPolicy.tick must route at max_listen_seconds"
    )


@dataclass(frozen=True, slots=True)
class CallOutcome:
    """A replayed call with its labels."""

    call_id: str
    engine: str
    """Speech synthesizer of the call: the part of its voice before the first colon."""
    expected_queue: str
    expected_urgency: str
    speech_end_s: float
    decision: ReplayedDecision

    @property
    def delay_after_speech(self) -> float | None:
        """Return seconds from the end of speech to the first decision, negative when earlier."""
        if not self.decision.decided_in_audio:
            return None
        return self.decision.decided_at - self.speech_end_s


def figures(outcomes: Sequence[CallOutcome]) -> dict[str, Any]:
    """Return the routing figures of ``outcomes`` as a JSON-ready dict.

    Queue accuracy counts the final queue, after any escalation. Decision
    delays leave out calls that only a timer after the audio decided.
    """
    emergencies = [o for o in outcomes if o.expected_urgency == "emergency"]
    others = [o for o in outcomes if o.expected_urgency != "emergency"]
    delays = sorted(d for d in (o.delay_after_speech for o in outcomes) if d is not None)
    return {
        "calls": len(outcomes),
        "queue_accuracy": _share(o.decision.queue == o.expected_queue for o in outcomes),
        "emergencies_caught": sum(o.decision.urgency == "emergency" for o in emergencies),
        "emergencies": len(emergencies),
        "false_emergencies": sum(o.decision.urgency == "emergency" for o in others),
        "non_emergencies": len(others),
        "undecided_at_audio_end": sum(not o.decision.decided_in_audio for o in outcomes),
        "escalations": sum(o.decision.escalated for o in outcomes),
        "decision_delay_p50_s": _rounded(statistics.median(delays)) if delays else None,
        "decision_delay_p90_s": _rounded(_nearest_rank(delays, 0.90)) if delays else None,
    }


def figures_by_engine(outcomes: Sequence[CallOutcome]) -> dict[str, dict[str, Any]]:
    """Return ``figures`` per synthesizer, in name order."""
    engines = sorted({o.engine for o in outcomes})
    return {engine: figures([o for o in outcomes if o.engine == engine]) for engine in engines}


def _share(hits: Iterable[bool]) -> float | None:
    values = list(hits)
    return round(sum(values) / len(values), 3) if values else None


def _nearest_rank(sorted_values: Sequence[float], fraction: float) -> float:
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]


def _rounded(seconds: float) -> float:
    return round(seconds, 2)
