"""Typed ARI models (channels, bridges, playbacks, applications), parsed from Asterisk's JSON.

Only the fields CareRoute reads are typed; every model keeps the JSON it was
parsed from in ``raw``, so extra fields are never lost and never break parsing.
Field names follow the ARI data model (``resources.json`` in Asterisk's
``rest-api`` directory) converted to snake_case.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

JsonObject = Mapping[str, Any]


def text_field(data: JsonObject, key: str, default: str = "") -> str:
    """Return ``data[key]`` as a string, or ``default`` when it is missing."""
    value = data.get(key, default)
    return value if isinstance(value, str) else str(value)


def parse_ari_time(text: str) -> datetime | None:
    """Parse an ARI timestamp such as ``2026-12-04T23:57:10.168+0000``; None when unreadable."""
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z")
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class CallerId:
    """Name and number of a channel's caller or connected party."""

    name: str = ""
    number: str = ""

    @classmethod
    def from_json(cls, data: JsonObject | None) -> CallerId:
        if not data:
            return cls()
        return cls(name=text_field(data, "name"), number=text_field(data, "number"))


@dataclass(frozen=True, slots=True)
class DialplanLocation:
    """A channel's position in the dialplan (context, extension, priority)."""

    context: str = ""
    exten: str = ""
    priority: int = 0
    app_name: str = ""
    app_data: str = ""

    @classmethod
    def from_json(cls, data: JsonObject | None) -> DialplanLocation:
        if not data:
            return cls()
        return cls(
            context=text_field(data, "context"),
            exten=text_field(data, "exten"),
            priority=int(data.get("priority", 0)),
            app_name=text_field(data, "app_name"),
            app_data=text_field(data, "app_data"),
        )


@dataclass(frozen=True, slots=True)
class Channel:
    """An ARI channel: ``id`` is the unique id used in every channel request."""

    id: str
    name: str
    state: str
    caller: CallerId = field(default_factory=CallerId)
    connected: CallerId = field(default_factory=CallerId)
    dialplan: DialplanLocation = field(default_factory=DialplanLocation)
    creationtime: str = ""
    language: str = ""
    #: Channel variables Asterisk attaches, e.g. ``UNICASTRTP_LOCAL_PORT`` on externalMedia.
    channelvars: dict[str, str] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: JsonObject) -> Channel:
        variables = data.get("channelvars") or {}
        return cls(
            id=text_field(data, "id"),
            name=text_field(data, "name"),
            state=text_field(data, "state"),
            caller=CallerId.from_json(data.get("caller")),
            connected=CallerId.from_json(data.get("connected")),
            dialplan=DialplanLocation.from_json(data.get("dialplan")),
            creationtime=text_field(data, "creationtime"),
            language=text_field(data, "language"),
            channelvars={str(k): str(v) for k, v in variables.items()},
            raw=dict(data),
        )


@dataclass(frozen=True, slots=True)
class Bridge:
    """An ARI bridge and the ids of the channels in it."""

    id: str
    technology: str = ""
    bridge_type: str = ""
    bridge_class: str = ""
    creator: str = ""
    name: str = ""
    channels: tuple[str, ...] = ()
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: JsonObject) -> Bridge:
        return cls(
            id=text_field(data, "id"),
            technology=text_field(data, "technology"),
            bridge_type=text_field(data, "bridge_type"),
            bridge_class=text_field(data, "bridge_class"),
            creator=text_field(data, "creator"),
            name=text_field(data, "name"),
            channels=tuple(str(c) for c in data.get("channels", ())),
            raw=dict(data),
        )


@dataclass(frozen=True, slots=True)
class Playback:
    """A media playback on a channel or bridge; ``state`` is queued, playing, done or failed."""

    id: str
    media_uri: str = ""
    target_uri: str = ""
    state: str = ""
    language: str = ""
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: JsonObject) -> Playback:
        return cls(
            id=text_field(data, "id"),
            media_uri=text_field(data, "media_uri"),
            target_uri=text_field(data, "target_uri"),
            state=text_field(data, "state"),
            language=text_field(data, "language"),
            raw=dict(data),
        )


@dataclass(frozen=True, slots=True)
class Application:
    """A Stasis application and the resources it currently owns."""

    name: str
    channel_ids: tuple[str, ...] = ()
    bridge_ids: tuple[str, ...] = ()
    endpoint_ids: tuple[str, ...] = ()
    device_names: tuple[str, ...] = ()
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: JsonObject) -> Application:
        def ids(key: str) -> tuple[str, ...]:
            return tuple(str(v) for v in data.get(key, ()))

        return cls(
            name=text_field(data, "name"),
            channel_ids=ids("channel_ids"),
            bridge_ids=ids("bridge_ids"),
            endpoint_ids=ids("endpoint_ids"),
            device_names=ids("device_names"),
            raw=dict(data),
        )


@dataclass(frozen=True, slots=True)
class AsteriskInfo:
    """The parts of ``GET /asterisk/info`` that identify the running Asterisk."""

    version: str = ""
    entity_id: str = ""
    startup_time: str = ""
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: JsonObject) -> AsteriskInfo:
        system = data.get("system") or {}
        status = data.get("status") or {}
        return cls(
            version=text_field(system, "version"),
            entity_id=text_field(system, "entity_id"),
            startup_time=text_field(status, "startup_time"),
            raw=dict(data),
        )
