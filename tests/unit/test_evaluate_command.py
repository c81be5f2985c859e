"""``careroute evaluate --audio``: an unreadable audio file stops with its name and the fix."""

from __future__ import annotations

import json
import wave
from pathlib import Path

import pytest

from careroute import cli


def write_manifest(folder: Path, audio_name: str) -> Path:
    manifest = folder / "manifest.jsonl"
    row = {"id": "call-1", "text": "hi", "queue": "refill", "urgency": "routine", "audio": audio_name}
    manifest.write_text(json.dumps(row) + "\n", encoding="utf-8")
    return manifest


def test_evaluate_audio_not_a_wav_names_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "noise.wav").write_bytes(b"not a wav file at all" * 50)
    code = cli.main(["evaluate", "--audio", "--manifest", str(write_manifest(tmp_path, "noise.wav"))])
    error = capsys.readouterr().err
    assert code == 1
    assert "noise.wav' of manifest row 'call-1' cannot be read as a PCM WAV file" in error
    assert "sox IN -r 8000 -c 1 -b 16" in error


def test_evaluate_audio_stereo_names_fix(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with wave.open(str(tmp_path / "stereo.wav"), "wb") as stereo:
        stereo.setnchannels(2)
        stereo.setsampwidth(2)
        stereo.setframerate(8000)
        stereo.writeframes(b"\x00\x00" * 2 * 800)
    code = cli.main(["evaluate", "--audio", "--manifest", str(write_manifest(tmp_path, "stereo.wav"))])
    error = capsys.readouterr().err
    assert code == 1
    assert "is not 16-bit mono WAV" in error
    assert "sox IN -r 8000 -c 1 -b 16" in error
