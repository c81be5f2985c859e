"""Unit tests for careroute.pipeline with real Vosk, synthesized speech and a fake classifier."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from structlog.testing import capture_logs

import careroute.logs
from careroute.audio import SLIN_FRAME_BYTES
from careroute.config import RoutingConfig
from careroute.paths import vosk_model_path
from careroute.pipeline import VOICE_RMS, CallPipeline
from careroute.policy import Decision, Reprompt, RoutingPolicy, Trigger
from careroute.recognizer import RecognizerUpdate, load_vosk_model
from careroute.scores import UNDECIDED, RedFlagHit, Scores
from careroute.speech import read_pcm16, synthesize

FRAME_SECONDS = 0.02
ROUTING = RoutingConfig(no_speech_timeout=3.0, max_listen_seconds=12.0)
CHEST_PAIN = RedFlagHit(category="chest_pain", urgency="emergency", phrase="chest pain", reason="chest pain")


class KeywordClassifier:
    """Fake classifier: fixed scores per keyword, and a log of every text scored."""

    def __init__(self, refill_confidence: float = 0.9) -> None:
        self.refill_confidence = refill_confidence
        self.texts: list[str] = []
        self.threads: set[int] = set()

    def score(self, text: str) -> Scores:
        self.texts.append(text)
        self.threads.add(threading.get_ident())
        if "chest" in text:
            return Scores(queue="nurse", queue_confidence=0.6, urgency="emergency",
                          urgency_confidence=1.0, red_flags=(CHEST_PAIN,))
        if "refill" in text:
            return Scores(queue="refill", queue_confidence=self.refill_confidence,
                          urgency="routine", urgency_confidence=0.9)
        return UNDECIDED


class NeverDecides:
    """Fake classifier that records texts and always abstains."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def score(self, text: str) -> Scores:
        self.texts.append(text)
        return UNDECIDED


@pytest.fixture(scope="module")
def model() -> Any:
    return load_vosk_model(vosk_model_path())


def speech(text: str) -> bytes:
    pcm, rate = read_pcm16(synthesize(text, "piper:joe"))
    assert rate == 8000
    return pcm


def frames(pcm: bytes) -> list[bytes]:
    return [pcm[i : i + SLIN_FRAME_BYTES] for i in range(0, len(pcm), SLIN_FRAME_BYTES)]


def make(model: Any, classifier: Any, routing: RoutingConfig = ROUTING) -> CallPipeline:
    return CallPipeline.create(model, classifier, routing, input_rate=8000, call_id="call-1", clock=lambda: 0.0)


def play(pipeline: CallPipeline, pcm: bytes) -> list[tuple[float, Any]]:
    """Feed 20 ms frames with audio time as the clock; return (time, action) pairs."""
    actions: list[tuple[float, Any]] = []
    chunks = frames(pcm)
    for index, chunk in enumerate(chunks):
        now = (index + 1) * FRAME_SECONDS
        actions += [(now, action) for action in pipeline.feed(chunk, now=now)]
    end = len(chunks) * FRAME_SECONDS
    actions += [(end, action) for action in pipeline.finish(now=end)]
    return actions


def test_pipeline_routes_refill_before_audio_ends(model: Any) -> None:
    pcm = speech("I need a refill of my inhaler, please.")
    pipeline = make(model, KeywordClassifier())
    actions = play(pipeline, pcm)
    assert len(actions) == 1
    moment, decision = actions[0]
    assert isinstance(decision, Decision)
    assert decision.queue == "refill"
    assert decision.trigger is Trigger.STABLE_PARTIALS
    assert moment < len(pcm) / 2 / 8000
    assert pipeline.decision == decision


def test_pipeline_emergency_decides_at_once(model: Any) -> None:
    pcm = speech("My husband has crushing chest pain and can't breathe.")
    pipeline = make(model, KeywordClassifier())
    actions = play(pipeline, pcm)
    decisions = [action for _, action in actions if isinstance(action, Decision)]
    assert len(decisions) == 1
    assert decisions[0].queue == "nurse"
    assert decisions[0].priority == 10
    assert decisions[0].trigger is Trigger.RED_FLAG
    assert pipeline.trace.decision_audio_seconds is not None
    assert pipeline.trace.decision_audio_seconds < len(pcm) / 2 / 8000


def test_pipeline_classifies_only_changed_text(model: Any) -> None:
    classifier = NeverDecides()
    pipeline = make(model, classifier, RoutingConfig(max_listen_seconds=60.0))
    chunks = frames(speech("I have a question about my last statement."))
    play(pipeline, b"".join(chunks))
    assert classifier.texts
    assert len(classifier.texts) < len(chunks) // 5
    assert all(a != b for a, b in zip(classifier.texts, classifier.texts[1:], strict=False))
    assert pipeline.trace.classifications == len(classifier.texts)


def test_pipeline_text_survives_endpoint_reset(model: Any) -> None:
    classifier = NeverDecides()
    pipeline = make(model, classifier, RoutingConfig(max_listen_seconds=60.0))
    first = speech("I have a question about my bill.")
    second = speech("It came in the mail yesterday.")
    actions = play(pipeline, first + bytes(8000 * 2) + second)
    assert [type(action) for _, action in actions] == [Reprompt, Decision]
    assert pipeline.trace.finals == 2
    assert "" not in classifier.texts
    first_final = next(text for text in classifier.texts if "bill" in text)
    after = classifier.texts[classifier.texts.index(first_final) + 1 :]
    assert after
    for text in after:
        assert "bill" in text


def test_pipeline_final_decides_below_partial_threshold(model: Any) -> None:
    pipeline = make(model, KeywordClassifier(refill_confidence=0.5))
    actions = play(pipeline, speech("I need a refill of my inhaler, please."))
    assert len(actions) == 1
    decision = actions[0][1]
    assert isinstance(decision, Decision)
    assert decision.queue == "refill"
    assert decision.trigger is Trigger.FINAL


def test_pipeline_silence_reprompt_then_front_desk(model: Any) -> None:
    pipeline = make(model, KeywordClassifier())
    actions = play(pipeline, bytes(8000 * 2 * 7))
    assert [type(action) for _, action in actions] == [Reprompt, Decision]
    assert actions[0][0] == pytest.approx(3.0 + FRAME_SECONDS)
    decision = actions[1][1]
    assert decision.queue == "front_desk"
    assert decision.trigger is Trigger.NO_SPEECH
    assert actions[1][0] == pytest.approx(6.0 + FRAME_SECONDS)
    assert pipeline.trace.reprompts == 1


def test_pipeline_tick_without_audio(model: Any) -> None:
    pipeline = make(model, KeywordClassifier())
    pipeline.start(now=10.0)
    assert pipeline.tick(12.9) == []
    assert pipeline.tick(13.0) == [Reprompt(requested_at=13.0)]


def test_pipeline_dtmf_zero_stops_listening(model: Any) -> None:
    pipeline = make(model, KeywordClassifier())
    pipeline.feed(bytes(SLIN_FRAME_BYTES), now=0.02)
    actions = pipeline.dtmf("0", now=0.5)
    assert len(actions) == 1
    assert isinstance(actions[0], Decision)
    assert actions[0].queue == "front_desk"
    assert pipeline.feed(bytes(SLIN_FRAME_BYTES), now=0.6) == []
    assert pipeline.trace.decided_at == 0.5


def test_pipeline_trace_timings_ordered(model: Any) -> None:
    pipeline = make(model, KeywordClassifier())
    play(pipeline, speech("I need a refill of my inhaler, please."))
    trace = pipeline.trace
    assert trace.first_audio_at is not None
    assert trace.first_partial_at is not None
    assert trace.decided_at is not None
    assert trace.first_audio_at <= trace.first_partial_at <= trace.decided_at
    assert trace.recognizer_seconds > 0.0
    assert trace.classifier_seconds > 0.0


def test_pipeline_log_fields_hold_no_text(model: Any) -> None:
    pipeline = make(model, KeywordClassifier())
    play(pipeline, speech("I need a refill of my inhaler, please."))
    fields = pipeline.trace.log_fields()
    assert fields["call_id"] == "call-1"
    assert fields["queue"] == "refill"
    assert fields["rule"] == "stable_partials"
    assert fields["decision_ms"] is not None
    rendered = repr(fields)
    for word in pipeline.transcript.split():
        if word not in ("refill",):  # the queue name itself is not caller text
            assert f"'{word}'" not in rendered
    assert "inhaler" not in rendered


@pytest.mark.asyncio
async def test_pipeline_feed_async_runs_off_loop(model: Any) -> None:
    classifier = KeywordClassifier()
    pipeline = make(model, classifier)
    actions = []
    for index, chunk in enumerate(frames(speech("I need a refill of my inhaler, please."))):
        actions += await pipeline.feed_async(chunk, now=index * FRAME_SECONDS)
    actions += await pipeline.finish_async(now=99.0)
    assert len(actions) == 1
    assert classifier.threads
    assert threading.get_ident() not in classifier.threads


def watch_all(pipeline: CallPipeline, pcm: bytes) -> list[Any]:
    """Feed every frame through ``watch``, as the session does after routing."""
    actions: list[Any] = []
    for index, chunk in enumerate(frames(pcm)):
        actions += pipeline.watch(chunk, now=(index + 1) * FRAME_SECONDS)
    return actions


def test_pipeline_watch_escalates_late_red_flag(model: Any) -> None:
    pcm = speech("I need a refill of my inhaler. And my father is having chest pain.")
    pipeline = make(model, KeywordClassifier())
    actions = watch_all(pipeline, pcm)
    decisions = [action for action in actions if isinstance(action, Decision)]
    assert [decision.trigger for decision in decisions] == [Trigger.STABLE_PARTIALS, Trigger.ESCALATION]
    assert decisions[0].queue == "refill"
    assert decisions[1].queue == "nurse"
    assert decisions[1].urgency == "emergency"
    assert pipeline.trace.escalation == decisions[1]
    assert pipeline.trace.log_fields()["escalation_reason"] == "chest pain"


def test_pipeline_watch_quiet_without_red_flag(model: Any) -> None:
    pcm = speech("I need a refill of my inhaler, and I will pick it up on Monday.")
    pipeline = make(model, KeywordClassifier())
    actions = watch_all(pipeline, pcm)
    assert [action.trigger for action in actions if isinstance(action, Decision)] == [Trigger.STABLE_PARTIALS]
    assert pipeline.trace.escalation is None


def tone(seconds: float, amplitude: float) -> bytes:
    """A 440 Hz tone at 8 kHz: loud enough, it stands in for a talking caller."""
    import numpy as np

    t = np.arange(int(seconds * 8000)) / 8000
    return (amplitude * np.sin(2 * np.pi * 440 * t)).astype("<i2").tobytes()


def test_pipeline_loud_audio_holds_reprompt(model: Any) -> None:
    pipeline = make(model, NeverDecides())
    for index, chunk in enumerate(frames(tone(1.0, 8000))):
        pipeline.feed(chunk, now=(index + 1) * FRAME_SECONDS)
    actions = pipeline.tick(now=ROUTING.no_speech_timeout + 0.5)
    assert not any(isinstance(action, Reprompt) for action in actions)


def test_pipeline_quiet_audio_gets_reprompt(model: Any) -> None:
    pipeline = make(model, NeverDecides())
    for index, chunk in enumerate(frames(tone(1.0, 300))):
        pipeline.feed(chunk, now=(index + 1) * FRAME_SECONDS)
    actions = pipeline.tick(now=ROUTING.no_speech_timeout + 0.5)
    assert any(isinstance(action, Reprompt) for action in actions)


def square_wave(seconds: float, amplitude: int) -> bytes:
    """Samples alternating between +amplitude and -amplitude: their RMS is exactly ``amplitude``."""
    import numpy as np

    samples = np.full(int(seconds * 8000), amplitude, dtype="<i2")
    samples[1::2] = -amplitude
    return samples.tobytes()


@pytest.mark.parametrize(
    ("amplitude", "reprompted"),
    [(int(VOICE_RMS), False), (int(VOICE_RMS) - 1, True)],
    ids=["at-threshold", "below-threshold"],
)
def test_pipeline_voice_threshold_boundary(model: Any, amplitude: int, reprompted: bool) -> None:
    pipeline = make(model, NeverDecides())
    for index, chunk in enumerate(frames(square_wave(1.0, amplitude))):
        pipeline.feed(chunk, now=(index + 1) * FRAME_SECONDS)
    actions = pipeline.tick(now=ROUTING.no_speech_timeout + 0.5)
    assert any(isinstance(action, Reprompt) for action in actions) == reprompted


class ScriptedRecognizer:
    """Fake recognizer: each accepted frame yields the next scripted partial transcript."""

    input_rate = 8000

    def __init__(self, texts: list[str]) -> None:
        self.texts = list(texts)
        self.audio_seconds = 0.0

    def accept(self, pcm: bytes) -> RecognizerUpdate:
        self.audio_seconds += len(pcm) / 2 / self.input_rate
        text = self.texts.pop(0)
        return RecognizerUpdate("partial", text, text, (), self.audio_seconds)


class LengthScores(NeverDecides):
    """Fake classifier that abstains with an urgency confidence of len(text) / 100."""

    def score(self, text: str) -> Scores:
        self.texts.append(text)
        return Scores(None, 0.0, "routine", len(text) / 100, undecided=True)


def scripted_pipeline(texts: list[str], classifier: Any) -> CallPipeline:
    pipeline = CallPipeline(ScriptedRecognizer(texts), classifier, RoutingPolicy(ROUTING))  # type: ignore[arg-type]
    for index in range(len(texts)):
        pipeline.feed(b"\x00\x00" * 160, now=(index + 1) * FRAME_SECONDS)
    return pipeline


def test_pipeline_revised_partial_scored_once() -> None:
    classifier = LengthScores()
    scripted_pipeline(["i need my", "i need me", "i need my"], classifier)
    assert classifier.texts == ["i need my", "i need me"]


def test_pipeline_revised_partial_counts_one_classification() -> None:
    pipeline = scripted_pipeline(["i need my", "i need me", "i need my"], LengthScores())
    assert pipeline.trace.classifications == 2


def test_pipeline_revised_partial_restores_its_scores() -> None:
    pipeline = scripted_pipeline(["i need my", "i need me", "i need my"], LengthScores())
    assert pipeline.trace.scores is not None
    assert pipeline.trace.scores.urgency_confidence == len("i need my") / 100


def test_pipeline_release_returns_recognizer(model: Any) -> None:
    from careroute.recognizer import RecognizerPool

    pool = RecognizerPool(model, input_rate=8000)
    pipeline = CallPipeline.create(model, NeverDecides(), ROUTING, input_rate=8000, pool=pool)
    pipeline.release()
    pipeline.release()
    assert pool.idle == 1
    assert pipeline.feed(speech("hello there")[:SLIN_FRAME_BYTES], now=0.02) == []


@pytest.mark.parametrize("debug_text", [True, False], ids=["debug-text", "default"])
def test_pipeline_logs_transcript_only_with_debug_text(
    model: Any, monkeypatch: pytest.MonkeyPatch, debug_text: bool
) -> None:
    monkeypatch.setattr(careroute.logs, "_debug_text", debug_text)
    with capture_logs() as logs:
        play(make(model, NeverDecides()), speech("I need a refill of my inhaler, please."))
    texts = [entry["transcript"] for entry in logs if entry["event"] == "call.transcript"]
    assert bool(texts) is debug_text
    assert all("refill" in text or "inhaler" in text for text in texts[-1:])
