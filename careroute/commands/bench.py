"""``careroute bench``: capacity, overhead, decision latency and live-call benchmarks.

Prints progress, then a markdown table of the headline figures, and writes
every figure to ``build/bench/bench.json``. ``--part`` runs one part alone;
``--quick`` shrinks every part to a smoke run of well under a minute.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from careroute.bench import PARTS
from careroute.paths import repo_root

DEFAULT_MANIFEST = Path("../shared/data/dev-calls/manifest.jsonl")
DEFAULT_OUTPUT = Path("build/bench/bench.json")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--part", choices=PARTS, action="append", default=None,
                        help="run only this part (repeat for several; default: all four)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: fewer calls, shorter steps, K and N up to 4")
    parser.add_argument("--config", type=Path, default=repo_root() / "config" / "careroute.yaml",
                        help="YAML configuration whose recognizer and routing settings the engine "
                        "uses (default: config/careroute.yaml)")
    parser.add_argument("--manifest", type=Path, default=DEFAULT_MANIFEST,
                        help="dev-call manifest (JSON Lines with 'audio', 'queue', 'urgency')")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT,
                        help="where to write the JSON figures (default: build/bench/bench.json)")
    parser.add_argument("--overhead-calls", type=int, default=None,
                        help="dev calls the overhead part decodes twice (default 20, quick 4)")
    parser.add_argument("--latency-calls", type=int, default=None,
                        help="dev calls the decision-latency part decides (default 30, quick 8)")
    parser.add_argument("--step-seconds", type=float, default=None,
                        help="wall seconds of traffic per capacity step (default 10, quick 3)")
    parser.add_argument("--max-k", type=int, default=None,
                        help="largest K the capacity part tries (default 64, quick 4)")
    parser.add_argument("--live-n", type=int, action="append", default=None,
                        help="concurrent live calls per round (repeat; default 1 5 10 20, quick 1 4)")


def run(args: argparse.Namespace) -> int:
    from careroute.bench.runner import BenchOptions, run_bench

    options = BenchOptions.from_args(args)
    return run_bench(options)
