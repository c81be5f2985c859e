"""Memory growth of one recognizer with the audio it decodes, per decoding graph.

    python -m careroute.bench.recognizer_memory --graph lookahead --seconds 360

One recognizer decodes dev calls back to back, resetting between calls as the
pool does, and the process RSS is printed after each minute of audio. On the
on-the-fly (lookahead) graph the growth does not stop at the end of a call;
on the static graph it stays flat. Each run loads one model, so run the two
graphs in separate processes for a clean comparison.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from careroute.audio import TELEPHONE_RATE_HZ
from careroute.bench.calls import load_dev_calls, rss_mb
from careroute.config import load_config
from careroute.paths import repo_root
from careroute.recognizer import StreamingRecognizer, load_vosk_model

#: Seconds of audio between two printed lines.
REPORT_EVERY_S = 60.0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--graph", choices=("static", "lookahead"), default="static")
    parser.add_argument("--seconds", type=float, default=360.0, help="audio to decode (default 360)")
    parser.add_argument("--config", type=Path, default=repo_root() / "config" / "careroute.yaml")
    parser.add_argument(
        "--manifest", type=Path, default=repo_root().parent / "shared" / "data" / "dev-calls" / "manifest.jsonl"
    )
    args = parser.parse_args(argv)

    recognizer_config = load_config(args.config).recognizer
    model = load_vosk_model(
        recognizer_config.resolved_model_path(), recognizer_config.decoder_settings(), graph=args.graph
    )
    calls = load_dev_calls(args.manifest)
    recognizer = StreamingRecognizer(model, recognizer_config.sample_rate, input_rate=TELEPHONE_RATE_HZ)
    baseline = rss_mb()
    print(f"graph {args.graph}: RSS {baseline:.1f} MiB with the model loaded and one recognizer")
    decoded = 0.0
    next_report = REPORT_EVERY_S
    index = 0
    while decoded < args.seconds:
        call = calls[index % len(calls)]
        index += 1
        for frame in call.frames():
            recognizer.accept(frame)
        recognizer.finish()
        recognizer.reset()
        decoded += call.seconds
        if decoded >= next_report:
            print(f"{decoded:7.0f} s of audio: recognizer +{rss_mb() - baseline:6.1f} MiB", flush=True)
            next_report += REPORT_EVERY_S
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
