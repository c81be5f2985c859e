"""The routing policy: when to stop listening and where to send the caller.

The policy is pure and deterministic. It reads no clock and does no I/O: every
input carries the time it happened (seconds on any monotonic clock), and the
same inputs always give the same actions. One ``RoutingPolicy`` serves one call.

Rules, in the order they are checked:

1. After a decision, every input is ignored.
2. The operator digit (DTMF ``0`` by default) routes to the fallback queue at once.
3. A red flag routes at once: an emergency red flag, or an emergency urgency
   from the model, goes to the emergency queue with the emergency priority.
   An urgent red flag goes to the classifier's queue, or to the
   urgent-red-flag queue when the classifier has none.
4. A partial result routes when the top queue's probability reaches
   ``queue_threshold`` and the same top queue led the last ``stable_partials``
   decided partials. Undecided partials neither count nor reset that streak.
5. A final result routes to its top queue when the probability reaches
   ``final_threshold``, and to the fallback queue otherwise. A final result
   the classifier abstains on (a greeting such as "hello?", a filler word)
   requests the reprompt instead, unless the reprompt was played already.
   The request waits ``reprompt_delay_seconds``, and any speech in that time
   cancels it.
6. Without speech for ``no_speech_timeout`` the policy requests the reprompt;
   without speech for another ``no_speech_timeout`` after it, the policy routes
   to the fallback queue. The reprompt plays at most once per call.
7. ``max_listen_seconds`` after listening started it routes to the fallback queue.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from careroute.config import RoutingConfig
from careroute.errors import CareRouteError
from careroute.scores import Scores


class Trigger(StrEnum):
    """The rule that produced a decision."""

    OPERATOR_DIGIT = "operator_digit"
    RED_FLAG = "red_flag"
    EMERGENCY = "emergency"
    STABLE_PARTIALS = "stable_partials"
    FINAL = "final"
    FINAL_LOW_CONFIDENCE = "final_low_confidence"
    NO_SPEECH = "no_speech"
    MAX_LISTEN = "max_listen"
    ESCALATION = "escalation"
    """An emergency red flag was heard after a routine or urgent decision."""
    MEDIA_FAILURE = "media_failure"
    """The front end could not hear the caller (no RTP, lost media leg, app error)."""
    SHUTDOWN = "shutdown"
    """The service stopped while it was still listening to the caller."""


@dataclass(frozen=True, slots=True)
class Decision:
    """Routing decision: the target queue, its priority and the rule behind it."""

    queue: str
    """Dialplan extension in the queue context."""
    urgency: str
    confidence: float
    """Probability behind the decision; 0.0 for fallbacks that had no scores."""
    reason: str
    """Short reason for ``CAREROUTE_REASON``: a rule name or red-flag reason, never caller text."""
    priority: int
    """``QUEUE_PRIO`` for app_queue."""
    trigger: Trigger
    decided_at: float


@dataclass(frozen=True, slots=True)
class Reprompt:
    """Request to play the reprompt because no speech was heard yet."""

    requested_at: float


Action = Decision | Reprompt


class RoutingPolicy:
    """Routing state of one call.

    Call ``start`` when listening begins, ``observe`` for each classified
    transcript, ``tick`` periodically for the timers, and ``dtmf`` for key
    presses. Each returns the action to take now, or None.
    """

    def __init__(self, config: RoutingConfig) -> None:
        self.config = config
        self.decision: Decision | None = None
        self._listen_started: float | None = None
        # Start of the current wait for speech: listening start, or the last reprompt.
        self._silence_started: float | None = None
        self._heard_speech = False
        self._reprompted = False
        # Due time of the reprompt an unplaced final result requested; speech cancels it.
        self._reprompt_due: float | None = None
        self._streak_queue: str | None = None
        self._streak_length = 0
        # Consecutive partials on which the urgency model alone saw an emergency.
        self._model_emergency_streak = 0

    @property
    def heard_speech(self) -> bool:
        """Return True once the caller spoke since listening started or since the reprompt."""
        return self._heard_speech

    @property
    def decided(self) -> bool:
        """Return True once the call has a decision."""
        return self.decision is not None

    def start(self, now: float) -> None:
        """Start the listening timers at ``now`` (call once, when audio starts flowing)."""
        if self._listen_started is None:
            self._listen_started = now
            self._silence_started = now

    def voice(self, now: float) -> None:
        """Record that the caller is audibly talking, before the recognizer has words.

        Under CPU load the recognizer can fall seconds behind the audio; a
        caller who is talking must not get the reprompt meanwhile.
        """
        if self._listen_started is not None and not self.decided:
            self._heard_speech = True

    def dtmf(self, digit: str, now: float) -> Decision | None:
        """Apply a DTMF digit: the operator digit routes to the fallback queue."""
        if self.decided or digit != self.config.operator_digit:
            return None
        return self._fallback(Trigger.OPERATOR_DIGIT, "caller pressed the operator digit", now)

    def observe(self, scores: Scores, *, final: bool, now: float, words: int | None = None) -> Action | None:
        """Apply the scores of a non-empty partial or final transcript of ``words`` words.

        Any transcript counts as speech for the no-speech timer, even an undecided one.
        ``words`` None means the count is unknown and does not limit the model.
        """
        if self.decided:
            return None
        self.start(now)
        self._heard_speech = True
        self._reprompt_due = None

        self._count_model_emergency(scores, words)
        urgent = self._red_flag_decision(scores, now, final=final)
        if urgent is not None:
            return urgent
        if final:
            return self._final_decision(scores, now)
        if not scores.undecided and scores.queue is not None:
            if scores.queue == self._streak_queue:
                self._streak_length += 1
            else:
                self._streak_queue = scores.queue
                self._streak_length = 1
            if (
                scores.queue_confidence >= self.config.queue_threshold
                and self._streak_length >= self.config.stable_partials
            ):
                return self._route(scores, scores.queue, Trigger.STABLE_PARTIALS, now)
        return self.tick(now)

    def escalation(self, scores: Scores, now: float, words: int | None = None) -> Decision | None:
        """Return an emergency decision that replaces a routine or urgent one.

        After a decision the app may keep listening. When the caller then names
        an emergency red flag, the call moves to the emergency queue with the
        emergency priority. It escalates at most once, and only from a
        decision that was not an emergency already.
        """
        current = self.decision
        if current is None or current.urgency == "emergency" or current.trigger is Trigger.ESCALATION:
            return None
        self._count_model_emergency(scores, words)
        emergency_flag = any(hit.urgency == "emergency" for hit in scores.red_flags)
        model_emergency = self._model_emergency(final=False)
        if not (emergency_flag or model_emergency):
            return None
        return self._decide(
            queue=self.config.emergency_queue,
            urgency="emergency",
            confidence=1.0 if emergency_flag else scores.urgency_confidence,
            reason=scores.reason if emergency_flag else "emergency",
            trigger=Trigger.ESCALATION,
            now=now,
        )

    def tick(self, now: float) -> Action | None:
        """Check the listening timers at ``now``."""
        if self.decided or self._listen_started is None or self._silence_started is None:
            return None
        if self._reprompt_due is not None and now >= self._reprompt_due and not self._reprompted:
            self._reprompt_due = None
            return self._reprompt(now)
        if now - self._listen_started >= self.config.max_listen_seconds:
            return self._fallback(Trigger.MAX_LISTEN, "no decision within the listening time", now)
        if self._heard_speech or now - self._silence_started < self.config.no_speech_timeout:
            return None
        if not self._reprompted:
            return self._reprompt(now)
        return self._fallback(Trigger.NO_SPEECH, "no speech after the reprompt", now)

    def _reprompt(self, now: float) -> Reprompt:
        self._reprompted = True
        self._silence_started = now
        self._heard_speech = False
        return Reprompt(requested_at=now)

    def _count_model_emergency(self, scores: Scores, words: int | None) -> None:
        config = self.config
        credible = (
            scores.urgency == "emergency"
            and not scores.undecided
            and scores.urgency_confidence >= config.model_emergency_threshold
            and (words is None or words >= config.model_emergency_min_words)
        )
        self._model_emergency_streak = self._model_emergency_streak + 1 if credible else 0

    def _model_emergency(self, final: bool) -> bool:
        """Return True when the urgency model's emergency held long enough to act on."""
        needed = 1 if final else self.config.stable_partials
        return self._model_emergency_streak >= needed

    def _red_flag_decision(self, scores: Scores, now: float, *, final: bool = False) -> Decision | None:
        emergency_flag = any(hit.urgency == "emergency" for hit in scores.red_flags)
        model_emergency = self._model_emergency(final)
        if emergency_flag or model_emergency:
            trigger = Trigger.RED_FLAG if emergency_flag else Trigger.EMERGENCY
            return self._decide(
                queue=self.config.emergency_queue,
                urgency="emergency",
                confidence=1.0 if emergency_flag else scores.urgency_confidence,
                reason=scores.reason if emergency_flag else "emergency",
                trigger=trigger,
                now=now,
            )
        if scores.red_flags:
            queue = scores.queue if not scores.undecided and scores.queue else None
            return self._decide(
                queue=queue or self.config.urgent_red_flag_queue,
                urgency="urgent",
                confidence=1.0,
                reason=scores.red_flags[0].reason,
                trigger=Trigger.RED_FLAG,
                now=now,
            )
        return None

    def _final_decision(self, scores: Scores, now: float) -> Action | None:
        if (scores.undecided or scores.queue is None) and not self._reprompted:
            if self.config.reprompt_delay_seconds <= 0:
                return self._reprompt(now)
            self._reprompt_due = now + self.config.reprompt_delay_seconds
            return None
        if (
            not scores.undecided
            and scores.queue is not None
            and scores.queue_confidence >= self.config.final_threshold
        ):
            return self._route(scores, scores.queue, Trigger.FINAL, now)
        return self._decide(
            queue=self.config.fallback_queue,
            urgency=_non_emergency(scores.urgency),
            confidence=scores.queue_confidence,
            reason="low confidence at the end of the sentence",
            trigger=Trigger.FINAL_LOW_CONFIDENCE,
            now=now,
        )

    def _route(self, scores: Scores, queue: str, trigger: Trigger, now: float) -> Decision:
        return self._decide(
            queue=queue,
            urgency=_non_emergency(scores.urgency),
            confidence=scores.queue_confidence,
            reason=scores.reason,
            trigger=trigger,
            now=now,
        )

    def _fallback(self, trigger: Trigger, reason: str, now: float) -> Decision:
        return self._decide(
            queue=self.config.fallback_queue,
            urgency="routine",
            confidence=0.0,
            reason=reason,
            trigger=trigger,
            now=now,
        )

    def _decide(
        self, *, queue: str, urgency: str, confidence: float, reason: str, trigger: Trigger, now: float
    ) -> Decision:
        self.decision = Decision(
            queue=queue,
            urgency=urgency,
            confidence=confidence,
            reason=reason,
            priority=self.config.priorities.for_urgency(urgency),
            trigger=trigger,
            decided_at=now,
        )
        return self.decision


def _non_emergency(urgency: str) -> str:
    # Emergencies are decided by the red-flag rule before any queue rule runs, so
    # a queue decision carries urgent or routine only.
    return urgency if urgency in ("urgent", "routine") else "routine"


class CallState(StrEnum):
    """Lifecycle state of one call inside CareRoute."""

    NEW = "new"
    """StasisStart arrived; the channel may still be ringing."""
    ANSWERED = "answered"
    """The channel is answered and the greeting may be playing; no audio reaches us yet."""
    LISTENING = "listening"
    """Caller audio flows to the recognizer and the policy decides on it."""
    REPROMPTING = "reprompting"
    """The reprompt plays after silence; audio still flows to the recognizer."""
    DECIDED = "decided"
    """The policy decided; variables are being set and the channel continued."""
    ROUTED = "routed"
    """``continue`` succeeded: the caller runs the queue extension in the dialplan."""
    HUNG_UP = "hung_up"
    """The caller left before being routed."""
    FINISHED = "finished"
    """Every channel and bridge we created is gone and the call record is final."""


#: Allowed next states per state. DECIDED is reachable before LISTENING
#: because a failed media set-up sends the caller to the fallback queue.
TRANSITIONS: dict[CallState, frozenset[CallState]] = {
    CallState.NEW: frozenset({CallState.ANSWERED, CallState.DECIDED, CallState.HUNG_UP}),
    CallState.ANSWERED: frozenset({CallState.LISTENING, CallState.DECIDED, CallState.HUNG_UP}),
    CallState.LISTENING: frozenset({CallState.REPROMPTING, CallState.DECIDED, CallState.HUNG_UP}),
    CallState.REPROMPTING: frozenset({CallState.LISTENING, CallState.DECIDED, CallState.HUNG_UP}),
    CallState.DECIDED: frozenset({CallState.ROUTED, CallState.HUNG_UP}),
    CallState.ROUTED: frozenset({CallState.FINISHED}),
    CallState.HUNG_UP: frozenset({CallState.FINISHED}),
    CallState.FINISHED: frozenset(),
}


class IllegalTransitionError(CareRouteError):
    """A call was moved to a state that cannot follow its current state."""

    def __init__(self, current: CallState, target: CallState) -> None:
        allowed = ", ".join(sorted(state.value for state in TRANSITIONS[current])) or "none"
        super().__init__(
            f"call state cannot change from {current.value!r} to {target.value!r} "
            f"(allowed next states: {allowed})"
        )
        self.current = current
        self.target = target


class CallLifecycle:
    """Current state of one call, changed only along ``TRANSITIONS``."""

    def __init__(self) -> None:
        self.state = CallState.NEW

    @property
    def terminal(self) -> bool:
        """Return True in FINISHED, the state with no way out."""
        return self.state is CallState.FINISHED

    def advance(self, target: CallState) -> None:
        """Move to ``target``.

        Raises:
            IllegalTransitionError: ``target`` cannot follow the current state.
        """
        if target not in TRANSITIONS[self.state]:
            raise IllegalTransitionError(self.state, target)
        self.state = target
