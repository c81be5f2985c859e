"""One-line errors for the commands that connect to a test bed's AMI."""

from __future__ import annotations

import logging
import os

from agi.ami import AmiConnectionError, AmiError, AmiLoginError
from careroute.errors import CareRouteError


def quiet_ami_library() -> None:
    """Silence panoramisk's "Not able to reconnect" warning, which the one-line error repeats."""
    logging.getLogger("panoramisk").setLevel(logging.ERROR)


def ami_failure(exc: AmiError, port: int, start_hint: str, secret_hint: str) -> CareRouteError:
    """Return a one-line CareRouteError for an AMI failure at 127.0.0.1:``port``.

    ``start_hint`` says how to start or find the test bed; ``secret_hint`` how
    to pass the right AMI secret.
    """
    address = f"127.0.0.1:{port}"
    if isinstance(exc, AmiConnectionError):
        return CareRouteError(
            f"cannot connect to the test bed's AMI at {address} ({os_reason(exc)}); {start_hint}"
        )
    if isinstance(exc, AmiLoginError):
        return CareRouteError(f"the test bed's AMI at {address} rejected the login; {secret_hint}")
    return CareRouteError(f"the test bed's AMI at {address} failed: {exc}")


def os_reason(exc: BaseException) -> str:
    """Return the OS error text behind ``exc`` (e.g. "Connection refused"), or its message."""
    cause = exc.__cause__
    if isinstance(cause, OSError) and cause.errno:
        return os.strerror(cause.errno)
    return str(cause or exc)
