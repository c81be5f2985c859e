"""Manifest audio checks of the live evaluation: a file the test bed cannot play is an error row."""

from __future__ import annotations

import struct
import wave
from pathlib import Path
from typing import Any

import pytest

from careroute.liveeval import LiveEval, ManifestCall, caller_audio_problem
from careroute.livemetrics import format_row
from careroute.testbed import Testbed

#: 0.1 s of silence at 8 kHz.
FRAMES = 800


def write_wav(path: Path, *, rate: int = 8000, channels: int = 1, sample_bytes: int = 2) -> Path:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(sample_bytes)
        wav.setframerate(rate)
        wav.writeframes(b"\x00" * FRAMES * channels * sample_bytes)
    return path


def write_mulaw_wav(path: Path) -> Path:
    """Write a mono 8 kHz WAV with format tag 7 (G.711 mu-law), which wave cannot write."""
    data = b"\xff" * FRAMES
    fmt = struct.pack("<HHIIHH", 7, 1, 8000, 8000, 1, 8)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data)) + data
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    return path


def test_audio_check_accepts_telephone_wav(tmp_path: Path) -> None:
    assert caller_audio_problem(write_wav(tmp_path / "ok.wav")) is None


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda p: write_wav(p / "cd.wav", rate=44100, channels=2), "2 channels"),
        (lambda p: write_wav(p / "wide.wav", rate=44100), "44100 Hz"),
        (lambda p: write_wav(p / "byte.wav", sample_bytes=1), "8-bit"),
        (lambda p: write_mulaw_wav(p / "ulaw.wav"), "unknown format: 7"),
        (lambda p: _text_file(p / "notes.wav"), "cannot be read as a PCM WAV file"),
        (lambda p: _truncated(p / "cut.wav"), "truncated"),
        (lambda p: _empty(p / "empty.wav"), "no audio frames"),
        (lambda p: write_wav(p / "speech.WAV"), "suffix '.WAV'"),
    ],
    ids=["stereo-44k", "mono-44k", "8-bit", "mu-law", "text", "truncated", "empty", "suffix"],
)
def test_audio_check_names_problem(tmp_path: Path, make: Any, expected: str) -> None:
    problem = caller_audio_problem(make(tmp_path))
    assert problem is not None
    assert expected in problem


def _text_file(path: Path) -> Path:
    path.write_text("this is not audio\n")
    return path


def _truncated(path: Path) -> Path:
    write_wav(path)
    path.write_bytes(path.read_bytes()[: 44 + FRAMES])
    return path


def _empty(path: Path) -> Path:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(8000)
    return path


@pytest.mark.asyncio
async def test_evaluate_bad_audio_is_error_row(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async def no_call(*args: object, **kwargs: object) -> None:
        raise AssertionError("a call with unplayable audio must not be placed")

    monkeypatch.setattr("careroute.liveeval.place_call", no_call)
    audio = write_wav(tmp_path / "cd.wav", rate=44100, channels=2)
    call = ManifestCall("c1", audio, "refill", "routine", "piper", False, 0.1)
    evaluation = LiveEval(
        Testbed(tmp_path), queues=None, answers=None, capture=None,  # type: ignore[arg-type]
        emergency_prio=10, caller_delay_s=4.3,
    )
    result = await evaluation.evaluate(call)
    assert result.error is not None
    assert str(audio) in result.error
    assert "2 channels" in result.error
    assert result.got_queue is None
    assert "ERROR" in format_row(result)
