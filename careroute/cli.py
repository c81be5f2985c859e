"""The ``careroute`` command line.

Each subcommand lives in its own module under ``careroute.commands`` and is
imported only when it runs, so ``careroute --help`` stays fast and a missing
optional dependency breaks only the command that needs it.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from careroute import __version__
from careroute.errors import CareRouteError

#: Subcommand name -> (module under careroute.commands, one-line help).
COMMANDS: dict[str, tuple[str, str]] = {
    "model": ("model", "download or locate the Vosk speech model"),
    "testbed": ("testbed", "build, run (until Ctrl-C) or check the local Asterisk test bed"),
    "train": ("train", "train the intent and urgency classifier and write its model card"),
    "evaluate": ("evaluate", "score a labelled call manifest with the classifier"),
    "ari": ("ari", "run the live triage service against Asterisk's ARI"),
    "eagi-serve": ("eagi", "run the resident engine that the EAGI relay script connects to"),
    "eval": ("live_eval", "place the manifest's calls through Asterisk and the app, and score where they went"),
    "bench": ("bench", "measure capacity, overhead, decision latency and live calls"),
    "call": ("call", "place one synthesized test caller into the running test bed"),
}


def build_parser() -> argparse.ArgumentParser:
    """Build the top-level parser with one subparser per command."""
    parser = argparse.ArgumentParser(
        prog="careroute",
        description="Route healthcare phone calls on Asterisk by what the caller says.",
    )
    parser.add_argument("--version", action="version", version=f"careroute {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        sub = subparsers.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(_module=module_name)
        module = importlib.import_module(f"careroute.commands.{module_name}")
        module.add_arguments(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2

    module = importlib.import_module(f"careroute.commands.{args._module}")
    try:
        result: int = module.run(args)
    except CareRouteError as exc:
        print(f"careroute {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return result


if __name__ == "__main__":
    sys.exit(main())
