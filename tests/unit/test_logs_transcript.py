"""Transcript lines: written only when debug_text is on."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
import structlog

from careroute.logs import configure_logging, log_transcript


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    configure_logging("info", json=True)
    structlog.reset_defaults()
    root.handlers[:] = handlers
    root.setLevel(level)


def test_log_transcript_with_debug_text(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("info", json=True, debug_text=True)
    log_transcript("1700000000-7", "partial", "i need my refill")
    record = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert record["event"] == "call.transcript"
    assert record["transcript"] == "i need my refill"
    assert record["call_id"] == "1700000000-7"
    assert record["kind"] == "partial"


def test_log_transcript_silent_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("info", json=True)
    log_transcript("1700000000-7", "final", "i need my refill")
    assert capsys.readouterr().err == ""


def test_log_transcript_filtered_at_warning_level(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("warning", json=True, debug_text=True)
    log_transcript("1700000000-7", "final", "i need my refill")
    lines = capsys.readouterr().err.strip().splitlines()
    assert not any("i need my refill" in line for line in lines)
