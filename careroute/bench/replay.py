"""Offline routing replay: dev calls decoded once, routed under many policy settings.

Run ``python -m careroute.bench.replay --grid queue_threshold=0.7,0.8,0.9``.
The first run decodes every dev call through the engine's recognizer and
caches the events (``careroute.bench.replay_events``). Later runs with the
same model, decoder settings and manifest read the cache and take seconds.
Each setting replays the events through the real classifier and routing
policy (``careroute.bench.replay_policy``). The tool prints a markdown table,
one row per setting, and then one JSON line with every figure.

Unlike ``careroute eval`` there is no Asterisk, no network and no greeting:
the 8 kHz audio reaches the model through CareRoute's upsampler instead of
Asterisk's resampler, and the listening timers start with the caller's audio.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import yaml

from careroute.bench.calls import DevCall, load_dev_calls
from careroute.bench.replay_events import Event, load_or_decode
from careroute.bench.replay_policy import (
    CallOutcome,
    MemoizedScorer,
    ScoreFunction,
    figures,
    figures_by_engine,
    replay_call,
)
from careroute.commands.bench import DEFAULT_MANIFEST
from careroute.config import load_config
from careroute.config.loader import parse_config
from careroute.config.schema import CareRouteConfig, RoutingConfig
from careroute.errors import CareRouteError, ConfigError
from careroute.paths import repo_root

#: Decoding processes. Two keep the decode to a few minutes without taking
#: more than two cores from other work.
DEFAULT_WORKERS = 2
_SECTIONS = frozenset(item.name for item in fields(CareRouteConfig))


@dataclass(frozen=True, slots=True)
class Setting:
    """One row of the replay: a label and the routing configuration it stands for."""

    label: str
    overrides: dict[str, Any]
    """Dotted routing keys to the values that replace the configured ones."""
    routing: RoutingConfig


def parse_assignment(text: str, option: str) -> tuple[str, str]:
    """Split ``KEY=VALUE`` into the dotted routing key and the value text.

    A key without a section is a routing key, so ``queue_threshold`` and
    ``routing.queue_threshold`` are the same.

    Raises:
        ConfigError: ``text`` has no ``=`` or no key, or names another section.
    """
    key, separator, value = text.partition("=")
    key = key.strip()
    if not separator or not key:
        raise ConfigError(
            f"{option} {text!r} is invalid: use {option} KEY=VALUE with a routing key, "
            "such as routing.queue_threshold=0.8"
        )
    section = key.split(".", 1)[0]
    if section == "routing":
        return key, value.strip()
    if section in _SECTIONS:
        raise ConfigError(
            f"{option} key {key!r} is not a routing key: the replay reuses decoded events, "
            "so it varies routing settings only; change other sections in the --config file"
        )
    return f"routing.{key}", value.strip()


def parse_value(key: str, text: str) -> Any:
    """Read ``text`` as a YAML scalar, as the config file would hold it.

    Raises:
        ConfigError: ``text`` is not valid YAML.
    """
    try:
        return yaml.safe_load(text) if text else None
    except yaml.YAMLError as exc:
        raise ConfigError(
            f"{key} = {text!r} is invalid: it is not a YAML value ({exc.__class__.__name__}); "
            "quote strings such as \"0\""
        ) from exc


def routing_with(
    data: dict[str, Any], overrides: dict[str, Any], base_dir: Path
) -> RoutingConfig:
    """Return the routing section of config ``data`` with ``overrides`` applied and validated.

    Validation is the config loader's, so an unknown key or a bad value raises
    the same error as in the YAML file.

    Raises:
        ConfigError: a key is unknown, or a value is invalid alone or with the others.
    """
    merged = copy.deepcopy(data)
    for dotted, value in overrides.items():
        section = merged
        *parents, name = dotted.split(".")
        for parent in parents:
            child = section.get(parent)
            if not isinstance(child, dict):
                child = {}
                section[parent] = child
            section = child
        section[name] = value
    return parse_config(merged, base_dir=base_dir).routing


def build_settings(
    config_path: Path, assignments: Sequence[str], grid: str | None
) -> list[Setting]:
    """Return one ``Setting`` per grid value, or one for the config with ``--set`` alone.

    Raises:
        ConfigError: the config file, an override or a grid value is invalid.
    """
    load_config(config_path)  # Reports a broken config file before any override does.
    data = yaml.safe_load(config_path.read_text(encoding="utf-8")) or {}
    base: dict[str, Any] = {}
    for text in assignments:
        key, value = parse_assignment(text, "--set")
        base[key] = parse_value(key, value)

    rows: list[dict[str, Any]] = [base]
    if grid is not None:
        key, values = parse_assignment(grid, "--grid")
        choices = [choice.strip() for choice in values.split(",")]
        if not any(choices):
            raise ConfigError(
                f"--grid {grid!r} is invalid: list the values after '=', such as "
                "--grid queue_threshold=0.7,0.8,0.9"
            )
        rows = [{**base, key: parse_value(key, choice)} for choice in choices]

    settings: list[Setting] = []
    for overrides in rows:
        routing = routing_with(data, overrides, config_path.parent)
        label = ", ".join(f"{k.removeprefix('routing.')}={v}" for k, v in overrides.items())
        settings.append(Setting(label or "as configured", overrides, routing))
    return settings


def read_engines(manifest: Path) -> dict[str, str]:
    """Return the speech synthesizer per call id: the part of ``voice`` before the first colon.

    Rows without a voice get "unknown".
    """
    engines: dict[str, str] = {}
    with manifest.open(encoding="utf-8") as lines:
        for line in lines:
            if not line.strip():
                continue
            row = json.loads(line)
            call_id = str(row.get("id", Path(str(row["audio"])).stem))
            engines[call_id] = str(row.get("voice") or "unknown").split(":", 1)[0]
    return engines


def replay_setting(
    calls: Sequence[DevCall],
    events: dict[str, list[Event]],
    engines: dict[str, str],
    score: ScoreFunction,
    routing: RoutingConfig,
) -> list[CallOutcome]:
    """Replay every call under ``routing`` and return the outcomes in call order."""
    return [
        CallOutcome(
            call_id=call.call_id,
            engine=engines.get(call.call_id, "unknown"),
            expected_queue=call.queue,
            expected_urgency=call.urgency,
            speech_end_s=call.speech_end_s,
            decision=replay_call(events[call.call_id], score, routing, call.seconds),
        )
        for call in calls
    ]


def markdown_table(rows: Sequence[dict[str, Any]]) -> str:
    """Format the figures as a markdown table with one row per setting.

    Each cell shows the figure over all calls, then per synthesizer in brackets.
    """
    engines = sorted({engine for row in rows for engine in row["engines"]})
    names = " / ".join(engines)
    header = (
        "| Setting | Calls | Queue accuracy | Emergencies caught | False emergencies "
        "| Undecided at audio end | Escalations | Decision p50, p90 (s after speech end) |"
    )
    lines = [
        f"Figures: all calls ({names})",
        "",
        header,
        "|" + "---|" * (header.count("|") - 1),
    ]
    for row in rows:
        groups = [row["all"], *(row["engines"][engine] for engine in engines)]
        cells = [
            row["setting"],
            str(row["all"]["calls"]),
            _with_engines(groups, lambda f: _number(f["queue_accuracy"], "{:.3f}")),
            _with_engines(groups, lambda f: f"{f['emergencies_caught']}/{f['emergencies']}"),
            _with_engines(groups, lambda f: f"{f['false_emergencies']}/{f['non_emergencies']}"),
            _with_engines(groups, lambda f: str(f["undecided_at_audio_end"])),
            _with_engines(groups, lambda f: str(f["escalations"])),
            _with_engines(
                groups,
                lambda f: f"{_number(f['decision_delay_p50_s'], '{:+.2f}')}, "
                f"{_number(f['decision_delay_p90_s'], '{:+.2f}')}",
            ),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _with_engines(groups: Sequence[dict[str, Any]], cell: Callable[[dict[str, Any]], str]) -> str:
    overall, *per_engine = groups
    if not per_engine:
        return cell(overall)
    return f"{cell(overall)} ({' / '.join(cell(group) for group in per_engine)})"


def _number(value: float | None, pattern: str) -> str:
    return "n/a" if value is None else pattern.format(value)


def run(args: argparse.Namespace, progress: Callable[[str], None]) -> int:
    """Validate the settings, load or decode the events, replay each setting and print the figures."""
    settings = build_settings(args.config, args.set or [], args.grid)
    config = load_config(args.config)
    calls = load_dev_calls(args.manifest, args.limit)
    engines = read_engines(args.manifest)
    events, cache = load_or_decode(
        calls, config.recognizer, args.manifest, args.cache, workers=args.workers, progress=progress
    )

    from careroute.classifier import Classifier

    score = MemoizedScorer(Classifier.load(config.classifier.artifact_path).score)
    rows: list[dict[str, Any]] = []
    for setting in settings:
        outcomes = replay_setting(calls, events, engines, score, setting.routing)
        rows.append({
            "setting": setting.label,
            "overrides": setting.overrides,
            "all": figures(outcomes),
            "engines": figures_by_engine(outcomes),
        })
    print(markdown_table(rows))
    print(json.dumps({
        "manifest": str(args.manifest),
        "config": str(args.config),
        "cache": str(cache),
        "rows": rows,
    }))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m careroute.bench.replay", description=__doc__.split("\n", 1)[0]
    )
    parser.add_argument("--manifest", type=Path, default=DEFAULT_MANIFEST,
                        help="dev-call manifest (JSON Lines with 'audio', 'queue', 'urgency', "
                        "'voice'; default: the one careroute bench uses)")
    parser.add_argument("--config", type=Path, default=repo_root() / "config" / "careroute.yaml",
                        help="YAML configuration whose recognizer section decodes and whose "
                        "routing section routes (default: config/careroute.yaml)")
    parser.add_argument("--cache", type=Path, default=None,
                        help="JSON file of decoded events; decoded again when its model, decoder "
                        "settings or manifest differ (default: build/bench/replay-events-KEY.json)")
    parser.add_argument("--set", action="append", metavar="routing.KEY=VALUE",
                        help="replace one routing setting of --config for every row (repeatable; "
                        "VALUE is YAML, such as 0.8 or nurse)")
    parser.add_argument("--grid", metavar="KEY=V1,V2,...",
                        help="one routing key and its values: one row per value")
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS,
                        help=f"decoding processes when the cache is stale (default {DEFAULT_WORKERS})")
    parser.add_argument("--limit", type=int, default=None,
                        help="replay only the first LIMIT calls of the manifest (default: all)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error(f"--workers {args.workers!r} is invalid: use 1 or more processes")
    if args.limit is not None and args.limit < 1:
        parser.error(f"--limit {args.limit!r} is invalid: use 1 or more calls, or leave it out")

    def progress(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    try:
        return run(args, progress)
    except CareRouteError as exc:
        print(f"replay: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
