"""Unit tests for the offline routing replay (careroute.bench.replay and its two helpers)."""

from __future__ import annotations

from pathlib import Path

import pytest

from careroute.bench.calls import DevCall, load_dev_calls
from careroute.bench.replay import (
    build_settings,
    main,
    markdown_table,
    parse_assignment,
    parse_value,
    routing_with,
)
from careroute.bench.replay_events import (
    Event,
    cache_key,
    decode_call,
    read_cache,
    write_cache,
)
from careroute.bench.replay_policy import (
    CallOutcome,
    MemoizedScorer,
    ReplayedDecision,
    figures,
    figures_by_engine,
    replay_call,
)
from careroute.config import RoutingConfig
from careroute.config.schema import RecognizerConfig
from careroute.errors import ConfigError
from careroute.scores import UNDECIDED, RedFlagHit, Scores

CHEST_PAIN = RedFlagHit(
    category="chest_pain", urgency="emergency", phrase="chest pain", reason="chest pain"
)


def scores(
    queue: str, confidence: float, *, red_flags: tuple[RedFlagHit, ...] = ()
) -> Scores:
    urgency = "emergency" if any(hit.urgency == "emergency" for hit in red_flags) else "routine"
    return Scores(
        queue=queue,
        queue_confidence=confidence,
        urgency=urgency,
        urgency_confidence=0.9,
        red_flags=red_flags,
    )


# Transcripts of a hand-made call, with the scores a fake classifier gives them:
# the opening sounds like a refill at low confidence, the rest is clearly a nurse call.
SCRIPT = {
    "i need": scores("refill", 0.6),
    "i need my": scores("refill", 0.6),
    "i need my stitches": scores("nurse", 0.95),
    "i need my stitches checked": scores("nurse", 0.95),
    "i need my stitches checked today": scores("nurse", 0.95),
    "i need my stitches checked today and chest pain": scores("nurse", 0.95, red_flags=(CHEST_PAIN,)),
}
NURSE_CALL = [
    Event(1.0, "partial", "i need"),
    Event(1.4, "partial", "i need my"),
    Event(2.0, "partial", "i need my stitches"),
    Event(2.4, "partial", "i need my stitches checked"),
    Event(3.0, "final", "i need my stitches checked today"),
]
# A routine call that names a red flag at 5.0 s, after its decision at 1.4 s.
LATE_RED_FLAG_CALL = [
    Event(1.0, "partial", "i need"),
    Event(1.4, "partial", "i need my"),
    Event(5.0, "partial", "i need my stitches checked today and chest pain"),
]


def fake_score(text: str) -> Scores:
    return SCRIPT.get(text, UNDECIDED)


def test_replay_high_threshold_waits_for_nurse() -> None:
    decision = replay_call(NURSE_CALL, fake_score, RoutingConfig(queue_threshold=0.9), 4.0)

    assert decision.queue == "nurse"
    assert decision.decided_at == pytest.approx(2.4)
    assert decision.trigger == "stable_partials"


def test_replay_low_threshold_routes_on_opening() -> None:
    routing = RoutingConfig(queue_threshold=0.5, final_threshold=0.45)

    decision = replay_call(NURSE_CALL, fake_score, routing, 4.0)

    assert decision.queue == "refill"
    assert decision.decided_at == pytest.approx(1.4)


def test_replay_escalates_inside_window() -> None:
    routing = RoutingConfig(queue_threshold=0.5, escalation_window_seconds=20.0)

    decision = replay_call(LATE_RED_FLAG_CALL, fake_score, routing, 6.0)

    assert decision.escalated
    assert decision.queue == routing.emergency_queue
    assert decision.urgency == "emergency"
    assert decision.trigger == "escalation"
    assert decision.decided_at == pytest.approx(1.4)


def test_replay_stays_outside_window() -> None:
    routing = RoutingConfig(queue_threshold=0.5, escalation_window_seconds=3.0)

    decision = replay_call(LATE_RED_FLAG_CALL, fake_score, routing, 6.0)

    assert not decision.escalated
    assert decision.queue == "refill"
    assert decision.urgency == "routine"


def test_replay_zero_window_never_escalates() -> None:
    routing = RoutingConfig(queue_threshold=0.5, escalation_window_seconds=0.0)

    decision = replay_call(LATE_RED_FLAG_CALL, fake_score, routing, 6.0)

    assert not decision.escalated


def test_replay_silent_call_falls_back() -> None:
    routing = RoutingConfig(no_speech_timeout=6.0, max_listen_seconds=20.0)

    decision = replay_call([], fake_score, routing, 3.0)

    assert not decision.decided_in_audio
    assert decision.queue == routing.fallback_queue
    assert decision.trigger == "no_speech"
    # Reprompt at 6 s, then another 6 s of silence. Each timer fires at the
    # first 20 ms tick at or after its deadline, so the fallback can be 2 ticks late.
    assert decision.decided_at == pytest.approx(12.0, abs=0.041)


def test_replay_long_call_stops_at_max_listen() -> None:
    routing = RoutingConfig(queue_threshold=0.99, max_listen_seconds=8.0, no_speech_timeout=6.0)
    events = [Event(1.0 + 0.5 * i, "partial", "i need") for i in range(20)]

    decision = replay_call(events, fake_score, routing, 12.0)

    assert decision.decided_in_audio
    assert decision.trigger == "max_listen"
    assert decision.decided_at == pytest.approx(8.0, abs=0.021)


def test_memoized_scorer_scores_text_once() -> None:
    seen: list[str] = []

    def counting_score(text: str) -> Scores:
        seen.append(text)
        return fake_score(text)

    memo = MemoizedScorer(counting_score)
    for text in ("i need", "i need my", "i need"):
        memo(text)

    assert seen == ["i need", "i need my"]


def outcome(
    call_id: str, engine: str, expected: tuple[str, str], got: tuple[str, str], delay: float | None
) -> CallOutcome:
    return CallOutcome(
        call_id=call_id,
        engine=engine,
        expected_queue=expected[0],
        expected_urgency=expected[1],
        speech_end_s=5.0,
        decision=ReplayedDecision(
            queue=got[0],
            urgency=got[1],
            trigger="stable_partials",
            decided_at=5.0 + (delay or 15.0),
            decided_in_audio=delay is not None,
            escalated=False,
        ),
    )


OUTCOMES = [
    outcome("a", "piper", ("nurse", "emergency"), ("nurse", "emergency"), -2.0),
    outcome("b", "piper", ("nurse", "emergency"), ("nurse", "urgent"), -1.0),
    outcome("c", "espeak-ng", ("refill", "routine"), ("nurse", "emergency"), 0.5),
    outcome("d", "espeak-ng", ("billing", "routine"), ("front_desk", "routine"), None),
]


def test_figures_counts_each_figure() -> None:
    result = figures(OUTCOMES)

    assert result["calls"] == 4
    assert result["queue_accuracy"] == 0.5
    assert result["emergencies_caught"] == 1
    assert result["emergencies"] == 2
    assert result["false_emergencies"] == 1
    assert result["non_emergencies"] == 2
    assert result["undecided_at_audio_end"] == 1
    assert result["decision_delay_p50_s"] == -1.0
    assert result["decision_delay_p90_s"] == 0.5


def test_figures_by_engine_splits_calls() -> None:
    result = figures_by_engine(OUTCOMES)

    assert list(result) == ["espeak-ng", "piper"]
    assert result["piper"]["queue_accuracy"] == 1.0
    assert result["espeak-ng"]["queue_accuracy"] == 0.0


def test_markdown_table_one_row_per_setting() -> None:
    rows = [
        {"setting": f"queue_threshold={t}", "all": figures(OUTCOMES), "engines": figures_by_engine(OUTCOMES)}
        for t in (0.7, 0.9)
    ]

    lines = markdown_table(rows).splitlines()

    assert lines[0] == "Figures: all calls (espeak-ng / piper)"
    assert len([line for line in lines if line.startswith("| queue_threshold=")]) == 2
    assert "0.500 (0.000 / 1.000)" in lines[-1]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("queue_threshold=0.8", ("routing.queue_threshold", "0.8"), id="bare-key"),
        pytest.param("routing.stable_partials=3", ("routing.stable_partials", "3"), id="routing-key"),
        pytest.param("priorities.emergency = 12", ("routing.priorities.emergency", "12"), id="nested"),
    ],
)
def test_parse_assignment_keys(text: str, expected: tuple[str, str]) -> None:
    assert parse_assignment(text, "--set") == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        pytest.param("queue_threshold", "use --set KEY=VALUE", id="no-equals"),
        pytest.param("=0.8", "use --set KEY=VALUE", id="no-key"),
        pytest.param("recognizer.beam=8", "'recognizer.beam' is not a routing key", id="other-section"),
    ],
)
def test_parse_assignment_rejects(text: str, fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        parse_assignment(text, "--set")


def test_parse_value_reads_yaml_scalars() -> None:
    assert parse_value("routing.queue_threshold", "0.8") == 0.8
    assert parse_value("routing.fallback_queue", "nurse") == "nurse"
    assert parse_value("routing.operator_digit", '"0"') == "0"


def test_parse_value_rejects_broken_yaml() -> None:
    with pytest.raises(ConfigError, match=r"routing.fallback_queue = '\[nurse' is invalid"):
        parse_value("routing.fallback_queue", "[nurse")


def test_routing_with_applies_overrides() -> None:
    routing = routing_with(
        {"routing": {"queue_threshold": 0.9}},
        {"routing.queue_threshold": 0.8, "routing.priorities.emergency": 12},
        Path.cwd(),
    )

    assert routing.queue_threshold == 0.8
    assert routing.priorities.emergency == 12


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        pytest.param(
            {"routing.queue_treshold": 0.8}, "did you mean 'queue_threshold'", id="unknown-key"
        ),
        pytest.param(
            {"routing.queue_threshold": "high"}, "routing.queue_threshold = 'high' is invalid",
            id="wrong-type",
        ),
        pytest.param(
            {"routing.queue_threshold": 1.5}, "routing.queue_threshold = 1.5 is invalid",
            id="out-of-range",
        ),
        pytest.param(
            {"routing.queue_threshold": 0.3}, "routing.final_threshold = 0.45 is above",
            id="below-final-threshold",
        ),
    ],
)
def test_routing_with_rejects(overrides: dict[str, object], fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        routing_with({}, overrides, Path.cwd())


def write_config(folder: Path) -> Path:
    path = folder / "careroute.yaml"
    path.write_text("routing:\n  queue_threshold: 0.9\n  stable_partials: 2\n", encoding="utf-8")
    return path


def test_build_settings_grid_rows(tmp_path: Path) -> None:
    settings = build_settings(
        write_config(tmp_path), ["stable_partials=3"], "queue_threshold=0.7,0.8,0.9"
    )

    assert [s.routing.queue_threshold for s in settings] == [0.7, 0.8, 0.9]
    assert {s.routing.stable_partials for s in settings} == {3}
    assert settings[0].label == "stable_partials=3, queue_threshold=0.7"


def test_build_settings_without_overrides(tmp_path: Path) -> None:
    settings = build_settings(write_config(tmp_path), [], None)

    assert [s.label for s in settings] == ["as configured"]
    assert settings[0].routing.queue_threshold == 0.9


def test_build_settings_rejects_empty_grid(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="list the values after '='"):
        build_settings(write_config(tmp_path), [], "queue_threshold=")


def test_main_unknown_key_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--config", str(write_config(tmp_path)), "--set", "routing.queue_treshold=0.8"])

    error = capsys.readouterr().err
    assert code == 2
    assert error.count("\n") == 1
    assert "unknown key 'routing.queue_treshold'; did you mean 'queue_threshold'?" in error


def fake_model(folder: Path) -> Path:
    """Create the files a Vosk model folder with a static graph has, with dummy contents."""
    for name, text in {
        "am/final.mdl": "acoustic model",
        "conf/model.conf": "--min-active=200\n--max-active=3000\n--beam=10.0\n--lattice-beam=2.0\n",
        "graph/HCLG.fst": "graph",
    }.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return folder


def fake_calls(folder: Path) -> tuple[Path, list[DevCall]]:
    audio = folder / "dev-001.wav"
    audio.write_bytes(b"RIFF")
    manifest = folder / "manifest.jsonl"
    manifest.write_text('{"id": "dev-001"}\n', encoding="utf-8")
    call = DevCall("dev-001", b"\0\0", "nurse", "routine", 0.0, audio)
    return manifest, [call]


def test_cache_key_changes_with_decoder_settings(tmp_path: Path) -> None:
    model = fake_model(tmp_path / "model")
    manifest, calls = fake_calls(tmp_path)

    keys = {
        beam: cache_key(RecognizerConfig(model_path=model, beam=beam), calls, manifest)
        for beam in (8.0, 9.0)
    }

    assert keys[8.0] != keys[9.0]


def test_cache_key_stable_for_same_inputs(tmp_path: Path) -> None:
    model = fake_model(tmp_path / "model")
    manifest, calls = fake_calls(tmp_path)
    config = RecognizerConfig(model_path=model)

    assert cache_key(config, calls, manifest) == cache_key(config, calls, manifest)


def test_cache_key_changes_with_model_file(tmp_path: Path) -> None:
    model = fake_model(tmp_path / "model")
    manifest, calls = fake_calls(tmp_path)
    config = RecognizerConfig(model_path=model)
    before = cache_key(config, calls, manifest)

    (model / "am" / "final.mdl").write_text("a retrained acoustic model", encoding="utf-8")

    assert cache_key(config, calls, manifest) != before


def test_cache_key_changes_with_manifest(tmp_path: Path) -> None:
    model = fake_model(tmp_path / "model")
    manifest, calls = fake_calls(tmp_path)
    config = RecognizerConfig(model_path=model)
    before = cache_key(config, calls, manifest)

    manifest.write_text('{"id": "dev-001", "queue": "refill"}\n', encoding="utf-8")

    assert cache_key(config, calls, manifest) != before


def test_cache_round_trip(tmp_path: Path) -> None:
    model = fake_model(tmp_path / "model")
    path = tmp_path / "events.json"
    events = {"dev-001": NURSE_CALL}

    write_cache(path, "key-1", RecognizerConfig(model_path=model), events)

    assert read_cache(path, "key-1") == events
    assert read_cache(path, "key-2") is None


@pytest.mark.slow
def test_decode_real_model_events_ordered() -> None:
    from careroute.commands.bench import DEFAULT_MANIFEST
    from careroute.paths import repo_root, vosk_model_path
    from careroute.recognizer import load_vosk_model

    config = RecognizerConfig()
    model = load_vosk_model(vosk_model_path(), config.decoder_settings(), graph=config.graph)
    for call in load_dev_calls(repo_root() / DEFAULT_MANIFEST, limit=2):
        events = decode_call(model, call, config.sample_rate)
        times = [event.seconds for event in events]

        assert events, f"no events for {call.call_id}"
        assert times == sorted(times), f"events of {call.call_id} out of order"
        assert times[-1] <= call.seconds + 1e-9
        assert events[-1].kind == "final"
