"""Streaming speech recognition with Vosk, one recognizer per call.

Loading a Vosk model reads its whole folder into memory, so
``load_vosk_model`` loads it once per folder and every call shares it. Each
call gets its own ``KaldiRecognizer``, because a recognizer keeps the decoding
state of one audio stream.

Vosk resets its partial result to ``""`` after an endpoint (a pause), and the
final result can differ from the last partial. ``StreamingRecognizer``
therefore reports the cumulative transcript (every final so far plus the
current partial), so a consumer never sees the text collapse to empty in the
middle of a call.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import json
import threading
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

import structlog

from careroute.audio import SAMPLE_WIDTH_BYTES, WIDEBAND_RATE_HZ, StreamingUpsampler
from careroute.errors import CareRouteError, ModelError
from careroute.model_tuning import DecoderSettings, tuned_model_path
from careroute.static_graph import INSTALL_HINT, has_lookahead_graph, static_model_path

T = TypeVar("T")

#: Decoding graph a model loads: "static" needs the precomposed graph
#: that 'make model' builds, "lookahead" uses the model's own pair, and "auto"
#: takes the static graph when it is built (see ``careroute.static_graph``).
GraphChoice = Literal["auto", "static", "lookahead"]

_models: dict[Path, Any] = {}
_models_lock = threading.Lock()
_log = structlog.get_logger(__name__)


def load_vosk_model(
    path: Path | str, decoder: DecoderSettings | None = None, graph: GraphChoice = "auto"
) -> Any:
    """Load the Vosk model in ``path``, or return the copy already loaded from there.

    With ``decoder`` settings, the model loads from an overlay folder whose
    ``conf/model.conf`` carries them (see ``careroute.model_tuning``); the
    folder in ``path`` is never modified. ``graph`` picks the decoding graph
    (see ``GraphChoice``).

    Raises:
        ModelError: the folder does not exist, is not a Vosk model, the decoder
            settings cannot be applied, ``graph`` is "static" and no static
            graph is built, or Vosk fails to load it.
    """
    folder = Path(path).expanduser().resolve()
    if not folder.is_dir():
        raise ModelError(
            f"Vosk model folder {str(folder)!r} not found; run 'make model' to download "
            "it, or set recognizer.model_path to an unpacked Vosk model"
        )
    if not (folder / "am").is_dir() or not (folder / "conf").is_dir():
        raise ModelError(
            f"{str(folder)!r} is not a Vosk model folder (no am/ and conf/ inside); "
            "run 'make model' or point recognizer.model_path at an unpacked model"
        )
    folder = _graph_folder(folder, graph)
    with _models_lock:
        if decoder is not None:
            folder = tuned_model_path(folder, decoder)
        cached = _models.get(folder)
        if cached is not None:
            return cached

        import vosk

        vosk.SetLogLevel(-1)  # Kaldi logs every model load to stderr.
        try:
            model = vosk.Model(str(folder))
        except Exception as exc:  # Vosk raises a bare Exception on failure.
            raise ModelError(
                f"Vosk failed to load the model in {str(folder)!r} ({exc}); "
                "run 'make model' to fetch a fresh copy"
            ) from exc
        _models[folder] = model
        return model


def _graph_folder(folder: Path, graph: GraphChoice) -> Path:
    """Return the folder to load for ``graph``: the static model folder or ``folder`` itself."""
    if graph == "lookahead":
        return folder
    static = static_model_path(folder)
    if static is not None:
        return static
    if graph == "static":
        raise ModelError(
            f"recognizer.graph is 'static' but no static graph is built for {str(folder)!r}; {INSTALL_HINT}"
        )
    if has_lookahead_graph(folder):
        _log.warning(
            "recognizer.lookahead_graph",
            model=str(folder),
            message="decoding with the on-the-fly graph: about 3 times the CPU and 35 MiB or more per "
            f"call; {INSTALL_HINT}",
        )
    return folder


@dataclass(frozen=True, slots=True)
class Word:
    """One recognized word with its position in the call's audio."""

    word: str
    start: float
    """Seconds from the first sample fed to the recognizer."""
    end: float
    confidence: float


@dataclass(frozen=True, slots=True)
class RecognizerUpdate:
    """A change in what the recognizer heard."""

    kind: Literal["partial", "final"]
    text: str
    """Cumulative transcript: every final result so far plus the current partial."""
    segment: str
    """Text of the current utterance alone (the partial, or the final that ended it)."""
    words: tuple[Word, ...]
    """Word timings of the final result, or of the partial when partial words are on."""
    audio_seconds: float
    """Seconds of audio fed to this recognizer so far."""


#: Maximum idle recognizers a pool keeps for the next calls. Each takes about 29 MiB
#: with the small English model (``make bench``), so a few cover a burst of
#: new calls without holding much memory when the line is quiet.
DEFAULT_POOL_IDLE = 4


class RecognizerPool:
    """Reuses reset recognizers, because creating one took 80-130 ms of CPU.

    Thread-safe: calls start and end on worker threads.
    """

    def __init__(
        self,
        model: Any,
        sample_rate: int = WIDEBAND_RATE_HZ,
        *,
        input_rate: int | None = None,
        max_idle: int = DEFAULT_POOL_IDLE,
    ) -> None:
        self._model = model
        self._sample_rate = sample_rate
        self._input_rate = input_rate
        self._max_idle = max_idle
        self._idle: list[StreamingRecognizer] = []
        self._lock = threading.Lock()

    def acquire(self) -> StreamingRecognizer:
        """Return an idle recognizer, or a new one when none is idle."""
        with self._lock:
            if self._idle:
                return self._idle.pop()
        return StreamingRecognizer(self._model, self._sample_rate, input_rate=self._input_rate)

    def release(self, recognizer: StreamingRecognizer) -> None:
        """Reset ``recognizer`` and keep it for the next call, unless enough are idle."""
        recognizer.reset()
        with self._lock:
            if len(self._idle) < self._max_idle:
                self._idle.append(recognizer)

    @property
    def idle(self) -> int:
        with self._lock:
            return len(self._idle)


class RecognizerClosedError(CareRouteError):
    """Audio was fed to a recognizer after ``finish()``."""


class StreamingRecognizer:
    """Vosk recognizer for one call: feed PCM, get cumulative transcripts.

    Args:
        model: a model from ``load_vosk_model``.
        sample_rate: rate the model was trained at (16000 for the small English model).
        input_rate: rate of the PCM passed to ``accept``. It must divide
            ``sample_rate``. Audio is upsampled by the integer ratio before it reaches Vosk.
        partial_words: also report word timings on partial results (costs a little CPU).

    Not thread-safe: feed one recognizer from one thread at a time.
    """

    def __init__(
        self,
        model: Any,
        sample_rate: int = WIDEBAND_RATE_HZ,
        *,
        input_rate: int | None = None,
        partial_words: bool = False,
    ) -> None:
        import vosk

        input_rate = sample_rate if input_rate is None else input_rate
        if input_rate <= 0 or sample_rate % input_rate:
            raise ValueError(
                f"input_rate {input_rate!r} Hz does not divide the model rate {sample_rate!r} Hz; "
                "resample the audio to 8000 or 16000 Hz first"
            )
        self.sample_rate = sample_rate
        self.input_rate = input_rate
        self._upsampler = StreamingUpsampler(sample_rate // input_rate)
        self._kaldi = vosk.KaldiRecognizer(model, sample_rate)
        self._kaldi.SetWords(True)
        self._kaldi.SetPartialWords(partial_words)
        self._finals: list[str] = []
        self._partial = ""
        self._partial_raw: str | None = None
        self._last_text = ""
        self._samples_fed = 0
        self._closed = False

    def reset(self) -> None:
        """Forget everything heard, so the recognizer can serve another call.

        Vosk's ``Reset`` keeps Kaldi's feature pipeline, and with it audio that
        was accepted but not decoded yet and the speaker adaptation. The next
        call then began with the last words of a caller cut off mid-sentence.
        ``FinalResult`` decodes that audio instead, and Vosk starts a new
        pipeline with the next audio. The transcript, counters and the
        upsampler's filter state are cleared here.
        """
        self._kaldi.FinalResult()
        self._upsampler = StreamingUpsampler(self.sample_rate // self.input_rate)
        self._finals = []
        self._partial = ""
        self._partial_raw = None
        self._last_text = ""
        self._samples_fed = 0
        self._closed = False

    @property
    def audio_seconds(self) -> float:
        """Return the seconds of audio fed so far, at the input rate."""
        return self._samples_fed / self.input_rate

    @property
    def transcript(self) -> str:
        """Return the cumulative transcript: finals so far plus the current partial."""
        return " ".join(part for part in (*self._finals, self._partial) if part)

    def accept(self, pcm_le: bytes) -> RecognizerUpdate | None:
        """Feed 16-bit little-endian PCM at ``input_rate``.

        Returns:
            A final update when Vosk detected an endpoint with words in it, a
            partial update when the cumulative transcript changed, else None.

        Raises:
            RecognizerClosedError: ``finish()`` was called already.
            AudioFormatError: ``pcm_le`` has an odd number of bytes.
            ModelError: Vosk rejected the audio, usually because ``sample_rate``
                is not the model's rate.
        """
        if self._closed:
            raise RecognizerClosedError("accept() called after finish(); create a new recognizer")
        audio = self._upsampler.process(pcm_le)
        self._samples_fed += len(pcm_le) // SAMPLE_WIDTH_BYTES
        if not audio:
            return None
        if self._accept_waveform(audio):
            return self._final(json.loads(self._kaldi.Result()))
        raw = self._kaldi.PartialResult()
        if raw == self._partial_raw:
            # Vosk decodes in chunks, so most 20 ms frames leave the partial as it was.
            return None
        self._partial_raw = raw
        return self._partial_update(json.loads(raw))

    def _accept_waveform(self, audio: bytes) -> bool:
        try:
            return bool(self._kaldi.AcceptWaveform(audio))
        except Exception as exc:  # Vosk raises a bare Exception when decoding fails.
            raise ModelError(
                f"Vosk rejected audio at {self.sample_rate} Hz ({exc}); set "
                "recognizer.sample_rate to the rate the model was trained at (16000 for "
                "the small English model)"
            ) from exc

    def finish(self) -> RecognizerUpdate | None:
        """Flush the audio still buffered and return the last final result, if it has words.

        Further ``accept`` calls raise ``RecognizerClosedError``; calling
        ``finish`` again returns None.
        """
        if self._closed:
            return None
        self._closed = True
        tail = self._upsampler.flush()
        update: RecognizerUpdate | None = None
        if tail and self._accept_waveform(tail):
            update = self._final(json.loads(self._kaldi.Result()))
        last = self._final(json.loads(self._kaldi.FinalResult()))
        return last or update

    def _final(self, result: dict[str, Any]) -> RecognizerUpdate | None:
        self._partial = ""
        self._partial_raw = None
        segment = str(result.get("text", "")).strip()
        if not segment:
            # An endpoint in silence or noise produces an empty final: no words.
            return None
        self._finals.append(segment)
        self._last_text = self.transcript
        return RecognizerUpdate(
            kind="final",
            text=self._last_text,
            segment=segment,
            words=_words(result.get("result", ())),
            audio_seconds=self.audio_seconds,
        )

    def _partial_update(self, result: dict[str, Any]) -> RecognizerUpdate | None:
        self._partial = str(result.get("partial", "")).strip()
        text = self.transcript
        if text == self._last_text:
            return None
        self._last_text = text
        return RecognizerUpdate(
            kind="partial",
            text=text,
            segment=self._partial,
            words=_words(result.get("partial_result", ())),
            audio_seconds=self.audio_seconds,
        )


def _words(items: Any) -> tuple[Word, ...]:
    return tuple(
        Word(
            word=str(item["word"]),
            start=float(item["start"]),
            end=float(item["end"]),
            confidence=float(item.get("conf", 1.0)),
        )
        for item in items
    )


async def run_off_loop(
    function: Callable[..., T], *args: Any, executor: Executor | None = None
) -> T:
    """Run a blocking function in ``executor`` (the loop's default when None).

    The current contextvars, such as the call id bound for logging, are
    copied into the worker thread, as ``asyncio.to_thread`` does.
    """
    loop = asyncio.get_running_loop()
    context = contextvars.copy_context()
    call = functools.partial(context.run, function, *args)
    return await loop.run_in_executor(executor, call)


class AsyncRecognizer:
    """Async front for a ``StreamingRecognizer``: decoding runs in a worker thread.

    Calls are serialized with a lock, so the Vosk recognizer receives the audio in
    the order it was passed even if two tasks feed it at once.
    """

    def __init__(self, recognizer: StreamingRecognizer, executor: Executor | None = None) -> None:
        self.recognizer = recognizer
        self._executor = executor
        self._lock = asyncio.Lock()

    async def accept(self, pcm_le: bytes) -> RecognizerUpdate | None:
        """Feed audio off the event loop; see ``StreamingRecognizer.accept``."""
        async with self._lock:
            return await run_off_loop(self.recognizer.accept, pcm_le, executor=self._executor)

    async def finish(self) -> RecognizerUpdate | None:
        """Flush off the event loop; see ``StreamingRecognizer.finish``."""
        async with self._lock:
            return await run_off_loop(self.recognizer.finish, executor=self._executor)
