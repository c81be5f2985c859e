"""Unit tests for careroute.recognizer with the real Vosk model and synthesized speech."""

from __future__ import annotations

import contextvars
import json
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import vosk
from scipy.signal import resample_poly

from careroute.audio import (
    SLIN16_FRAME_BYTES,
    SLIN_FRAME_BYTES,
    AudioFormat,
    build_rtp,
    parse_rtp,
    payload_to_pcm16,
)
from careroute.errors import ModelError
from careroute.paths import vosk_model_path
from careroute.recognizer import (
    AsyncRecognizer,
    RecognizerClosedError,
    RecognizerUpdate,
    StreamingRecognizer,
    load_vosk_model,
    run_off_loop,
)
from careroute.speech import read_pcm16, synthesize

REFILL = "I need a refill of my inhaler."
BILLING_FIRST = "I have a question about my bill."
BILLING_SECOND = "It came in the mail yesterday."


@pytest.fixture(scope="module")
def model() -> Any:
    return load_vosk_model(vosk_model_path())


def _speech(text: str) -> bytes:
    pcm, rate = read_pcm16(synthesize(text, "piper:joe"))
    assert rate == 8000
    return pcm


def _feed(recognizer: StreamingRecognizer, pcm: bytes, chunk: int) -> list[RecognizerUpdate]:
    updates = [recognizer.accept(pcm[i : i + chunk]) for i in range(0, len(pcm), chunk)]
    updates.append(recognizer.finish())
    return [update for update in updates if update is not None]


def _to_16k_le(pcm_8k: bytes) -> bytes:
    samples = np.frombuffer(pcm_8k, dtype="<i2").astype(np.float64)
    wide = np.clip(np.rint(resample_poly(samples, 2, 1)), -32768, 32767)
    return wide.astype("<i2").tobytes()


def _asterisk_rtp(pcm_16k_le: bytes) -> list[bytes]:
    """Packetize 16 kHz audio as Asterisk's externalMedia sends slin16: big-endian."""
    big_endian = np.frombuffer(pcm_16k_le, dtype="<i2").astype(">i2").tobytes()
    return [
        build_rtp(big_endian[i : i + SLIN16_FRAME_BYTES], sequence=n, timestamp=320 * n, ssrc=7)
        for n, i in enumerate(range(0, len(big_endian), SLIN16_FRAME_BYTES))
    ]


def test_load_model_is_cached(model: Any) -> None:
    assert load_vosk_model(str(vosk_model_path())) is model


def test_load_model_missing_folder(tmp_path: Path) -> None:
    missing = tmp_path / "no-model"
    with pytest.raises(ModelError, match="no-model' not found; run 'make model'"):
        load_vosk_model(missing)


def test_load_model_folder_without_model(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="is not a Vosk model folder"):
        load_vosk_model(tmp_path)


def test_recognizer_8k_input_told_real_rate(model: Any) -> None:
    recognizer = StreamingRecognizer(model, input_rate=8000)
    updates = _feed(recognizer, _speech(REFILL), SLIN_FRAME_BYTES)
    assert updates[-1].kind == "final"
    assert "refill" in updates[-1].text
    assert "inhaler" in updates[-1].text


def test_recognizer_8k_input_at_wrong_rate_loses_words(model: Any) -> None:
    recognizer = StreamingRecognizer(model, input_rate=16000)
    updates = _feed(recognizer, _speech(REFILL), SLIN_FRAME_BYTES)
    assert all("refill" not in update.text for update in updates)


def test_recognizer_rtp_slin16_big_endian_decoded(model: Any) -> None:
    packets = _asterisk_rtp(_to_16k_le(_speech(REFILL)))
    recognizer = StreamingRecognizer(model)
    for packet in packets:
        recognizer.accept(payload_to_pcm16(parse_rtp(packet).payload, AudioFormat.SLIN16))
    recognizer.finish()
    assert "refill" in recognizer.transcript


def test_recognizer_rtp_slin16_read_little_endian_is_garbage(model: Any) -> None:
    packets = _asterisk_rtp(_to_16k_le(_speech(REFILL)))
    recognizer = StreamingRecognizer(model)
    for packet in packets:
        recognizer.accept(parse_rtp(packet).payload)  # the byte-order bug: no swap
    recognizer.finish()
    assert "refill" not in recognizer.transcript
    assert "inhaler" not in recognizer.transcript


def test_recognizer_partial_reset_keeps_transcript(model: Any) -> None:
    first = _speech(BILLING_FIRST)
    pause = bytes(8000 * 2)  # one second of silence: Vosk's endpoint rules fire after 0.5-1 s
    second = _speech(BILLING_SECOND)
    recognizer = StreamingRecognizer(model, input_rate=8000)
    updates = _feed(recognizer, first + pause + second, SLIN_FRAME_BYTES)

    finals = [update for update in updates if update.kind == "final"]
    assert len(finals) == 2
    first_final = finals[0].text
    assert "bill" in first_final
    after_endpoint = updates[updates.index(finals[0]) + 1 :]
    assert after_endpoint
    for update in after_endpoint:
        assert update.text.startswith(first_final)
    assert "mail" in finals[1].segment
    assert "bill" not in finals[1].segment
    assert finals[1].text == f"{first_final} {finals[1].segment}"


def test_vosk_partial_is_empty_after_endpoint(model: Any) -> None:
    """Pin the Vosk behaviour that the cumulative transcript works around."""
    audio = _to_16k_le(_speech(BILLING_FIRST) + bytes(8000 * 2 * 2))
    kaldi = vosk.KaldiRecognizer(model, 16000)
    partials_after_final: list[str] = []
    seen_final = False
    for i in range(0, len(audio), SLIN16_FRAME_BYTES):
        if kaldi.AcceptWaveform(audio[i : i + SLIN16_FRAME_BYTES]):
            seen_final = seen_final or "bill" in json.loads(kaldi.Result())["text"]
        elif seen_final:
            partials_after_final.append(json.loads(kaldi.PartialResult())["partial"])
    assert seen_final
    assert partials_after_final
    assert set(partials_after_final) == {""}


def test_recognizer_silence_after_endpoint_reports_nothing(model: Any) -> None:
    recognizer = StreamingRecognizer(model, input_rate=8000)
    _feed_only = [recognizer.accept(chunk) for chunk in _chunks(_speech(BILLING_FIRST))]
    silence = [recognizer.accept(bytes(SLIN_FRAME_BYTES)) for _ in range(100)]
    assert any(update is not None and update.kind == "final" for update in _feed_only + silence)
    assert "bill" in recognizer.transcript
    assert all(update is None or update.kind == "final" for update in silence)


def _chunks(pcm: bytes) -> list[bytes]:
    return [pcm[i : i + SLIN_FRAME_BYTES] for i in range(0, len(pcm), SLIN_FRAME_BYTES)]


def test_recognizer_final_words_have_timings(model: Any) -> None:
    recognizer = StreamingRecognizer(model, input_rate=8000)
    final = _feed(recognizer, _speech(REFILL), SLIN_FRAME_BYTES)[-1]
    assert [word.word for word in final.words] == final.segment.split()
    for word in final.words:
        assert 0.0 <= word.start < word.end <= final.audio_seconds


def test_recognizer_partial_words_when_enabled(model: Any) -> None:
    recognizer = StreamingRecognizer(model, input_rate=8000, partial_words=True)
    updates = _feed(recognizer, _speech(REFILL), SLIN_FRAME_BYTES)
    partials = [update for update in updates if update.kind == "partial"]
    assert any(update.words for update in partials)


def test_recognizer_audio_seconds_at_input_rate(model: Any) -> None:
    recognizer = StreamingRecognizer(model, input_rate=8000)
    for _ in range(50):
        recognizer.accept(bytes(SLIN_FRAME_BYTES))
    assert recognizer.audio_seconds == pytest.approx(1.0)


def test_recognizer_accept_after_finish_raises(model: Any) -> None:
    recognizer = StreamingRecognizer(model)
    assert recognizer.finish() is None
    assert recognizer.finish() is None
    with pytest.raises(RecognizerClosedError, match="after finish"):
        recognizer.accept(bytes(SLIN16_FRAME_BYTES))


def test_recognizer_rejects_rate_that_does_not_divide(model: Any) -> None:
    with pytest.raises(ValueError, match="input_rate 11025 Hz does not divide"):
        StreamingRecognizer(model, input_rate=11025)


def test_recognizer_wrong_model_rate_is_model_error(model: Any) -> None:
    recognizer = StreamingRecognizer(model, sample_rate=8000)
    with pytest.raises(ModelError, match="Vosk rejected audio at 8000 Hz"):
        recognizer.accept(bytes(SLIN_FRAME_BYTES))


REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="unset")


@pytest.mark.asyncio
async def test_run_off_loop_uses_worker_thread_with_context() -> None:
    REQUEST_ID.set("call-42")

    def probe() -> tuple[int, str]:
        return threading.get_ident(), REQUEST_ID.get()

    thread_id, request_id = await run_off_loop(probe)
    assert thread_id != threading.get_ident()
    assert request_id == "call-42"


@pytest.mark.asyncio
async def test_async_recognizer_matches_sync(model: Any) -> None:
    pcm = _speech(REFILL)
    sync = StreamingRecognizer(model, input_rate=8000)
    _feed(sync, pcm, SLIN_FRAME_BYTES)

    wrapped = AsyncRecognizer(StreamingRecognizer(model, input_rate=8000))
    for chunk in _chunks(pcm):
        await wrapped.accept(chunk)
    await wrapped.finish()
    assert wrapped.recognizer.transcript == sync.transcript


def test_pool_reuses_reset_recognizer(model: Any) -> None:
    from careroute.recognizer import RecognizerPool

    pool = RecognizerPool(model, input_rate=8000)
    first = pool.acquire()
    _feed(first, _speech(REFILL), 320)
    assert "refill" in first.transcript
    pool.release(first)
    second = pool.acquire()
    assert second is first
    assert second.transcript == ""
    assert second.audio_seconds == 0.0
    _feed(second, _speech(BILLING_FIRST), 320)
    assert "refill" not in second.transcript
    assert "bill" in second.transcript


def test_pool_keeps_bounded_idle(model: Any) -> None:
    from careroute.recognizer import RecognizerPool

    pool = RecognizerPool(model, input_rate=8000, max_idle=1)
    first, second = pool.acquire(), pool.acquire()
    pool.release(first)
    pool.release(second)
    assert pool.idle == 1


def test_pool_drops_audio_of_caller_cut_off(model: Any) -> None:
    from careroute.recognizer import RecognizerPool

    pool = RecognizerPool(model, input_rate=8000)
    first = pool.acquire()
    speech = _speech("My husband just collapsed and he is not breathing at all, please help.")
    # The call ends two seconds in, while the caller is still talking.
    for start in range(0, 2 * 8000 * 2, 320):
        first.accept(speech[start : start + 320])
    pool.release(first)
    second = pool.acquire()
    assert second is first
    silence = bytes(8000 * 2)
    updates = _feed(second, silence, 320)
    assert [update.text for update in updates if update.text] == []
    assert second.transcript == ""
