"""``careroute ari``: run the live triage service against Asterisk's ARI."""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

from careroute.paths import repo_root

if TYPE_CHECKING:
    from careroute.config import CareRouteConfig


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
    from ari_app.runner import run_service

    return serve(args, run_service)


def serve(args: argparse.Namespace, server: Callable[[CareRouteConfig], Coroutine[Any, Any, None]]) -> int:
    """Load ``--config``, set up logging and run ``server`` until it ends or Ctrl-C."""
    import asyncio

    from careroute.config import load_config
    from careroute.logs import configure_logging

    config = load_config(args.config)
    configure_logging(config.logging.level, debug_text=config.logging.debug_text or args.debug_text)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(server(config))
    return 0
