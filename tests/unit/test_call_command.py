"""``careroute call``: argument checks, the entry point and the error without a test bed."""

from __future__ import annotations

import argparse
import socket
from pathlib import Path
from typing import Any

import pytest

from careroute import cli
from careroute.commands import call
from careroute.errors import CareRouteError
from careroute.testbed import Testbed
from careroute.testcallers import PlacedCall

pytestmark = pytest.mark.usefixtures("restore_logging")


def closed_port() -> int:
    """Return a loopback TCP port that nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def parse(*argv: str) -> argparse.Namespace:
    return cli.build_parser().parse_args(["call", *argv])


def test_call_dtmf_accepts_every_digit() -> None:
    assert parse("--dtmf", "0123456789*#ABCD", "hi").dtmf == "0123456789*#ABCD"


@pytest.mark.parametrize("digits", ["xyz", "1,2", "a", "0 1"])
def test_call_dtmf_rejects_non_digits(digits: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        parse("--dtmf", digits, "hi")
    assert exit_info.value.code == 2
    assert repr(digits) in capsys.readouterr().err


def test_call_delay_accepts_zero() -> None:
    assert parse("--delay", "0", "hi").delay == 0.0


@pytest.mark.parametrize("delay", ["-5", "nan", "inf", "soon"])
def test_call_delay_rejects_invalid(delay: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        parse("--delay", delay, "hi")
    assert exit_info.value.code == 2
    assert repr(delay) in capsys.readouterr().err


@pytest.mark.parametrize("wait", ["0", "-1"])
def test_call_wait_rejects_non_positive(wait: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse("--wait", wait, "hi")
    assert repr(wait) in capsys.readouterr().err


@pytest.mark.parametrize("port", ["0", "70000", "x"])
def test_call_eagi_port_rejects_invalid(port: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse("--entry", "eagi", "--eagi-port", port, "hi")
    assert repr(port) in capsys.readouterr().err


def test_call_entry_defaults_to_ari() -> None:
    assert parse("hi").entry == "ari"


def test_call_variables_name_eagi_engine() -> None:
    assert call.caller_variables("eagi", 4600) == {"CAREROUTE_EAGI_ENGINE": "127.0.0.1:4600"}


def test_call_variables_empty_without_port() -> None:
    assert call.caller_variables("eagi", None) == {}


def test_call_eagi_port_needs_eagi_entry() -> None:
    with pytest.raises(CareRouteError, match="--entry eagi"):
        call.caller_variables("ari", 4600)


@pytest.mark.asyncio
@pytest.mark.parametrize(("entry", "context"), [("ari", "inbound"), ("eagi", "inbound-eagi")])
async def test_call_entry_picks_dialplan_context(
    entry: str, context: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    seen: dict[str, Any] = {}

    async def fake_place_call(testbed: Testbed, wav: Path, **kwargs: Any) -> PlacedCall:
        seen.update(kwargs)
        return PlacedCall("tag", "tbcaller-tag", "tbcallee-tag")

    monkeypatch.setattr("careroute.testcallers.place_call", fake_place_call)
    args = parse("--entry", entry, "--dtmf", "0", "hi")
    await call._place(Testbed(tmp_path), tmp_path / "hi.wav", args, {})
    assert seen["entry"] == context
    assert seen["dtmf"] == "0"


def test_call_without_testbed_prints_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    port = closed_port()
    monkeypatch.setenv("CAREROUTE_TESTBED_AMI_PORT", str(port))
    monkeypatch.setenv("CAREROUTE_TESTBED_HTTP_PORT", str(closed_port()))
    assert cli.main(["call", "hello"]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1
    assert f"127.0.0.1:{port}" in lines[0]
    assert "make testbed" in lines[0]
    assert "CAREROUTE_TESTBED_*" in lines[0]
