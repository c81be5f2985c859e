"""The REST half of the ARI client: one httpx pool and the endpoints CareRoute uses.

Every request has a timeout, every failure is an ``ari_app.errors.AriError``, and
the credentials travel only in the ``Authorization`` header, never in a URL that
could be logged.

Every create request takes its id from the caller (``channel_id``, ``snoop_id``,
``bridge_id``, ``playback_id``) because Asterisk can deliver the new channel's
``StasisStart`` before the HTTP response, so the caller must know the id first.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
import structlog

from ari_app.errors import AriConnectionError, AriTimeout, error_for_status, is_gone
from ari_app.models import Application, AsteriskInfo, Bridge, Channel, Playback

_log = structlog.get_logger("ari_app.rest")

DEFAULT_BASE_URL = "http://127.0.0.1:8088/ari"
#: A loopback ARI request completes within a few milliseconds (answer took about 2 ms on
#: Asterisk 22.10.1), so five seconds only expires when Asterisk is hung or overloaded.
DEFAULT_REQUEST_TIMEOUT_S = 5.0

QueryValue = str | int | float | bool | Sequence[str] | None


def encode_query(params: Mapping[str, QueryValue]) -> str:
    """Encode ARI query parameters; None values are left out.

    A list becomes one comma-separated value (``channel=a,b``), which is how ARI
    reads list parameters in the query string. Each item is percent-encoded first,
    so the separating commas are the only literal ones. Booleans become
    ``true``/``false``.
    """
    parts: list[str] = []
    for key, value in params.items():
        if value is None:
            continue
        if isinstance(value, bool):
            encoded = "true" if value else "false"
        elif isinstance(value, str | int | float):
            encoded = quote(str(value), safe="()")
        else:
            encoded = ",".join(quote(str(item), safe="") for item in value)
        parts.append(f"{quote(key, safe='')}={encoded}")
    return "&".join(parts)


def _segment(resource_id: str) -> str:
    if not resource_id:
        raise ValueError("an ARI resource id must be a non-empty string; got ''")
    return quote(resource_id, safe="")


def _asterisk_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200].strip()
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return str(body["message"])
    return response.text[:200].strip()


class AriRest:
    """REST requests to ARI for one Stasis application."""

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        user: str = "",
        password: str = "",
        app: str = "careroute",
        *,
        request_timeout: float = DEFAULT_REQUEST_TIMEOUT_S,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(
                f"ARI base_url {base_url!r} must be an http:// or https:// URL "
                "such as 'http://127.0.0.1:8088/ari'"
            )
        if parts.username or parts.password or parts.query:
            raise ValueError(
                "ARI base_url must not carry credentials or a query string; "
                "pass user and password as arguments so they stay out of logged URLs"
            )
        if not app:
            raise ValueError("ARI app name must be non-empty, e.g. app='careroute'")
        if request_timeout <= 0:
            raise ValueError(f"request_timeout={request_timeout!r} must be > 0 seconds")

        self.app = app
        self.base_url = base_url.rstrip("/")
        self.request_timeout = request_timeout
        token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        #: The headers every request and the event websocket send.
        self.auth_headers = {"Authorization": f"Basic {token}"}
        self._http = httpx.AsyncClient(
            base_url=self.base_url + "/",
            headers=self.auth_headers,
            timeout=httpx.Timeout(request_timeout),
            transport=transport,
        )

    async def aclose(self) -> None:
        """Close the HTTP connection pool."""
        await self._http.aclose()

    # --- transport -------------------------------------------------------------------

    async def request(
        self,
        method: str,
        path: str,
        params: Mapping[str, QueryValue] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> Any:
        """Send one ARI request and return its decoded JSON body (None for 204).

        Raises:
            AriRequestError: a subclass per status (400, 404, 409, 422, 5xx).
            AriTimeout: no response within ``request_timeout``.
            AriConnectionError: the connection failed.
        """
        url = path.lstrip("/")
        if params:
            query = encode_query(params)
            if query:
                url = f"{url}?{query}"
        try:
            async with asyncio.timeout(self.request_timeout):
                response = await self._http.request(
                    method, url, json=dict(body) if body is not None else None
                )
        except (TimeoutError, httpx.TimeoutException) as exc:
            raise AriTimeout(
                f"ARI {method} {path} timed out after {self.request_timeout} s; "
                "check that Asterisk is running, or raise request_timeout",
                method=method,
                path=path,
            ) from exc
        except httpx.HTTPError as exc:
            raise AriConnectionError(
                f"ARI {method} {path} failed to reach {self.base_url!r}: {exc!r}; "
                "check that Asterisk's HTTP server is enabled and the URL is right",
                method=method,
                path=path,
            ) from exc

        if response.status_code >= 400:
            raise error_for_status(
                response.status_code,
                method=method,
                path=path,
                asterisk_message=_asterisk_message(response),
            )
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    async def _delete(self, path: str, params: Mapping[str, QueryValue], missing_ok: bool) -> bool:
        try:
            await self.request("DELETE", path, params)
        except Exception as exc:
            if missing_ok and is_gone(exc):
                _log.debug("ari.delete.already_gone", path=path)
                return False
            raise
        return True

    # --- asterisk and applications ---------------------------------------------------

    async def asterisk_info(self) -> AsteriskInfo:
        """Return the version and identity of the running Asterisk."""
        return AsteriskInfo.from_json(await self.request("GET", "/asterisk/info"))

    async def get_application(self, name: str | None = None) -> Application:
        """Return the application (this client's by default) with the channels it owns."""
        data = await self.request("GET", f"/applications/{_segment(name or self.app)}")
        return Application.from_json(data)

    # --- channels --------------------------------------------------------------------

    async def list_channels(self) -> list[Channel]:
        """Return every channel Asterisk has, not only this application's."""
        return [Channel.from_json(item) for item in await self.request("GET", "/channels")]

    async def get_channel(self, channel_id: str) -> Channel:
        """Return one channel."""
        return Channel.from_json(await self.request("GET", f"/channels/{_segment(channel_id)}"))

    async def answer(self, channel_id: str) -> None:
        """Answer a ringing channel."""
        await self.request("POST", f"/channels/{_segment(channel_id)}/answer")

    async def hangup(
        self, channel_id: str, reason: str = "normal", *, missing_ok: bool = False
    ) -> bool:
        """Hang up a channel; return False when ``missing_ok`` and it was already gone."""
        return await self._delete(
            f"/channels/{_segment(channel_id)}", {"reason": reason}, missing_ok
        )

    async def play(
        self,
        channel_id: str,
        media: str | Sequence[str],
        *,
        playback_id: str,
        lang: str | None = None,
    ) -> Playback:
        """Start playing ``media`` (``sound:name``, or a list played in order) on a channel."""
        data = await self.request(
            "POST",
            f"/channels/{_segment(channel_id)}/play",
            {
                "media": [media] if isinstance(media, str) else media,
                "playbackId": playback_id,
                "lang": lang,
            },
        )
        return Playback.from_json(data)

    async def stop_playback(self, playback_id: str, *, missing_ok: bool = False) -> bool:
        """Stop a playback; return False when ``missing_ok`` and it had already ended."""
        return await self._delete(f"/playbacks/{_segment(playback_id)}", {}, missing_ok)

    async def set_channel_var(self, channel_id: str, variable: str, value: str) -> None:
        """Set a channel variable or a dialplan function such as ``TIMEOUT(absolute)``."""
        await self.request(
            "POST",
            f"/channels/{_segment(channel_id)}/variable",
            {"variable": variable, "value": value},
        )

    async def get_channel_var(self, channel_id: str, variable: str) -> str:
        """Return a channel variable's value; raises ``AriNotFound`` when it is not set."""
        data = await self.request(
            "GET", f"/channels/{_segment(channel_id)}/variable", {"variable": variable}
        )
        return str(data.get("value", ""))

    async def continue_in_dialplan(
        self, channel_id: str, context: str, extension: str, priority: int = 1
    ) -> None:
        """Make the channel leave Stasis and resume the dialplan at context, extension, priority."""
        await self.request(
            "POST",
            f"/channels/{_segment(channel_id)}/continue",
            {"context": context, "extension": extension, "priority": priority},
        )

    async def snoop(
        self,
        channel_id: str,
        *,
        snoop_id: str,
        spy: str = "in",
        whisper: str = "none",
        app: str | None = None,
        app_args: str | None = None,
    ) -> Channel:
        """Create a snoop channel on ``channel_id``; ``spy="in"`` hears only that channel's voice."""
        data = await self.request(
            "POST",
            f"/channels/{_segment(channel_id)}/snoop",
            {
                "snoopId": snoop_id,
                "spy": spy,
                "whisper": whisper,
                "app": app or self.app,
                "appArgs": app_args,
            },
        )
        return Channel.from_json(data)

    async def external_media(
        self,
        *,
        channel_id: str,
        external_host: str | None,
        format: str = "slin16",
        encapsulation: str = "rtp",
        transport: str = "udp",
        connection_type: str | None = None,
        direction: str | None = None,
        data: str | None = None,
        variables: Mapping[str, str] | None = None,
        app: str | None = None,
    ) -> Channel:
        """Create an externalMedia channel that streams to ``external_host`` (``host:port``).

        The returned channel's ``channelvars`` carry the transport details, e.g.
        ``UNICASTRTP_LOCAL_PORT`` for RTP. ``external_host`` is None only for
        ``transport="websocket", connection_type="server"``.
        """
        params: dict[str, QueryValue] = {
            "channelId": channel_id,
            "app": app or self.app,
            "external_host": external_host,
            "format": format,
            "encapsulation": encapsulation,
            "transport": transport,
            "connection_type": connection_type,
            "direction": direction,
            "data": data,
        }
        body = {"variables": dict(variables)} if variables else None
        return Channel.from_json(
            await self.request("POST", "/channels/externalMedia", params, body)
        )

    async def originate_dialplan(
        self,
        endpoint: str,
        *,
        channel_id: str,
        context: str,
        extension: str,
        priority: int = 1,
        variables: Mapping[str, str] | None = None,
        caller_id: str | None = None,
        timeout_s: int | None = None,
        other_channel_id: str | None = None,
    ) -> Channel:
        """Originate a call to ``endpoint`` that, once answered, runs the dialplan target.

        ``app`` is never sent: Asterisk 22 honours ``app`` over a dialplan target
        when both are present and would put the channel into Stasis instead.
        """
        params: dict[str, QueryValue] = {
            "endpoint": endpoint,
            "channelId": channel_id,
            "context": context,
            "extension": extension,
            "priority": priority,
            "callerId": caller_id,
            "timeout": timeout_s,
            "otherChannelId": other_channel_id,
        }
        body = {"variables": dict(variables)} if variables else None
        return Channel.from_json(await self.request("POST", "/channels", params, body))

    async def originate_app(
        self,
        endpoint: str,
        *,
        channel_id: str,
        app: str | None = None,
        app_args: str | None = None,
        variables: Mapping[str, str] | None = None,
        caller_id: str | None = None,
        timeout_s: int | None = None,
        other_channel_id: str | None = None,
    ) -> Channel:
        """Originate a call to ``endpoint`` that enters Stasis (this client's app by default)."""
        params: dict[str, QueryValue] = {
            "endpoint": endpoint,
            "channelId": channel_id,
            "app": app or self.app,
            "appArgs": app_args,
            "callerId": caller_id,
            "timeout": timeout_s,
            "otherChannelId": other_channel_id,
        }
        body = {"variables": dict(variables)} if variables else None
        return Channel.from_json(await self.request("POST", "/channels", params, body))

    # --- bridges ---------------------------------------------------------------------

    async def list_bridges(self) -> list[Bridge]:
        """Return every bridge Asterisk has."""
        return [Bridge.from_json(item) for item in await self.request("GET", "/bridges")]

    async def create_bridge(
        self, bridge_id: str, *, bridge_type: str = "mixing", name: str | None = None
    ) -> Bridge:
        """Create a bridge; ``mixing`` between two channels becomes Asterisk's simple_bridge."""
        data = await self.request(
            "POST", "/bridges", {"bridgeId": bridge_id, "type": bridge_type, "name": name}
        )
        return Bridge.from_json(data)

    async def add_channels_to_bridge(self, bridge_id: str, channel_ids: Sequence[str]) -> None:
        """Add channels to a bridge, sent as ``channel=a,b`` in the query string.

        ARI splits a comma list only in the query string. In a JSON body the same
        string is read as one channel name, and Asterisk returns 400 "Channel not found".
        """
        if isinstance(channel_ids, str) or not channel_ids:
            raise ValueError(
                f"channel_ids must be a non-empty list of channel ids; got {channel_ids!r}"
            )
        await self.request(
            "POST", f"/bridges/{_segment(bridge_id)}/addChannel", {"channel": list(channel_ids)}
        )

    async def destroy_bridge(self, bridge_id: str, *, missing_ok: bool = False) -> bool:
        """Destroy a bridge; return False when ``missing_ok`` and it was already gone."""
        return await self._delete(f"/bridges/{_segment(bridge_id)}", {}, missing_ok)
