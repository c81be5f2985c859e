"""CareRoute's ARI front end: a typed asyncio ARI client and its event model.

``AriClient`` wraps the REST endpoints CareRoute uses (``ari_app.rest``) and the
event websocket (``ari_app.listener``). ``ari_app.models`` and ``ari_app.events``
contain the typed models and events, ``ari_app.errors`` the exception hierarchy.
"""

from ari_app.client import AriClient
from ari_app.errors import (
    AriBadRequest,
    AriConflict,
    AriConnectionError,
    AriError,
    AriNotFound,
    AriRequestError,
    AriServerError,
    AriStateError,
    AriTimeout,
    AriUnprocessable,
    is_gone,
    suppress_gone,
)
from ari_app.events import (
    AriEvent,
    ChannelDestroyed,
    ChannelDtmfReceived,
    ChannelHangupRequest,
    ChannelStateChange,
    ChannelUserevent,
    ChannelVarset,
    Event,
    GenericEvent,
    PlaybackFinished,
    PlaybackStarted,
    StasisEnd,
    StasisStart,
    parse_event,
)
from ari_app.listener import Backoff, ClientEvent, Connected, Disconnected, EventSubscription
from ari_app.models import (
    Application,
    AsteriskInfo,
    Bridge,
    CallerId,
    Channel,
    DialplanLocation,
    Playback,
)
from ari_app.rest import AriRest, encode_query

__all__ = [
    "Application",
    "AriBadRequest",
    "AriClient",
    "AriConflict",
    "AriConnectionError",
    "AriError",
    "AriEvent",
    "AriNotFound",
    "AriRequestError",
    "AriRest",
    "AriServerError",
    "AriStateError",
    "AriTimeout",
    "AriUnprocessable",
    "AsteriskInfo",
    "Backoff",
    "Bridge",
    "CallerId",
    "Channel",
    "ChannelDestroyed",
    "ChannelDtmfReceived",
    "ChannelHangupRequest",
    "ChannelStateChange",
    "ChannelUserevent",
    "ChannelVarset",
    "ClientEvent",
    "Connected",
    "DialplanLocation",
    "Disconnected",
    "Event",
    "EventSubscription",
    "GenericEvent",
    "Playback",
    "PlaybackFinished",
    "PlaybackStarted",
    "StasisEnd",
    "StasisStart",
    "encode_query",
    "is_gone",
    "parse_event",
    "suppress_gone",
]
