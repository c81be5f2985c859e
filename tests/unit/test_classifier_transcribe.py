"""Offline transcription for training and evaluation, with the real Vosk model."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest

import careroute.recognizer
from careroute.classifier.transcribe import decode_wav, transcribe_wav
from careroute.config.loader import load_config
from careroute.config.schema import RecognizerConfig
from careroute.model_tuning import DecoderSettings
from careroute.paths import repo_root
from careroute.speech import synthesize

SENTENCE = "I need to move my appointment to Friday afternoon."


@pytest.fixture(scope="module")
def sentence_wav() -> Path:
    return synthesize(SENTENCE, "piper:joe")


def test_transcribe_uses_service_decoder(sentence_wav: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    requested: list[DecoderSettings | None] = []
    real_load = careroute.recognizer.load_vosk_model

    def recording_load(path: Path | str, decoder: DecoderSettings | None = None,
                       **options: Any) -> Any:
        requested.append(decoder)
        return real_load(path, decoder, **options)

    monkeypatch.setattr(careroute.recognizer, "load_vosk_model", recording_load)
    transcribe_wav(sentence_wav)
    assert requested == [RecognizerConfig().decoder_settings()]


def test_transcribe_default_matches_shipped_config() -> None:
    shipped = load_config(repo_root() / "config" / "careroute.yaml").recognizer
    assert RecognizerConfig().decoder_settings() == shipped.decoder_settings()


def test_decode_transcript_has_key_words(sentence_wav: Path) -> None:
    words = decode_wav(sentence_wav).transcript.split()
    assert {"appointment", "friday"} <= set(words)


def test_decode_partials_grow_to_transcript(sentence_wav: Path) -> None:
    decoding = decode_wav(sentence_wav)
    assert len(decoding.partials) >= 2
    assert len(decoding.partials[0].split()) < len(decoding.partials[-1].split())


def test_decode_partials_have_no_repeats(sentence_wav: Path) -> None:
    partials = decode_wav(sentence_wav).partials
    assert all(a != b for a, b in itertools.pairwise(partials))
