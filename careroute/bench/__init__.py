"""Benchmarks behind ``careroute bench``: capacity, overhead, decision latency, live calls.

Each part is a module with a ``run_*`` function that returns plain,
JSON-ready figures. ``careroute.bench.report`` collects them into
``build/bench/bench.json`` and a markdown table.
"""

#: The benchmark parts, in the order ``careroute bench`` runs them.
PARTS = ("capacity", "overhead", "latency", "live")
