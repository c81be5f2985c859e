"""Fixtures shared by the unit tests."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
import structlog

from careroute.logs import configure_logging


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """Restore the logging set-up that pytest installed, for tests that reconfigure logging."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    panoramisk = logging.getLogger("panoramisk")
    panoramisk_level = panoramisk.level
    yield
    # Switch transcript logging off again before the handlers go back.
    configure_logging("info", json=True)
    structlog.reset_defaults()
    root.handlers[:] = handlers
    root.setLevel(level)
    panoramisk.setLevel(panoramisk_level)
