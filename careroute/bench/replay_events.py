"""Recognizer events of the dev calls for the routing replay, decoded once and cached.

Each dev call is fed in 20 ms frames to a ``StreamingRecognizer`` with the
configured model, decoder settings and graph, as the engine feeds it. Every
update becomes an ``Event``: the audio time at the end of the frame that
produced it, its kind and the cumulative transcript. The recognizer reports a
partial only when the transcript changed, so the list contains no repeats.

The cache is a JSON file keyed by a SHA-256 digest. The digest covers the
decoding model folder (every file's path, size and modification time), the
decoder settings, the manifest and its audio files, the Vosk version, and the
source of the recognizer and upsampler. A changed model or setting therefore
decodes again instead of reusing old events.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import multiprocessing
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Literal, NamedTuple

from careroute import audio, recognizer
from careroute.audio import TELEPHONE_RATE_HZ
from careroute.bench.calls import FRAME_BYTES, DevCall
from careroute.config.schema import RecognizerConfig
from careroute.errors import CareRouteError
from careroute.static_graph import static_model_path

#: Version of the cache file layout. Raise it when ``Event`` or the file changes.
CACHE_FORMAT = 1
#: Hex digits of the cache key in the default file name.
KEY_DIGITS = 16
DEFAULT_CACHE_DIR = Path("build/bench")


class Event(NamedTuple):
    """One recognizer update of a call."""

    seconds: float
    """Audio seconds fed when the update came: the end of the frame that produced it."""
    kind: Literal["partial", "final"]
    text: str
    """Cumulative transcript: every final result so far plus the current partial."""


def decoding_folder(config: RecognizerConfig) -> Path:
    """Return the model folder the recognizer loads for ``config.graph``, before decoder overlays."""
    base = config.resolved_model_path().expanduser().resolve()
    if config.graph == "lookahead":
        return base
    return static_model_path(base) or base


def cache_key(config: RecognizerConfig, calls: Sequence[DevCall], manifest: Path) -> str:
    """Return the hex SHA-256 that identifies the events of ``calls`` decoded with ``config``.

    Raises:
        CareRouteError: the model folder or the manifest cannot be read.
    """
    digest = hashlib.sha256()

    def add(*parts: object) -> None:
        digest.update("\0".join(str(part) for part in parts).encode())
        digest.update(b"\n")

    add("format", CACHE_FORMAT, "frame_bytes", FRAME_BYTES)
    add("vosk", importlib.metadata.version("vosk"))
    add("sample_rate", config.sample_rate, "graph", config.graph)
    add("decoder", sorted(config.decoder_settings().options().items()))
    folder = decoding_folder(config)
    if not folder.is_dir():
        raise CareRouteError(
            f"Vosk model folder {str(folder)!r} not found; run 'make model' or set "
            "recognizer.model_path in --config"
        )
    add("model", folder)
    for path, size, mtime_ns in _file_stats(folder):
        add(path, size, mtime_ns)
    try:
        add("manifest", hashlib.sha256(manifest.read_bytes()).hexdigest())
    except OSError as exc:
        raise CareRouteError(
            f"reading the manifest {str(manifest)!r} failed ({exc.strerror}); pass --manifest"
        ) from exc
    for call in calls:
        stat = call.path.stat()
        add(call.call_id, call.path, stat.st_size, stat.st_mtime_ns)
    for module in (recognizer, audio):
        source = module.__file__
        if source is not None:
            add(module.__name__, hashlib.sha256(Path(source).read_bytes()).hexdigest())
    return digest.hexdigest()


def _file_stats(folder: Path) -> list[tuple[str, int, int]]:
    """Return (relative path, size, mtime in ns) of every file under ``folder``, links followed."""
    stats: list[tuple[str, int, int]] = []
    for root, subfolders, files in os.walk(folder, followlinks=True):
        subfolders.sort()
        for name in sorted(files):
            path = Path(root) / name
            stat = path.stat()
            stats.append((str(path.relative_to(folder)), stat.st_size, stat.st_mtime_ns))
    return stats


def default_cache_path(key: str) -> Path:
    """Return the default cache file for ``key``, under ``build/bench``."""
    return DEFAULT_CACHE_DIR / f"replay-events-{key[:KEY_DIGITS]}.json"


def decode_call(model: Any, call: DevCall, sample_rate: int) -> list[Event]:
    """Feed ``call`` in 20 ms frames to a new recognizer on ``model`` and return its events."""
    stream = recognizer.StreamingRecognizer(model, sample_rate, input_rate=TELEPHONE_RATE_HZ)
    events: list[Event] = []
    for start in range(0, len(call.pcm), FRAME_BYTES):
        update = stream.accept(call.pcm[start : start + FRAME_BYTES])
        if update is not None and update.text:
            events.append(Event(update.audio_seconds, update.kind, update.text))
    update = stream.finish()
    if update is not None and update.text:
        events.append(Event(update.audio_seconds, update.kind, update.text))
    return events


# The model each worker process loads once, in ``_load_worker_model``.
_worker_model: Any = None
_worker_sample_rate = 0


def _load_worker_model(config: RecognizerConfig) -> None:
    global _worker_model, _worker_sample_rate
    _worker_model = recognizer.load_vosk_model(
        config.resolved_model_path(), config.decoder_settings(), graph=config.graph
    )
    _worker_sample_rate = config.sample_rate


def _decode_in_worker(call: DevCall) -> tuple[str, list[Event]]:
    return call.call_id, decode_call(_worker_model, call, _worker_sample_rate)


def decode_calls(
    calls: Sequence[DevCall],
    config: RecognizerConfig,
    workers: int,
    progress: Callable[[str], None],
) -> dict[str, list[Event]]:
    """Decode ``calls`` in ``workers`` processes and return their events by call id, in call order.

    Each worker loads the model once. Processes are started with "spawn", because
    a forked copy of a parent that loaded Vosk is not safe to use.
    """
    decoded: dict[str, list[Event]] = {}
    context = multiprocessing.get_context("spawn")
    with context.Pool(workers, initializer=_load_worker_model, initargs=(config,)) as pool:
        for call_id, events in pool.imap_unordered(_decode_in_worker, calls, chunksize=4):
            decoded[call_id] = events
            if len(decoded) % 20 == 0 or len(decoded) == len(calls):
                progress(f"decoded {len(decoded)} of {len(calls)} calls")
    return {call.call_id: decoded[call.call_id] for call in calls}


def read_cache(path: Path, key: str) -> dict[str, list[Event]] | None:
    """Return the events stored in ``path``, or None when it is missing or has another key.

    Raises:
        CareRouteError: ``path`` exists but is not a readable events file.
    """
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("key") != key:
            return None
        return {
            call_id: [Event(float(t), kind, str(text)) for t, kind, text in rows]
            for call_id, rows in data["calls"].items()
        }
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise CareRouteError(
            f"events cache {str(path)!r} cannot be read ({exc!r}); delete it or pass "
            "another --cache path"
        ) from exc


def write_cache(
    path: Path, key: str, config: RecognizerConfig, events: dict[str, list[Event]]
) -> None:
    """Write ``events`` with ``key`` to ``path`` through a temporary file and a rename."""
    data = {
        "format": CACHE_FORMAT,
        "key": key,
        "model": str(decoding_folder(config)),
        "graph": config.graph,
        "decoder": config.decoder_settings().options(),
        "calls": {call_id: [list(event) for event in rows] for call_id, rows in events.items()},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{path.name}.partial")
    staging.write_text(json.dumps(data) + "\n", encoding="utf-8")
    staging.replace(path)


def load_or_decode(
    calls: Sequence[DevCall],
    config: RecognizerConfig,
    manifest: Path,
    cache: Path | None,
    *,
    workers: int,
    progress: Callable[[str], None],
) -> tuple[dict[str, list[Event]], Path]:
    """Return the events of ``calls`` from the cache, decoding and caching them when it is stale.

    ``cache`` None means ``default_cache_path`` of the key. Returns the events
    and the cache file used.
    """
    key = cache_key(config, calls, manifest)
    path = cache if cache is not None else default_cache_path(key)
    events = read_cache(path, key)
    if events is not None and _covers(events, (call.call_id for call in calls)):
        progress(f"events of {len(calls)} calls read from {path}")
        return events, path
    if path.is_file():
        progress(f"{path} was decoded with another model, setting or manifest; decoding again")
    progress(f"decoding {len(calls)} calls in {workers} processes")
    events = decode_calls(calls, config, workers, progress)
    write_cache(path, key, config, events)
    return events, path


def _covers(events: dict[str, list[Event]], call_ids: Iterable[str]) -> bool:
    return all(call_id in events for call_id in call_ids)
