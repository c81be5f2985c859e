"""Exceptions raised by the ARI client.

Hierarchy::

    AriError                    base: every failure of an ARI request or the event socket
    ├── AriRequestError         Asterisk answered a REST request with an error status
    │   ├── AriBadRequest       400: a parameter is missing or invalid
    │   ├── AriNotFound         404: the channel, bridge, playback or variable does not exist
    │   ├── AriConflict         409: the resource exists but is not in a usable state
    │   ├── AriUnprocessable    422: a resource named in the body does not exist
    │   └── AriServerError      5xx: Asterisk failed to carry out the request
    ├── AriTimeout              the request got no answer within the client's timeout
    ├── AriConnectionError      the HTTP or websocket connection failed
    └── AriStateError           the client was used in a way its state does not allow

httpx and websockets errors are converted at the boundary with ``raise ... from exc``,
so callers only ever catch these classes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


class AriError(Exception):
    """Base class for every error the ARI client raises."""

    def __init__(
        self,
        message: str,
        *,
        method: str = "",
        path: str = "",
        status: int | None = None,
        asterisk_message: str = "",
    ) -> None:
        super().__init__(message)
        self.method = method
        self.path = path
        self.status = status
        self.asterisk_message = asterisk_message


class AriRequestError(AriError):
    """Asterisk answered a REST request with an error status."""


class AriBadRequest(AriRequestError):
    """400: a request parameter is missing or invalid."""


class AriNotFound(AriRequestError):
    """404: the channel, bridge, playback, application or variable does not exist."""


class AriConflict(AriRequestError):
    """409: the resource exists but is not in a state that allows the request."""


class AriUnprocessable(AriRequestError):
    """422: a resource named in the request (for example a bridge member) does not exist."""


class AriServerError(AriRequestError):
    """5xx: Asterisk failed to carry out the request."""


class AriTimeout(AriError):
    """The request got no answer within the client's request timeout."""


class AriConnectionError(AriError):
    """The HTTP or websocket connection to Asterisk failed or was refused."""


class AriStateError(AriError):
    """The client was used in a way its current state does not allow."""


_STATUS_ERRORS: dict[int, type[AriRequestError]] = {
    400: AriBadRequest,
    404: AriNotFound,
    409: AriConflict,
    422: AriUnprocessable,
}

#: Statuses that mean "the channel or bridge is already gone" for a delete or hangup:
#: 404 when the resource vanished, 422 when a related resource (the channel of a
#: playback, a bridge member) vanished first.
GONE_STATUSES = frozenset({404, 422})


def error_for_status(
    status: int, *, method: str, path: str, asterisk_message: str
) -> AriRequestError:
    """Build the typed error for an HTTP error status returned by ARI."""
    error_class = _STATUS_ERRORS.get(status)
    if error_class is None:
        error_class = AriServerError if status >= 500 else AriRequestError
    detail = asterisk_message or "no message"
    return error_class(
        f"ARI {method} {path} failed with status {status}: {detail}",
        method=method,
        path=path,
        status=status,
        asterisk_message=asterisk_message,
    )


def is_gone(error: BaseException) -> bool:
    """Return True when ``error`` means the channel, bridge or playback no longer exists."""
    return isinstance(error, AriRequestError) and error.status in GONE_STATUSES


@contextmanager
def suppress_gone() -> Iterator[None]:
    """Treat "already gone" (404 or 422) as success for the requests inside the block.

    Use it around teardown steps (hangup, bridge destroy, continue of a caller who
    just hung up). Every other error propagates.
    """
    try:
        yield
    except AriRequestError as exc:
        if not is_gone(exc):
            raise
