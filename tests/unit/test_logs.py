"""Logging set-up: one format for every record, and no caller speech at the default level."""

from __future__ import annotations

import json
import logging

import pytest
import structlog

from careroute.logs import configure_logging


@pytest.fixture(autouse=True)
def _restore_logging() -> object:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    # Switch text logging off again, then put back what pytest had installed.
    configure_logging("info", json=True)
    structlog.reset_defaults()
    root.handlers[:] = handlers
    root.setLevel(level)


def test_logs_library_record_is_json(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("info", json=True)
    logging.getLogger("panoramisk.ami_protocol").info("protocol version: %r", "11.0.0")
    line = capsys.readouterr().err.strip().splitlines()[-1]
    record = json.loads(line)
    assert record["logger"] == "panoramisk.ami_protocol"
    assert record["level"] == "info"
    assert record["event"] == "protocol version: '11.0.0'"


def test_logs_redact_transcript_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("info", json=True)
    structlog.get_logger("careroute").info("call.partial", transcript="my chest hurts", caller_number="5550142")
    record = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert record["transcript"] == "[redacted]"
    assert record["caller_number"] == "[redacted]"


def test_logs_debug_text_keeps_transcript(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("info", json=True, debug_text=True)
    structlog.get_logger("careroute").info("call.partial", transcript="my chest hurts")
    lines = [json.loads(line) for line in capsys.readouterr().err.strip().splitlines()]
    assert lines[0]["event"] == "logs.debug_text.enabled"
    assert lines[-1]["transcript"] == "my chest hurts"
