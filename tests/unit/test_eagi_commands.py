"""AGI command lines and reply parsing for the EAGI engine."""

from __future__ import annotations

import pytest

from agi.agi_commands import (
    AgiReplyError,
    parse_agi_reply,
    quote_argument,
    routing_variables,
    set_variable,
    stream_file,
)
from careroute.policy import Decision, Trigger


def test_reply_success() -> None:
    reply = parse_agi_reply("200 result=1")
    assert reply.code == 200
    assert reply.result == 1
    assert reply.ok


def test_reply_stream_file_digit() -> None:
    reply = parse_agi_reply("200 result=48 endpos=8320")
    assert reply.digit() == "0"
    assert reply.fields == {"endpos": "8320"}


def test_reply_stream_file_no_digit() -> None:
    assert parse_agi_reply("200 result=0 endpos=32000").digit() is None


def test_reply_failure_not_ok() -> None:
    reply = parse_agi_reply("200 result=-1 endpos=0")
    assert reply.result == -1
    assert not reply.ok


def test_reply_data_in_brackets() -> None:
    reply = parse_agi_reply("200 result=1 (timeout) endpos=10")
    assert reply.data == "timeout"
    assert reply.fields == {"endpos": "10"}


def test_reply_dead_channel() -> None:
    reply = parse_agi_reply("511 Command Not Permitted on a dead channel or intercept routine")
    assert reply.code == 511
    assert reply.result is None
    assert not reply.ok


def test_reply_multi_line_usage() -> None:
    reply = parse_agi_reply(
        "520-Invalid command syntax.  Proper usage follows:\n Usage: SET VARIABLE\n520 End of proper usage."
    )
    assert reply.code == 520
    assert not reply.ok


@pytest.mark.parametrize("text", ["", "HANGUP", "result=1"])
def test_reply_without_status_code_raises(text: str) -> None:
    with pytest.raises(AgiReplyError, match="does not start with a three-digit status code"):
        parse_agi_reply(text)


def test_quote_argument_drops_quotes_and_backslashes() -> None:
    assert quote_argument('say "hi"\\ now\n') == '"say hi now "'


def test_set_variable_quotes_value() -> None:
    assert set_variable("CAREROUTE_REASON", "red flag: chest pain") == (
        'SET VARIABLE CAREROUTE_REASON "red flag: chest pain"'
    )


def test_stream_file_escape_digits() -> None:
    assert stream_file("careroute/greeting", "0") == 'STREAM FILE careroute/greeting "0"'


def test_routing_variables_values() -> None:
    decision = Decision(
        queue="nurse", urgency="emergency", confidence=0.987, reason="red flag, chest pain",
        priority=10, trigger=Trigger.RED_FLAG, decided_at=1.0,
    )
    assert routing_variables(decision, "1700000000-7") == {
        "CAREROUTE_QUEUE": "nurse",
        "CAREROUTE_URGENCY": "emergency",
        "CAREROUTE_CONFIDENCE": "0.99",
        "CAREROUTE_REASON": "red flag  chest pain",
        "CAREROUTE_CALL_ID": "1700000000-7",
        "QUEUE_PRIO": "10",
    }
