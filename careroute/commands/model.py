"""``careroute model``: fetch the Vosk model into the cache and print its path."""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--print-path", action="store_true", help="print only the model path (for scripts)"
    )
    parser.add_argument(
        "--lookahead-only",
        action="store_true",
        help="skip composing the static decoding graph (see recognizer.graph in the config)",
    )


def run(args: argparse.Namespace) -> int:
    from careroute.model_fetch import ensure_model
    from careroute.static_graph import (
        INSTALL_HINT,
        build_static_model,
        find_fst_tools,
        has_lookahead_graph,
        static_model_path,
    )

    def progress(message: str) -> None:
        print(f"careroute model: {message}", file=sys.stderr)

    path = ensure_model(progress=progress)
    static = static_model_path(path)
    if static is None and has_lookahead_graph(path) and not args.lookahead_only:
        tools = find_fst_tools()
        if tools is None:
            progress(f"no static decoding graph: {INSTALL_HINT}")
        else:
            static = build_static_model(path, tools, progress=progress)
    if args.print_path:
        print(path)
    else:
        print(f"Vosk model ready at {path}")
        if static is not None and static != path:
            print(f"Static decoding graph ready at {static}")
        print("Set CAREROUTE_MODEL_DIR to use another model folder.")
    return 0
