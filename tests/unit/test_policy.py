"""Unit tests for careroute.policy: one table row or test per routing rule."""

from __future__ import annotations

import dataclasses

import pytest

from careroute.config import PrioritiesConfig, RoutingConfig
from careroute.policy import (
    CallLifecycle,
    CallState,
    Decision,
    IllegalTransitionError,
    Reprompt,
    RoutingPolicy,
    Trigger,
)
from careroute.scores import UNDECIDED, RedFlagHit, Scores

CONFIG = RoutingConfig(
    queue_threshold=0.7,
    stable_partials=2,
    final_threshold=0.45,
    no_speech_timeout=5.0,
    reprompt_delay_seconds=1.5,
    max_listen_seconds=20.0,
)


def scores(
    queue: str | None,
    confidence: float,
    urgency: str = "routine",
    *,
    red_flags: tuple[RedFlagHit, ...] = (),
    undecided: bool = False,
) -> Scores:
    return Scores(
        queue=queue,
        queue_confidence=confidence,
        urgency=urgency,
        urgency_confidence=0.9,
        red_flags=red_flags,
        undecided=undecided,
    )


CHEST_PAIN = RedFlagHit(category="chest_pain", urgency="emergency", phrase="chest pain", reason="chest pain")
HIGH_FEVER = RedFlagHit(category="fever", urgency="urgent", phrase="high fever", reason="high fever")


def started(config: RoutingConfig = CONFIG) -> RoutingPolicy:
    policy = RoutingPolicy(config)
    policy.start(0.0)
    return policy


def run_partials(policy: RoutingPolicy, sequence: list[Scores]) -> list[object]:
    return [policy.observe(item, final=False, now=1.0 + i) for i, item in enumerate(sequence)]


# Each row: partial scores in order, then the index of the partial that decides
# (None: no decision) and the queue it routes to.
PARTIAL_CASES = [
    pytest.param([scores("refill", 0.9), scores("refill", 0.9)], 1, "refill", id="two-stable-partials"),
    pytest.param([scores("refill", 0.9)], None, None, id="one-partial-not-enough"),
    pytest.param([scores("refill", 0.9), scores("billing", 0.9)], None, None, id="top-queue-changed"),
    pytest.param(
        [scores("refill", 0.9), scores("billing", 0.9), scores("billing", 0.9)], 2, "billing",
        id="new-streak-decides",
    ),
    pytest.param([scores("refill", 0.5), scores("refill", 0.69)], None, None, id="below-threshold"),
    pytest.param([scores("refill", 0.5), scores("refill", 0.7)], 1, "refill", id="threshold-inclusive"),
    pytest.param(
        [scores("refill", 0.9), UNDECIDED, scores("refill", 0.9)], 2, "refill",
        id="undecided-does-not-reset",
    ),
    pytest.param([UNDECIDED, UNDECIDED, UNDECIDED], None, None, id="undecided-never-decides"),
    pytest.param(
        [scores("refill", 0.9, undecided=True), scores("refill", 0.9, undecided=True)], None, None,
        id="undecided-flag-with-queue",
    ),
]


@pytest.mark.parametrize(("sequence", "deciding_index", "queue"), PARTIAL_CASES)
def test_policy_partials(sequence: list[Scores], deciding_index: int | None, queue: str | None) -> None:
    actions = run_partials(started(), sequence)
    decisions = [(i, action) for i, action in enumerate(actions) if isinstance(action, Decision)]
    if deciding_index is None:
        assert decisions == []
        return
    assert len(decisions) == 1
    index, decision = decisions[0]
    assert index == deciding_index
    assert decision.queue == queue
    assert decision.trigger is Trigger.STABLE_PARTIALS


def test_policy_stable_decision_fields() -> None:
    policy = started()
    run_partials(policy, [scores("scheduling", 0.8, "urgent")])
    decision = policy.observe(scores("scheduling", 0.85, "urgent"), final=False, now=2.5)
    assert decision == Decision(
        queue="scheduling",
        urgency="urgent",
        confidence=0.85,
        reason="classifier:scheduling",
        priority=5,
        trigger=Trigger.STABLE_PARTIALS,
        decided_at=2.5,
    )


def test_policy_stable_partials_one_decides_at_once() -> None:
    policy = started(RoutingConfig(stable_partials=1))
    decision = policy.observe(scores("billing", 0.9), final=False, now=1.0)
    assert isinstance(decision, Decision)
    assert decision.queue == "billing"


def test_policy_emergency_red_flag_decides_at_once() -> None:
    policy = started()
    decision = policy.observe(scores("billing", 0.3, "emergency", red_flags=(CHEST_PAIN,)), final=False, now=1.2)
    assert isinstance(decision, Decision)
    assert decision.queue == "nurse"
    assert decision.urgency == "emergency"
    assert decision.priority == 10
    assert decision.reason == "chest pain"
    assert decision.trigger is Trigger.RED_FLAG
    assert decision.decided_at == 1.2


def test_policy_emergency_red_flag_on_undecided_scores() -> None:
    flagged = Scores(queue=None, queue_confidence=0.0, urgency="emergency", urgency_confidence=1.0,
                     red_flags=(CHEST_PAIN,), undecided=True)
    decision = started().observe(flagged, final=False, now=1.0)
    assert isinstance(decision, Decision)
    assert decision.queue == "nurse"


def test_policy_emergency_goes_to_configured_target() -> None:
    policy = started(RoutingConfig(emergency_queue="oncall"))
    decision = policy.observe(scores("refill", 0.9, red_flags=(CHEST_PAIN,)), final=False, now=1.0)
    assert isinstance(decision, Decision)
    assert decision.queue == "oncall"


def test_policy_model_emergency_needs_stable_partials() -> None:
    policy = started()
    first = policy.observe(scores("nurse", 0.4, "emergency"), final=False, now=1.0, words=6)
    decision = policy.observe(scores("nurse", 0.4, "emergency"), final=False, now=1.2, words=7)
    assert first is None
    assert isinstance(decision, Decision)
    assert decision.trigger is Trigger.EMERGENCY
    assert decision.queue == "nurse"
    assert decision.priority == 10
    assert decision.confidence == 0.9


def test_policy_model_emergency_at_final_decides() -> None:
    decision = started().observe(scores("nurse", 0.4, "emergency"), final=True, now=1.0, words=6)
    assert isinstance(decision, Decision)
    assert decision.trigger is Trigger.EMERGENCY


def test_policy_model_emergency_ignores_short_text() -> None:
    policy = started()
    for index in range(4):
        decision = policy.observe(scores("nurse", 0.4, "emergency"), final=False, now=1.0 + index, words=2)
        assert not (isinstance(decision, Decision) and decision.urgency == "emergency")


def test_policy_model_emergency_ignores_low_confidence() -> None:
    policy = started()
    weak = Scores(queue="nurse", queue_confidence=0.4, urgency="emergency", urgency_confidence=0.6)
    for index in range(4):
        decision = policy.observe(weak, final=False, now=1.0 + index, words=8)
        assert not (isinstance(decision, Decision) and decision.urgency == "emergency")


def test_policy_model_emergency_streak_resets() -> None:
    policy = started()
    policy.observe(scores("nurse", 0.4, "emergency"), final=False, now=1.0, words=6)
    policy.observe(scores("nurse", 0.4, "routine"), final=False, now=1.2, words=7)
    decision = policy.observe(scores("nurse", 0.4, "emergency"), final=False, now=1.4, words=8)
    assert decision is None


def test_policy_model_emergency_on_undecided_waits() -> None:
    undecided_emergency = scores(None, 0.0, "emergency", undecided=True)
    assert started().observe(undecided_emergency, final=False, now=1.0) is None


def test_policy_urgent_red_flag_keeps_classifier_queue() -> None:
    decision = started().observe(scores("scheduling", 0.3, "urgent", red_flags=(HIGH_FEVER,)), final=False, now=1.0)
    assert isinstance(decision, Decision)
    assert decision.queue == "scheduling"
    assert decision.urgency == "urgent"
    assert decision.priority == 5
    assert decision.reason == "high fever"


def test_policy_urgent_red_flag_without_queue() -> None:
    flagged = Scores(queue=None, queue_confidence=0.0, urgency="urgent", urgency_confidence=1.0,
                     red_flags=(HIGH_FEVER,), undecided=True)
    decision = started().observe(flagged, final=False, now=1.0)
    assert isinstance(decision, Decision)
    assert decision.queue == "nurse"


FINAL_CASES = [
    pytest.param(scores("billing", 0.5), "billing", Trigger.FINAL, id="above-final-threshold"),
    pytest.param(scores("billing", 0.45), "billing", Trigger.FINAL, id="final-threshold-inclusive"),
    pytest.param(scores("billing", 0.44), "front_desk", Trigger.FINAL_LOW_CONFIDENCE, id="below-final-threshold"),
    pytest.param(scores("refill", 0.9, red_flags=(CHEST_PAIN,)), "nurse", Trigger.RED_FLAG, id="red-flag-final"),
]


@pytest.mark.parametrize(("final_scores", "queue", "trigger"), FINAL_CASES)
def test_policy_final(final_scores: Scores, queue: str, trigger: Trigger) -> None:
    decision = started().observe(final_scores, final=True, now=3.0)
    assert isinstance(decision, Decision)
    assert decision.queue == queue
    assert decision.trigger is trigger


def test_policy_undecided_final_requests_reprompt_after_delay() -> None:
    policy = started()
    assert policy.observe(UNDECIDED, final=True, now=2.0) is None
    assert policy.tick(3.4) is None
    assert policy.tick(3.5) == Reprompt(requested_at=3.5)
    assert not policy.decided


def test_policy_speech_cancels_delayed_reprompt() -> None:
    policy = started()
    policy.observe(UNDECIDED, final=True, now=2.0)
    # The caller said "um", paused, and goes on talking.
    assert policy.observe(UNDECIDED, final=False, now=3.0) is None
    assert policy.tick(3.5) is None
    assert policy.tick(4.9) is None


def test_policy_zero_delay_reprompts_at_once() -> None:
    policy = started(dataclasses.replace(CONFIG, reprompt_delay_seconds=0.0))
    assert policy.observe(UNDECIDED, final=True, now=2.0) == Reprompt(requested_at=2.0)


def test_policy_undecided_final_after_reprompt_falls_back() -> None:
    policy = started()
    policy.observe(UNDECIDED, final=True, now=2.0)
    assert isinstance(policy.tick(3.5), Reprompt)
    policy.observe(UNDECIDED, final=False, now=4.0)
    decision = policy.observe(UNDECIDED, final=True, now=5.0)
    assert isinstance(decision, Decision)
    assert decision.queue == "front_desk"
    assert decision.trigger is Trigger.FINAL_LOW_CONFIDENCE


def test_policy_undecided_final_then_silence_falls_back() -> None:
    policy = started()
    policy.observe(UNDECIDED, final=True, now=2.0)
    assert isinstance(policy.tick(3.5), Reprompt)
    assert policy.tick(8.4) is None
    decision = policy.tick(8.5)
    assert isinstance(decision, Decision)
    assert decision.trigger is Trigger.NO_SPEECH


def test_policy_undecided_final_then_refill_routes() -> None:
    policy = started()
    policy.observe(UNDECIDED, final=True, now=2.0)
    decision = policy.observe(scores("refill", 0.6), final=True, now=5.0)
    assert isinstance(decision, Decision)
    assert decision.queue == "refill"


def test_policy_final_low_confidence_keeps_urgency() -> None:
    decision = started().observe(scores("billing", 0.1, "urgent"), final=True, now=3.0)
    assert isinstance(decision, Decision)
    assert decision.queue == "front_desk"
    assert decision.urgency == "urgent"
    assert decision.priority == 5


def test_policy_fallback_queue_configurable() -> None:
    decision = started(RoutingConfig(fallback_queue="reception")).observe(scores("billing", 0.1), final=True, now=1.0)
    assert isinstance(decision, Decision)
    assert decision.queue == "reception"


def test_policy_silence_reprompt_then_fallback() -> None:
    policy = started()
    assert policy.tick(4.9) is None
    assert policy.tick(5.0) == Reprompt(requested_at=5.0)
    assert policy.tick(9.9) is None
    decision = policy.tick(10.0)
    assert isinstance(decision, Decision)
    assert decision.queue == "front_desk"
    assert decision.trigger is Trigger.NO_SPEECH
    assert decision.priority == 0
    assert decision.confidence == 0.0


def test_policy_speech_after_reprompt_stops_timer() -> None:
    policy = started()
    assert isinstance(policy.tick(5.0), Reprompt)
    assert policy.observe(UNDECIDED, final=False, now=6.0) is None
    assert policy.tick(12.0) is None


def test_policy_speech_cancels_reprompt() -> None:
    policy = started()
    policy.observe(UNDECIDED, final=False, now=1.0)
    assert policy.tick(7.0) is None


def test_policy_max_listen_routes_to_fallback() -> None:
    policy = started()
    policy.observe(scores("refill", 0.5), final=False, now=1.0)
    assert policy.tick(19.9) is None
    decision = policy.tick(20.0)
    assert isinstance(decision, Decision)
    assert decision.queue == "front_desk"
    assert decision.trigger is Trigger.MAX_LISTEN


def test_policy_max_listen_checked_on_partial() -> None:
    policy = started()
    decision = policy.observe(scores("refill", 0.5), final=False, now=21.0)
    assert isinstance(decision, Decision)
    assert decision.trigger is Trigger.MAX_LISTEN


def test_policy_red_flag_beats_max_listen() -> None:
    decision = started().observe(scores("refill", 0.5, red_flags=(CHEST_PAIN,)), final=False, now=25.0)
    assert isinstance(decision, Decision)
    assert decision.trigger is Trigger.RED_FLAG


def test_policy_timers_wait_for_start() -> None:
    assert RoutingPolicy(CONFIG).tick(100.0) is None


def test_policy_operator_digit_routes_at_once() -> None:
    policy = started()
    decision = policy.dtmf("0", now=2.0)
    assert isinstance(decision, Decision)
    assert decision.queue == "front_desk"
    assert decision.trigger is Trigger.OPERATOR_DIGIT
    assert decision.decided_at == 2.0


def test_policy_other_digits_ignored() -> None:
    policy = started()
    for digit in "123456789*#":
        assert policy.dtmf(digit, now=1.0) is None
    assert not policy.decided


def test_policy_operator_digit_configurable() -> None:
    policy = started(RoutingConfig(operator_digit="9"))
    assert policy.dtmf("0", now=1.0) is None
    assert isinstance(policy.dtmf("9", now=1.0), Decision)


def test_policy_inputs_after_decision_ignored() -> None:
    policy = started()
    first = policy.dtmf("0", now=1.0)
    assert policy.observe(scores("refill", 0.9, red_flags=(CHEST_PAIN,)), final=False, now=2.0) is None
    assert policy.observe(scores("refill", 0.9), final=True, now=2.0) is None
    assert policy.tick(100.0) is None
    assert policy.dtmf("0", now=3.0) is None
    assert policy.decision == first


def test_policy_custom_priorities() -> None:
    config = RoutingConfig(priorities=PrioritiesConfig(emergency=99, urgent=50, routine=1))
    decision = started(config).observe(scores("refill", 0.9, red_flags=(CHEST_PAIN,)), final=False, now=1.0)
    assert isinstance(decision, Decision)
    assert decision.priority == 99


def test_policy_deterministic() -> None:
    sequence = [UNDECIDED, scores("refill", 0.6), scores("refill", 0.8), scores("refill", 0.9)]
    assert run_partials(started(), sequence) == run_partials(started(), sequence)


HAPPY_PATH = [
    CallState.ANSWERED,
    CallState.LISTENING,
    CallState.REPROMPTING,
    CallState.LISTENING,
    CallState.DECIDED,
    CallState.ROUTED,
    CallState.FINISHED,
]


def test_lifecycle_happy_path() -> None:
    lifecycle = CallLifecycle()
    for state in HAPPY_PATH:
        lifecycle.advance(state)
        assert lifecycle.state is state
    assert lifecycle.terminal


@pytest.mark.parametrize(
    "path",
    [
        pytest.param([CallState.HUNG_UP, CallState.FINISHED], id="hangup-while-new"),
        pytest.param([CallState.ANSWERED, CallState.LISTENING, CallState.HUNG_UP, CallState.FINISHED], id="hangup-mid-utterance"),
        pytest.param([CallState.ANSWERED, CallState.LISTENING, CallState.DECIDED, CallState.HUNG_UP], id="hangup-during-continue"),
        pytest.param([CallState.ANSWERED, CallState.DECIDED], id="media-failed"),
    ],
)
def test_lifecycle_allowed_paths(path: list[CallState]) -> None:
    lifecycle = CallLifecycle()
    for state in path:
        lifecycle.advance(state)
    assert lifecycle.state is path[-1]


@pytest.mark.parametrize(
    ("path", "illegal"),
    [
        pytest.param([], CallState.ROUTED, id="routed-before-decision"),
        pytest.param([CallState.HUNG_UP, CallState.FINISHED], CallState.HUNG_UP, id="finalised-twice"),
        pytest.param([CallState.ANSWERED, CallState.LISTENING, CallState.DECIDED], CallState.LISTENING, id="listen-after-decision"),
        pytest.param([CallState.ANSWERED, CallState.LISTENING, CallState.DECIDED, CallState.ROUTED], CallState.HUNG_UP, id="hangup-after-routed"),
    ],
)
def test_lifecycle_illegal_transition(path: list[CallState], illegal: CallState) -> None:
    lifecycle = CallLifecycle()
    for state in path:
        lifecycle.advance(state)
    before = lifecycle.state
    with pytest.raises(IllegalTransitionError, match=f"from '{before.value}' to '{illegal.value}'") as caught:
        lifecycle.advance(illegal)
    assert caught.value.current is before
    assert caught.value.target is illegal
    assert lifecycle.state is before


# -- escalation after routing ---------------------------------------------------


def routed_to_refill() -> RoutingPolicy:
    policy = started()
    run_partials(policy, [scores("refill", 0.9), scores("refill", 0.9)])
    assert policy.decision is not None
    return policy


def test_escalation_red_flag_after_routine_decision() -> None:
    policy = routed_to_refill()
    escalated = policy.escalation(scores("refill", 0.9, red_flags=(CHEST_PAIN,)), now=9.0)
    assert escalated is not None
    assert escalated.queue == "nurse"
    assert escalated.urgency == "emergency"
    assert escalated.priority == CONFIG.priorities.emergency
    assert escalated.trigger is Trigger.ESCALATION
    assert escalated.reason == "chest pain"


def test_escalation_ignores_benign_text() -> None:
    policy = routed_to_refill()
    assert policy.escalation(scores("refill", 0.9), now=9.0) is None


def test_escalation_ignores_urgent_red_flag() -> None:
    policy = routed_to_refill()
    assert policy.escalation(scores("nurse", 0.9, red_flags=(HIGH_FEVER,)), now=9.0) is None


def test_escalation_happens_once() -> None:
    policy = routed_to_refill()
    first = policy.escalation(scores("refill", 0.9, red_flags=(CHEST_PAIN,)), now=9.0)
    second = policy.escalation(scores("refill", 0.9, red_flags=(CHEST_PAIN,)), now=10.0)
    assert first is not None
    assert second is None


def test_escalation_not_from_emergency_decision() -> None:
    policy = started()
    policy.observe(scores("nurse", 0.9, red_flags=(CHEST_PAIN,)), final=False, now=1.0)
    assert policy.escalation(scores("nurse", 0.9, red_flags=(CHEST_PAIN,)), now=2.0) is None


def test_escalation_needs_a_decision() -> None:
    policy = started()
    assert policy.escalation(scores("refill", 0.9, red_flags=(CHEST_PAIN,)), now=2.0) is None
