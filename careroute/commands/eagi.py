"""``careroute eagi-serve``: run the resident engine behind the EAGI relay."""

from __future__ import annotations

import argparse
import contextlib
from pathlib import Path

from careroute.paths import repo_root


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        type=Path,
        default=repo_root() / "config" / "careroute.yaml",
        help="path of the YAML configuration (default: config/careroute.yaml)",
    )
    parser.add_argument(
        "--debug-text",
        action="store_true",
        help="write transcript text to the log (troubleshooting only; logs a warning)",
    )


def run(args: argparse.Namespace) -> int:
    import asyncio

    from agi.eagi_server import run_server
    from careroute.config import load_config
    from careroute.logs import configure_logging

    config = load_config(args.config)
    configure_logging(config.logging.level, debug_text=config.logging.debug_text or args.debug_text)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run_server(config))
    return 0
