"""One-line AMI errors of the test-bed commands."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from agi.ami import AmiConnectionError, AmiLoginError, AmiTimeout
from careroute import cli
from careroute.commands.ami_errors import ami_failure

pytestmark = pytest.mark.usefixtures("restore_logging")


def refused() -> AmiConnectionError:
    error = AmiConnectionError("AMI connection to 127.0.0.1:15999 failed")
    error.__cause__ = ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 15999)")
    return error


def test_ami_failure_connection_names_reason() -> None:
    message = str(ami_failure(refused(), 15999, "start it", "fix the secret"))
    assert "127.0.0.1:15999 (Connection refused)" in message
    assert message.endswith("start it")


def test_ami_failure_login_gives_secret_hint() -> None:
    message = str(ami_failure(AmiLoginError("rejected"), 15038, "start it", "fix the secret"))
    assert "rejected the login" in message
    assert message.endswith("fix the secret")


def test_ami_failure_timeout_keeps_message() -> None:
    message = str(ami_failure(AmiTimeout("login timed out after 5 s"), 15038, "start it", "fix"))
    assert "login timed out after 5 s" in message


def test_eval_without_testbed_prints_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    (tmp_path / "a.wav").write_bytes(b"")
    row = {"id": "c1", "audio": "a.wav", "queue": "refill", "urgency": "routine", "voice": "piper:joe", "duration_s": 1.0}
    (tmp_path / "m.jsonl").write_text(json.dumps(row) + "\n")
    argv = [
        "eval", "--manifest", str(tmp_path / "m.jsonl"), "--ari-url", f"http://127.0.0.1:{port}",
        "--ami-port", str(port), "--external-app", "--output", str(tmp_path / "live.json"),
    ]
    assert cli.main(argv) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1
    assert f"127.0.0.1:{port}" in lines[0]
    assert "--ami-port" in lines[0]
