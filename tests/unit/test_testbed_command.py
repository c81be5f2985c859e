"""``careroute testbed``: settings checked before anything is built or started."""

from __future__ import annotations

import pytest

from careroute import cli


def test_testbed_rtp_start_above_end_rejected(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def no_build(*args: object, **kwargs: object) -> None:
        raise AssertionError("the root must not be built with an invalid RTP range")

    monkeypatch.setattr("careroute.testbed.ensure_root", no_build)
    monkeypatch.setenv("CAREROUTE_TESTBED_RTP_START", "25000")
    monkeypatch.setenv("CAREROUTE_TESTBED_RTP_END", "24000")
    assert cli.main(["testbed", "check"]) == 1
    message = capsys.readouterr().err
    assert "CAREROUTE_TESTBED_RTP_START=25000" in message
    assert "CAREROUTE_TESTBED_RTP_END=24000" in message


def test_testbed_help_names_subcommands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["testbed", "--help"])
    usage = capsys.readouterr().out
    assert "start or stop" not in usage
    assert "Ctrl-C" in usage
