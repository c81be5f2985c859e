"""Unit tests for careroute.config: the shipped YAML, validation messages, secrets."""

from __future__ import annotations

from pathlib import Path

import pytest

from careroute.config import CareRouteConfig, load_config, parse_config
from careroute.errors import ConfigError
from careroute.paths import repo_root, vosk_model_path

SHIPPED = repo_root() / "config" / "careroute.yaml"


def test_config_shipped_yaml_equals_defaults() -> None:
    assert load_config(SHIPPED) == CareRouteConfig()


def test_config_empty_document_gives_defaults() -> None:
    assert parse_config(None) == CareRouteConfig()


def test_config_partial_section_keeps_other_defaults() -> None:
    config = parse_config({"routing": {"queue_threshold": 0.8}})
    assert config.routing.queue_threshold == 0.8
    assert config.routing.stable_partials == CareRouteConfig().routing.stable_partials


def test_config_int_accepted_for_float() -> None:
    config = parse_config({"routing": {"no_speech_timeout": 4}})
    assert config.routing.no_speech_timeout == 4.0
    assert isinstance(config.routing.no_speech_timeout, float)


def test_config_is_frozen() -> None:
    config = CareRouteConfig()
    with pytest.raises(AttributeError):
        config.routing.queue_threshold = 0.1  # type: ignore[misc]


def test_config_relative_path_resolves_against_file(tmp_path: Path) -> None:
    config_file = tmp_path / "careroute.yaml"
    config_file.write_text("classifier:\n  artifact_path: models/clf.skops\n", encoding="utf-8")
    config = load_config(config_file)
    assert config.classifier.artifact_path == tmp_path / "models" / "clf.skops"


def test_config_default_model_path() -> None:
    assert CareRouteConfig().recognizer.resolved_model_path() == vosk_model_path()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param({"routing": {"queue_treshold": 0.7}}, "unknown key 'routing.queue_treshold'; did you mean 'queue_threshold'", id="typo"),
        pytest.param({"nonsense": {}}, "unknown key 'nonsense'", id="unknown-section"),
        pytest.param({"routing": {"priorities": {"critical": 3}}}, "unknown key 'routing.priorities.critical'", id="nested-unknown"),
        pytest.param({"ari": {"password": "hunter2"}}, "ari.password is not allowed: secrets never go", id="password-in-yaml"),
        pytest.param({"routing": {"queue_threshold": 1.5}}, r"routing.queue_threshold = 1.5 is invalid: use a probability", id="threshold-range"),
        pytest.param({"routing": {"stable_partials": "two"}}, "routing.stable_partials = 'two' is invalid: use a whole number", id="int-type"),
        pytest.param({"routing": {"stable_partials": True}}, "routing.stable_partials = True is invalid", id="bool-not-int"),
        pytest.param({"routing": {"stable_partials": 0}}, "greater than 0", id="zero-partials"),
        pytest.param({"logging": {"debug_text": "yes"}}, "use true or false", id="bool-type"),
        pytest.param({"logging": {"level": "verbose"}}, "logging.level = 'verbose' is invalid: use one of 'debug'", id="literal"),
        pytest.param({"media": {"format": "g729"}}, "media.format = 'g729'", id="format"),
        pytest.param({"media": {"rtp_port_min": 70000}}, "between 1 and 65535", id="port-range"),
        pytest.param({"media": {"rtp_port_min": 32000, "rtp_port_max": 31000}}, "media.rtp_port_min = 32000 is larger", id="port-order"),
        pytest.param({"media": {"bind_host": "localhost"}}, "use an IP address", id="bind-host"),
        pytest.param({"ari": {"url": "ws://127.0.0.1:8088"}}, "use an http:// or https:// URL", id="url-scheme"),
        pytest.param({"ari": {"reconnect_backoff_min": 20.0}}, "reconnect_backoff_min = 20.0 is larger", id="backoff-order"),
        pytest.param({"ari": {"password_env": "not a name"}}, "environment variable name", id="env-name"),
        pytest.param({"routing": {"fallback_queue": "front desk"}}, "dialplan name", id="queue-name"),
        pytest.param({"routing": {"operator_digit": 0}}, "use a string", id="digit-unquoted"),
        pytest.param({"routing": {"operator_digit": "00"}}, "one DTMF digit", id="digit-two"),
        pytest.param({"routing": {"priorities": {"urgent": 20}}}, "emergency > urgent > routine", id="priority-order"),
        pytest.param({"routing": {"final_threshold": 0.95}}, "final_threshold = 0.95 is above", id="final-above-partial"),
        pytest.param({"routing": {"max_listen_seconds": 3.0}}, "reprompt never plays", id="listen-shorter"),
        pytest.param({"prompts": {"greeting": "hello.wav"}}, "without extension", id="sound-extension"),
        pytest.param({"recognizer": {"sample_rate": 11025}}, "model's sample rate", id="sample-rate"),
        pytest.param({"recognizer": {"frames_per_chunk": 2}}, "whole number of 3 or more", id="chunk-too-small"),
        pytest.param({"recognizer": {"graph": "dynamic"}}, "recognizer.graph = 'dynamic' is invalid", id="graph-choice"),
        pytest.param({"routing": []}, "routing must be a mapping", id="section-type"),
        pytest.param(["ari"], "the top level must be a mapping", id="top-level-list"),
        pytest.param({"classifier": {"artifact_path": 5}}, "use a file or folder path", id="path-type"),
    ],
)
def test_config_rejects_invalid(data: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config(data)


def test_config_missing_file_names_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError, match=r"nope\.yaml' cannot be read"):
        load_config(missing)


def test_config_invalid_yaml(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("routing: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="is not valid YAML"):
        load_config(bad)


def test_config_password_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_ARI_SECRET", "s3cret")
    config = parse_config({"ari": {"password_env": "TEST_ARI_SECRET"}})
    assert config.ari.password() == "s3cret"


def test_config_password_env_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TEST_ARI_SECRET", raising=False)
    config = parse_config({"ari": {"password_env": "TEST_ARI_SECRET"}})
    with pytest.raises(ConfigError, match=r"'TEST_ARI_SECRET' \(ari\.password_env\) is unset"):
        config.ari.password()


def test_config_password_file_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = tmp_path / "ari-password"
    secret.write_text("from-file\n", encoding="utf-8")
    monkeypatch.setenv("TEST_ARI_SECRET", "from-env")
    config = parse_config(
        {"ari": {"password_env": "TEST_ARI_SECRET", "password_file": str(secret)}}
    )
    assert config.ari.password() == "from-file"


def test_config_password_file_missing(tmp_path: Path) -> None:
    config = parse_config({"ari": {"password_file": str(tmp_path / "absent")}})
    with pytest.raises(ConfigError, match="absent' cannot be read"):
        config.ari.password()


def test_config_password_no_source() -> None:
    config = parse_config({"ari": {"password_env": None}})
    with pytest.raises(ConfigError, match="no ARI password source"):
        config.ari.password()


def test_config_priority_for_urgency() -> None:
    priorities = CareRouteConfig().routing.priorities
    assert priorities.for_urgency("emergency") == 10
    assert priorities.for_urgency("urgent") == 5
    assert priorities.for_urgency("routine") == 0
