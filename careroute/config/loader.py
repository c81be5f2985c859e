"""Load ``careroute.yaml`` into the frozen dataclasses of ``careroute.config.schema``.

Validation happens once, at load: an unknown key, a value of the wrong type or
an out-of-range value raises ``ConfigError`` with the dotted key, the value
and a fix. A key that is absent keeps its default. Relative paths are
resolved against the folder of the YAML file.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from pathlib import Path
from typing import Any, Literal, TypeVar, cast

import yaml

from careroute.config.checks import CHECKS
from careroute.config.schema import CareRouteConfig
from careroute.errors import ConfigError

T = TypeVar("T")

#: Keys that would put a secret into the YAML file, with where the secret goes instead.
_SECRET_KEYS = {
    "ari.password": "set ari.password_env to the name of an environment variable or "
    "ari.password_file to a file that contains the password",
    "ami.secret": "set ami.secret_env to the name of an environment variable or "
    "ami.secret_file to a file that contains the secret",
}


def load_config(path: Path | str) -> CareRouteConfig:
    """Read and validate a YAML configuration file.

    Raises:
        ConfigError: the file cannot be read or parsed, or a key or value is invalid.
    """
    config_path = Path(path)
    try:
        text = config_path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"config file {str(config_path)!r} cannot be read ({exc.strerror}); "
            "pass --config with the path of careroute.yaml"
        ) from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {str(config_path)!r} is not valid YAML: {exc}") from exc
    return parse_config(data, base_dir=config_path.parent)


def parse_config(data: Any, base_dir: Path | None = None) -> CareRouteConfig:
    """Validate already-parsed YAML data (None or an empty file gives the defaults).

    Raises:
        ConfigError: a key or value is invalid.
    """
    if data is None:
        data = {}
    return _build(CareRouteConfig, data, "", base_dir or Path.cwd())


def _build(cls: type[T], data: Any, prefix: str, base_dir: Path) -> T:
    where = prefix.rstrip(".") or "the top level"
    if not isinstance(data, dict):
        raise ConfigError(
            f"{where} must be a mapping of keys to values, got {type(data).__name__} {data!r}"
        )
    fields = {item.name: item for item in dataclasses.fields(cast(Any, cls))}
    hints = typing.get_type_hints(cls)

    for key in data:
        dotted = f"{prefix}{key}"
        if dotted in _SECRET_KEYS:
            raise ConfigError(
                f"{dotted} is not allowed: secrets never go into the config file; "
                f"{_SECRET_KEYS[dotted]}"
            )
        if key not in fields:
            raise ConfigError(_unknown_key_message(dotted, str(key), list(fields), where))

    values: dict[str, Any] = {}
    for name, value in data.items():
        dotted = f"{prefix}{name}"
        kind = hints[name]
        if dataclasses.is_dataclass(kind):
            values[name] = _build(cast(type[Any], kind), value, f"{dotted}.", base_dir)
            continue
        converted = _convert(kind, value, dotted, base_dir)
        check = fields[name].metadata.get("check")
        if check is not None and converted is not None:
            problem = CHECKS[check](converted)
            if problem is not None:
                raise ConfigError(f"{dotted} = {value!r} is invalid: {problem}")
        values[name] = converted

    result = cls(**values)
    _check_section(result, prefix)
    return result


def _unknown_key_message(dotted: str, key: str, known: list[str], where: str) -> str:
    message = f"unknown key {dotted!r}"
    close = difflib.get_close_matches(key, known, n=1)
    if close:
        message += f"; did you mean {close[0]!r}?"
    return f"{message} (keys allowed in {where}: {', '.join(sorted(known))})"


def _convert(kind: Any, value: Any, dotted: str, base_dir: Path) -> Any:
    origin = typing.get_origin(kind)
    if origin in (types.UnionType, typing.Union):
        options = [arg for arg in typing.get_args(kind) if arg is not type(None)]
        if value is None:
            return None
        return _convert(options[0], value, dotted, base_dir)
    if origin is Literal:
        allowed = typing.get_args(kind)
        if value not in allowed:
            raise ConfigError(
                f"{dotted} = {value!r} is invalid: use one of {', '.join(map(repr, allowed))}"
            )
        return value
    if kind is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{dotted} = {value!r} is invalid: use true or false")
        return value
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{dotted} = {value!r} is invalid: use a whole number")
        return value
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{dotted} = {value!r} is invalid: use a number")
        return float(value)
    if kind is str:
        if not isinstance(value, str):
            raise ConfigError(f"{dotted} = {value!r} is invalid: use a string (quote it in YAML)")
        return value
    if kind is Path:
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{dotted} = {value!r} is invalid: use a file or folder path")
        path = Path(value).expanduser()
        return path if path.is_absolute() else base_dir / path
    raise TypeError(f"config field {dotted!r} has unsupported type {kind!r}")  # schema bug


def _check_section(section: Any, prefix: str) -> None:
    """Check rules that involve more than one field of a section."""
    if prefix == "ari.":
        if section.reconnect_backoff_min > section.reconnect_backoff_max:
            raise ConfigError(
                f"ari.reconnect_backoff_min = {section.reconnect_backoff_min!r} is larger than "
                f"ari.reconnect_backoff_max = {section.reconnect_backoff_max!r}; swap them"
            )
    elif prefix == "media.":
        if section.rtp_port_min > section.rtp_port_max:
            raise ConfigError(
                f"media.rtp_port_min = {section.rtp_port_min!r} is larger than "
                f"media.rtp_port_max = {section.rtp_port_max!r}; swap them"
            )
    elif prefix == "routing.priorities.":
        if not section.emergency > section.urgent > section.routine:
            raise ConfigError(
                f"routing.priorities must order emergency > urgent > routine, got "
                f"{section.emergency!r} > {section.urgent!r} > {section.routine!r}; "
                "raise the emergency priority or lower the others"
            )
    elif prefix == "routing.":
        if section.final_threshold > section.queue_threshold:
            raise ConfigError(
                f"routing.final_threshold = {section.final_threshold!r} is above "
                f"routing.queue_threshold = {section.queue_threshold!r}; a final result "
                "needs less evidence than a partial, so lower it"
            )
        if section.max_listen_seconds <= section.no_speech_timeout:
            raise ConfigError(
                f"routing.max_listen_seconds = {section.max_listen_seconds!r} must be longer "
                f"than routing.no_speech_timeout = {section.no_speech_timeout!r}, or the "
                "reprompt never plays; raise max_listen_seconds"
            )
