"""``careroute eagi-serve``: run the resident engine behind the EAGI relay."""

from __future__ import annotations

import argparse

from careroute.commands.ari import add_arguments, serve

__all__ = ["add_arguments", "run"]


def run(args: argparse.Namespace) -> int:
    from agi.eagi_server import run_server

    return serve(args, run_server)
