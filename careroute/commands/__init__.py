"""One module per ``careroute`` subcommand.

Each module defines ``add_arguments(parser)`` and ``run(args) -> int``. The
modules import their heavy dependencies inside ``run`` so that building the
parser stays cheap.
"""
