"""Typed ARI models and events, parsed from Asterisk's JSON.

Only the fields CareRoute reads are typed; every object keeps the JSON it was
parsed from in ``raw``, so extra fields are never lost and never break parsing.
``parse_event`` turns any event message into one of the dataclasses below; an
unknown ``type`` or a known type with a missing field becomes ``GenericEvent``.

Field names follow the ARI data model (``resources.json`` in Asterisk's
``rest-api`` directory) converted to snake_case.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import structlog

_log = structlog.get_logger("ari_app.events")

JsonObject = Mapping[str, Any]


def _text(data: JsonObject, key: str, default: str = "") -> str:
    value = data.get(key, default)
    return value if isinstance(value, str) else str(value)


def _optional_int(data: JsonObject, key: str) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    return int(value)


@dataclass(frozen=True, slots=True)
class CallerId:
    """Name and number of a channel's caller or connected party."""

    name: str = ""
    number: str = ""

    @classmethod
    def from_json(cls, data: JsonObject | None) -> CallerId:
        if not data:
            return cls()
        return cls(name=_text(data, "name"), number=_text(data, "number"))


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
            context=_text(data, "context"),
            exten=_text(data, "exten"),
            priority=int(data.get("priority", 0)),
            app_name=_text(data, "app_name"),
            app_data=_text(data, "app_data"),
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
            id=_text(data, "id"),
            name=_text(data, "name"),
            state=_text(data, "state"),
            caller=CallerId.from_json(data.get("caller")),
            connected=CallerId.from_json(data.get("connected")),
            dialplan=DialplanLocation.from_json(data.get("dialplan")),
            creationtime=_text(data, "creationtime"),
            language=_text(data, "language"),
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
            id=_text(data, "id"),
            technology=_text(data, "technology"),
            bridge_type=_text(data, "bridge_type"),
            bridge_class=_text(data, "bridge_class"),
            creator=_text(data, "creator"),
            name=_text(data, "name"),
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
            id=_text(data, "id"),
            media_uri=_text(data, "media_uri"),
            target_uri=_text(data, "target_uri"),
            state=_text(data, "state"),
            language=_text(data, "language"),
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
            name=_text(data, "name"),
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
            version=_text(system, "version"),
            entity_id=_text(system, "entity_id"),
            startup_time=_text(status, "startup_time"),
            raw=dict(data),
        )


# --- events ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """Fields every ARI event message carries."""

    TYPE: ClassVar[str] = ""

    type: str
    application: str = ""
    timestamp: str = ""
    asterisk_id: str = ""
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @staticmethod
    def common(data: JsonObject) -> dict[str, Any]:
        return {
            "type": _text(data, "type"),
            "application": _text(data, "application"),
            "timestamp": _text(data, "timestamp"),
            "asterisk_id": _text(data, "asterisk_id"),
            "raw": dict(data),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class GenericEvent(Event):
    """An event type this module does not model, or a known type that failed to parse."""

    #: Why a known event type fell back to this class; empty for unknown types.
    parse_error: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class StasisStart(Event):
    """A channel entered the application; ``args`` are the ``Stasis()`` arguments."""

    TYPE: ClassVar[str] = "StasisStart"
    channel: Channel
    args: tuple[str, ...] = ()
    replace_channel: Channel | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class StasisEnd(Event):
    """A channel left the application (``continue``, hangup or redirect)."""

    TYPE: ClassVar[str] = "StasisEnd"
    channel: Channel


@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelDestroyed(Event):
    """A channel was destroyed; ``cause`` is the Q.850 hangup cause code."""

    TYPE: ClassVar[str] = "ChannelDestroyed"
    channel: Channel
    cause: int = 0
    cause_txt: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelHangupRequest(Event):
    """A hangup was requested on a channel (the caller or Asterisk hung up)."""

    TYPE: ClassVar[str] = "ChannelHangupRequest"
    channel: Channel
    cause: int | None = None
    soft: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelDtmfReceived(Event):
    """A DTMF digit ended on a channel; ``duration_ms`` is its length."""

    TYPE: ClassVar[str] = "ChannelDtmfReceived"
    channel: Channel
    digit: str
    duration_ms: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class PlaybackStarted(Event):
    """A playback began."""

    TYPE: ClassVar[str] = "PlaybackStarted"
    playback: Playback


@dataclass(frozen=True, slots=True, kw_only=True)
class PlaybackFinished(Event):
    """A playback ended (played to the end, stopped, or its channel went away)."""

    TYPE: ClassVar[str] = "PlaybackFinished"
    playback: Playback


@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelStateChange(Event):
    """A channel's state changed, e.g. from Ring to Up on answer."""

    TYPE: ClassVar[str] = "ChannelStateChange"
    channel: Channel


@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelVarset(Event):
    """A variable was set; ``channel`` is None for a global variable."""

    TYPE: ClassVar[str] = "ChannelVarset"
    variable: str
    value: str = ""
    channel: Channel | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelUserevent(Event):
    """The dialplan ran ``UserEvent(name,key: value,...)``; ``userevent`` holds the pairs."""

    TYPE: ClassVar[str] = "ChannelUserevent"
    eventname: str
    userevent: dict[str, Any] = field(default_factory=dict)
    channel: Channel | None = None
    bridge: Bridge | None = None


AriEvent = (
    StasisStart
    | StasisEnd
    | ChannelDestroyed
    | ChannelHangupRequest
    | ChannelDtmfReceived
    | PlaybackStarted
    | PlaybackFinished
    | ChannelStateChange
    | ChannelVarset
    | ChannelUserevent
    | GenericEvent
)


def _optional_channel(data: JsonObject) -> Channel | None:
    channel = data.get("channel")
    return Channel.from_json(channel) if channel else None


def _build(data: JsonObject) -> AriEvent | None:
    event_type = data.get("type")
    base = Event.common(data)
    match event_type:
        case "StasisStart":
            replace = data.get("replace_channel")
            return StasisStart(
                **base,
                channel=Channel.from_json(data["channel"]),
                args=tuple(str(a) for a in data.get("args", ())),
                replace_channel=Channel.from_json(replace) if replace else None,
            )
        case "StasisEnd":
            return StasisEnd(**base, channel=Channel.from_json(data["channel"]))
        case "ChannelDestroyed":
            return ChannelDestroyed(
                **base,
                channel=Channel.from_json(data["channel"]),
                cause=int(data.get("cause", 0)),
                cause_txt=_text(data, "cause_txt"),
            )
        case "ChannelHangupRequest":
            return ChannelHangupRequest(
                **base,
                channel=Channel.from_json(data["channel"]),
                cause=_optional_int(data, "cause"),
                soft=bool(data.get("soft", False)),
            )
        case "ChannelDtmfReceived":
            return ChannelDtmfReceived(
                **base,
                channel=Channel.from_json(data["channel"]),
                digit=_text(data, "digit"),
                duration_ms=int(data.get("duration_ms", 0)),
            )
        case "PlaybackStarted":
            return PlaybackStarted(**base, playback=Playback.from_json(data["playback"]))
        case "PlaybackFinished":
            return PlaybackFinished(**base, playback=Playback.from_json(data["playback"]))
        case "ChannelStateChange":
            return ChannelStateChange(**base, channel=Channel.from_json(data["channel"]))
        case "ChannelVarset":
            return ChannelVarset(
                **base,
                variable=_text(data, "variable"),
                value=_text(data, "value"),
                channel=_optional_channel(data),
            )
        case "ChannelUserevent":
            bridge = data.get("bridge")
            return ChannelUserevent(
                **base,
                eventname=_text(data, "eventname"),
                userevent=dict(data.get("userevent") or {}),
                channel=_optional_channel(data),
                bridge=Bridge.from_json(bridge) if bridge else None,
            )
        case _:
            return None


def parse_event(data: JsonObject) -> AriEvent:
    """Parse one decoded ARI event message into its typed dataclass.

    Never raises on well-formed JSON objects: an unknown type, or a known type whose
    required field is missing or has the wrong type, is returned as ``GenericEvent``.
    """
    try:
        event = _build(data)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        _log.warning("ari.event.malformed", event_type=data.get("type"), error=repr(exc))
        return GenericEvent(**Event.common(data), parse_error=repr(exc))
    if event is None:
        return GenericEvent(**Event.common(data))
    return event


#: The event classes ``parse_event`` can return besides ``GenericEvent``, by ARI type name.
EVENT_TYPES: dict[str, type[Event]] = {
    cls.TYPE: cls
    for cls in (
        StasisStart,
        StasisEnd,
        ChannelDestroyed,
        ChannelHangupRequest,
        ChannelDtmfReceived,
        PlaybackStarted,
        PlaybackFinished,
        ChannelStateChange,
        ChannelVarset,
        ChannelUserevent,
    )
}
