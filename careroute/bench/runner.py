"""Run the chosen benchmark parts, write bench.json and print the table."""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from careroute.bench import PARTS
from careroute.bench.calls import cpu_count, load_dev_calls


@dataclass(frozen=True, slots=True)
class BenchOptions:
    """Parts and sizes of one ``careroute bench`` run, from its command line."""

    parts: tuple[str, ...]
    quick: bool
    manifest: Path
    output: Path
    config: Path
    overhead_calls: int
    latency_calls: int
    step_seconds: float
    max_k: int
    live_n: tuple[int, ...]

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> BenchOptions:
        quick = bool(args.quick)
        parts = tuple(part for part in PARTS if args.part is None or part in args.part)
        return cls(
            parts=parts,
            quick=quick,
            manifest=args.manifest,
            output=args.output,
            config=args.config,
            overhead_calls=args.overhead_calls or (4 if quick else 20),
            latency_calls=args.latency_calls or (8 if quick else 30),
            step_seconds=args.step_seconds or (3.0 if quick else 10.0),
            max_k=args.max_k or (4 if quick else 64),
            live_n=tuple(args.live_n or ((1, 4) if quick else (1, 5, 10, 20))),
        )


def machine_info() -> dict[str, Any]:
    """Return what the figures depend on: cores, CPU model, load and Python."""
    model = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            model = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), "")
    except OSError:
        model = platform.processor()
    return {
        "cores": cpu_count(),
        "cpu_model": model,
        "load_average_1m_at_start": round(os.getloadavg()[0], 2),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def run_bench(options: BenchOptions, progress: Callable[[str], None] = print) -> int:
    """Run ``options.parts`` in order and write the report; return the exit code."""
    from careroute.bench.report import build_report, markdown_table, write_report
    from careroute.classifier import Classifier
    from careroute.config import load_config
    from careroute.recognizer import load_vosk_model

    machine = machine_info()
    config = load_config(options.config)
    routing = config.routing
    decoder = config.recognizer.decoder_settings()
    model = load_vosk_model(
        config.recognizer.resolved_model_path(), decoder=decoder, graph=config.recognizer.graph
    )
    machine["config"] = str(options.config)
    machine["decoder"] = {
        "max_active": decoder.max_active,
        "beam": decoder.beam,
        "lattice_beam": decoder.lattice_beam,
    }
    classifier = Classifier.load()
    parts: dict[str, dict[str, Any]] = {}
    began = time.monotonic()

    if "overhead" in options.parts:
        from careroute.bench.overhead import decode_pairs, summarize_overhead

        calls = load_dev_calls(options.manifest, options.overhead_calls)
        parts["overhead"] = summarize_overhead(decode_pairs(calls, model, classifier, routing, progress))

    if "latency" in options.parts:
        from careroute.bench.latency import run_latency

        calls = load_dev_calls(options.manifest, options.latency_calls)
        parts["latency"] = run_latency(calls, model, classifier, routing, progress)

    if "capacity" in options.parts:
        from careroute.bench.capacity import CapacitySettings, run_capacity

        calls = load_dev_calls(options.manifest)
        settings = CapacitySettings(step_seconds=options.step_seconds, max_calls=options.max_k)
        parts["capacity"] = run_capacity(model, classifier, routing, calls, settings, progress)

    if "live" in options.parts:
        from careroute.bench.live import run_live

        calls = load_dev_calls(options.manifest)
        parts["live"] = run_live(calls, options.live_n, progress, recognizer=config.recognizer)

    machine["bench_wall_seconds"] = round(time.monotonic() - began, 1)
    machine["load_average_1m_at_end"] = round(os.getloadavg()[0], 2)
    machine["quick"] = options.quick
    report = build_report(parts, machine)
    write_report(report, options.output)
    print(markdown_table(report))
    progress(f"figures written to {options.output}")
    return 0
