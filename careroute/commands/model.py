"""``careroute model``: fetch the Vosk model into the cache and print its path."""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--print-path", action="store_true", help="print only the model path (for scripts)"
    )


def run(args: argparse.Namespace) -> int:
    from careroute.model_fetch import ensure_model

    def progress(message: str) -> None:
        print(f"careroute model: {message}", file=sys.stderr)

    path = ensure_model(progress=progress)
    if args.print_path:
        print(path)
    else:
        print(f"Vosk model ready at {path}")
        print("Set CAREROUTE_MODEL_DIR to use another model folder.")
    return 0
