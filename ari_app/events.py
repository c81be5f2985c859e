"""Typed ARI events, parsed from the JSON messages of the event websocket.

``parse_event`` turns any event message into one of the dataclasses below; an
unknown ``type``, or a known type with a missing field, becomes ``GenericEvent``.
Every event keeps its JSON in ``raw``, so extra fields are never lost.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import structlog

from ari_app.models import Bridge, Channel, JsonObject, Playback, text_field

_log = structlog.get_logger("ari_app.events")


def _optional_int(data: JsonObject, key: str) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    return int(value)


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
            "type": text_field(data, "type"),
            "application": text_field(data, "application"),
            "timestamp": text_field(data, "timestamp"),
            "asterisk_id": text_field(data, "asterisk_id"),
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
                cause_txt=text_field(data, "cause_txt"),
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
                digit=text_field(data, "digit"),
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
                variable=text_field(data, "variable"),
                value=text_field(data, "value"),
                channel=_optional_channel(data),
            )
        case "ChannelUserevent":
            bridge = data.get("bridge")
            return ChannelUserevent(
                **base,
                eventname=text_field(data, "eventname"),
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
