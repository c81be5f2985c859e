"""``careroute evaluate``: score a labelled manifest and print the figures.

``--text`` scores the manifest's reference ``text``; ``--audio`` first decodes
each ``audio`` file with the Vosk model, as the live system would hear it.
The last line printed is JSON with the headline figures.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from careroute.classifier import Classifier


def add_arguments(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--text", action="store_true", help="score the manifest's 'text' fields")
    source.add_argument("--audio", action="store_true",
                        help="decode each 'audio' file with Vosk and score the transcript")
    parser.add_argument("--manifest", type=Path, required=True, help="JSON Lines manifest to score")
    parser.add_argument("--artifact", type=Path, default=None,
                        help="classifier artifact (default: models/classifier.skops)")
    parser.add_argument("--bench", action="store_true",
                        help="also time scoring of every word prefix of every call (one thread)")
    parser.add_argument("--errors", action="store_true",
                        help="also list the ids of misrouted calls and missed emergencies")


def run(args: argparse.Namespace) -> int:
    import json
    import time

    from careroute.classifier import Classifier
    from careroute.classifier.dataset import read_jsonl
    from careroute.classifier.metrics import UNDECIDED_LABEL, format_report, summary
    from careroute.errors import CareRouteError
    from careroute.scores import QUEUES, URGENCIES

    if not args.manifest.is_file():
        raise CareRouteError(f"manifest {str(args.manifest)!r} not found")
    rows = read_jsonl(args.manifest)
    started = time.perf_counter()
    classifier = Classifier.load(args.artifact)
    load_seconds = time.perf_counter() - started
    texts = [_text_of(row, args) for row in rows]

    queue_true = [row["queue"] for row in rows]
    urgency_true = [row["urgency"] for row in rows]
    queue_pred: list[str] = []
    urgency_pred: list[str] = []
    for text in texts:
        scores = classifier.score(text)
        queue_pred.append(UNDECIDED_LABEL if scores.queue is None else scores.queue)
        urgency_pred.append(scores.urgency)

    print(format_report("queue", queue_true, queue_pred, QUEUES))
    print()
    print(format_report("urgency", urgency_true, urgency_pred, URGENCIES))
    if args.errors:
        print()
        for row, queue, urgency in zip(rows, queue_pred, urgency_pred, strict=True):
            if queue != row["queue"] or urgency != row["urgency"]:
                print(f"{row.get('id', '?')}: queue {row['queue']} -> {queue}, "
                      f"urgency {row['urgency']} -> {urgency}")
    figures: dict[str, object] = dict(summary(queue_true, queue_pred, urgency_true, urgency_pred))
    figures["source"] = "audio" if args.audio else "text"
    if args.bench:
        figures.update(_benchmark(classifier, texts))
        figures["load_seconds"] = round(load_seconds, 3)
    print(json.dumps(figures))
    return 0


def _text_of(row: dict[str, str], args: argparse.Namespace) -> str:
    from careroute.errors import CareRouteError

    if args.text:
        if "text" not in row:
            raise CareRouteError(f"manifest row {row.get('id')!r} has no 'text' field")
        return row["text"]
    import wave

    from careroute.classifier.transcribe import transcribe_wav
    from careroute.liveeval import CONVERT_HINT
    from careroute.speech import SpeechError

    if "audio" not in row:
        raise CareRouteError(f"manifest row {row.get('id')!r} has no 'audio' field")
    path = args.manifest.parent / row["audio"]
    try:
        return transcribe_wav(path)
    except (OSError, EOFError, wave.Error, SpeechError) as exc:
        raise CareRouteError(
            f"audio {str(path)!r} of manifest row {row.get('id')!r} cannot be read as a PCM WAV "
            f"file ({exc}); {CONVERT_HINT}"
        ) from exc


def _benchmark(classifier: Classifier, texts: list[str]) -> dict[str, object]:
    """Time ``score`` on every word prefix of ``texts``, as rolling partials arrive."""
    import statistics
    import time

    partials = [" ".join(text.split()[:n]) for text in texts for n in range(1, len(text.split()) + 1)]
    timings: list[float] = []
    for partial in partials:
        started = time.perf_counter()
        classifier.score(partial)
        timings.append(time.perf_counter() - started)
    timings.sort()
    return {
        "partials": len(partials),
        "median_ms": round(statistics.median(timings) * 1000, 4),
        "p95_ms": round(timings[int(len(timings) * 0.95)] * 1000, 4),
    }
