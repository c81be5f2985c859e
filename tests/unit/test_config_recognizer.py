"""Unit tests for the recognizer section's decoder settings in careroute.config."""

from __future__ import annotations

import pytest

from careroute.config import parse_config
from careroute.errors import ConfigError
from careroute.model_tuning import DecoderSettings


def test_decoder_null_keeps_model_values() -> None:
    config = parse_config(
        {"recognizer": {"max_active": None, "beam": None, "lattice_beam": None, "frames_per_chunk": None,
                        "dither": None}}
    )
    assert config.recognizer.decoder_settings() == DecoderSettings()


def test_decoder_values_parsed() -> None:
    config = parse_config(
        {"recognizer": {"max_active": 1500, "beam": 9, "lattice_beam": 1.5, "frames_per_chunk": 12}}
    )
    assert config.recognizer.decoder_settings() == DecoderSettings(1500, 9.0, 1.5, 12, dither=0.0)


def test_decoder_int_beam_becomes_float() -> None:
    config = parse_config({"recognizer": {"beam": 9}})
    assert isinstance(config.recognizer.beam, float)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param({"max_active": 1}, r"recognizer.max_active = 1 is invalid: use a whole number of 2 or more", id="max-active-one"),
        pytest.param({"max_active": 1500.5}, r"recognizer.max_active = 1500.5 is invalid: use a whole number", id="max-active-float"),
        pytest.param({"max_active": True}, r"recognizer.max_active = True is invalid: use a whole number", id="max-active-bool"),
        pytest.param({"beam": 0}, r"recognizer.beam = 0 is invalid: use a number greater than 0", id="beam-zero"),
        pytest.param({"beam": "wide"}, r"recognizer.beam = 'wide' is invalid: use a number", id="beam-text"),
        pytest.param({"lattice_beam": -1.0}, r"recognizer.lattice_beam = -1.0 is invalid: use a number greater than 0", id="lattice-beam-negative"),
        pytest.param({"max_activ": 1000}, r"unknown key 'recognizer.max_activ'; did you mean 'max_active'", id="typo"),
    ],
)
def test_decoder_invalid_values(data: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config({"recognizer": data})


def test_dither_defaults_to_zero() -> None:
    assert parse_config({}).recognizer.decoder_settings().dither == 0.0


def test_negative_dither_is_rejected() -> None:
    with pytest.raises(ConfigError, match=r"recognizer.dither = -1.0 is invalid"):
        parse_config({"recognizer": {"dither": -1.0}})
