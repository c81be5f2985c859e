"""Offline Vosk transcription of telephone WAV files, for training and evaluation.

Training rows and evaluation figures should see the text the classifier meets
on a call, so a file is decoded the way the service decodes a call: the model
loads through ``careroute.recognizer.load_vosk_model`` with the recognizer
section's decoding graph and decoder settings (the ``RecognizerConfig``
defaults, which equal ``config/careroute.yaml``), and the audio goes through the service's
``StreamingRecognizer`` (which upsamples 8 kHz audio to the 16 kHz the small
English model accepts) in packets of one RTP frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from careroute.config.schema import RecognizerConfig
from careroute.errors import ModelError

#: Feed the recognizer 20 ms at a time: one RTP packet, as the service receives audio.
PACKET_SECONDS = 0.02


@dataclass(frozen=True, slots=True)
class Decoding:
    """Recognizer output for one decoded file."""

    partials: tuple[str, ...]
    """Each distinct cumulative transcript in the order the service would have scored it."""
    transcript: str
    """The cumulative transcript after the final result."""


def decode_wav(path: Path, recognizer: RecognizerConfig | None = None) -> Decoding:
    """Decode a 16-bit mono WAV file (8 or 16 kHz) as a call, keeping every partial.

    Args:
        path: the WAV file.
        recognizer: model folder and decoder settings; default ``RecognizerConfig()``,
            whose values equal the ``recognizer`` section of ``config/careroute.yaml``.

    Raises:
        ModelError: the Vosk model is missing or cannot load, or the file's
            rate does not divide the model rate.
    """
    from careroute.recognizer import StreamingRecognizer, load_vosk_model
    from careroute.speech import read_pcm16

    settings = recognizer or RecognizerConfig()
    model = load_vosk_model(
        settings.resolved_model_path(), settings.decoder_settings(), graph=settings.graph
    )
    pcm, rate = read_pcm16(path)
    try:
        stream = StreamingRecognizer(model, settings.sample_rate, input_rate=rate)
    except ValueError as exc:
        raise ModelError(f"{str(path)!r}: {exc}") from exc
    packet_bytes = 2 * round(rate * PACKET_SECONDS)
    partials: list[str] = []
    for start in range(0, len(pcm), packet_bytes):
        update = stream.accept(pcm[start : start + packet_bytes])
        if update is not None and update.text and (not partials or partials[-1] != update.text):
            partials.append(update.text)
    stream.finish()
    return Decoding(tuple(partials), stream.transcript)


def transcribe_wav(path: Path, recognizer: RecognizerConfig | None = None) -> str:
    """Return the final Vosk transcript of a 16-bit mono WAV file (8 or 16 kHz)."""
    return decode_wav(path, recognizer).transcript
