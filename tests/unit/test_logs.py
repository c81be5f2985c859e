"""Logging set-up: one format for every record, and no caller speech at the default level."""

from __future__ import annotations

import json
import logging

import pytest
import structlog

from careroute.logs import configure_logging, log_transcript

pytestmark = pytest.mark.usefixtures("restore_logging")


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
