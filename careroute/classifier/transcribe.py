"""Offline Vosk transcription of telephone WAV files, for training and evaluation.

The live system streams audio through its own recognizer; this module only
decodes whole files so that training rows and evaluation figures see the same
kind of text the classifier meets on a call. The small English Vosk model
accepts only 16 kHz audio, so 8 kHz telephone audio is upsampled first.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from careroute.errors import ModelError
from careroute.paths import vosk_model_path

#: Rate the Vosk small English model was trained on; it rejects other rates.
VOSK_RATE_HZ = 16000
#: Feed the recognizer in 0.25 s chunks, the size a streaming caller would see.
CHUNK_SAMPLES = VOSK_RATE_HZ // 4


@lru_cache(maxsize=1)
def _model() -> Any:
    path = vosk_model_path()
    if not (path / "am").is_dir():
        raise ModelError(f"Vosk model not found at {str(path)!r}; run 'careroute model'")
    import vosk

    vosk.SetLogLevel(-1)
    return vosk.Model(str(path))


def transcribe_wav(path: Path) -> str:
    """Return the Vosk transcript of a 16-bit mono WAV file (8 or 16 kHz)."""
    import numpy as np
    import vosk
    from scipy.signal import resample_poly

    from careroute.speech import read_pcm16

    pcm, rate = read_pcm16(path)
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    if rate != VOSK_RATE_HZ:
        if VOSK_RATE_HZ % rate:
            raise ModelError(f"{str(path)!r} has rate {rate} Hz; expected 8000 or 16000")
        samples = resample_poly(samples, VOSK_RATE_HZ // rate, 1)
    audio = np.clip(samples, -32768, 32767).astype("<i2")
    recognizer = vosk.KaldiRecognizer(_model(), VOSK_RATE_HZ)
    words: list[str] = []
    for start in range(0, len(audio), CHUNK_SAMPLES):
        if recognizer.AcceptWaveform(audio[start : start + CHUNK_SAMPLES].tobytes()):
            words.append(json.loads(recognizer.Result()).get("text", ""))
    words.append(json.loads(recognizer.FinalResult()).get("text", ""))
    return " ".join(w for w in words if w).strip()
