"""The EAGI relay script: frame protocol, AGI reply lines, and the script run as a subprocess."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest

from agi import eagi_relay
from agi.eagi_relay import (
    FRAME_AUDIO,
    FRAME_COMMAND,
    FRAME_ENVIRONMENT,
    FRAME_EXIT,
    FRAME_HANGUP,
    FRAME_REPLY,
    MAX_PAYLOAD,
    FrameDecoder,
    ProtocolError,
    ReplyCollector,
    encode_frame,
    parse_engine_address,
)
from careroute.config.schema import DEFAULT_EAGI_PORT
from careroute.paths import repo_root

RELAY = repo_root() / "agi" / "eagi_relay.py"
ENVIRONMENT = "agi_request: eagi_relay.py\nagi_channel: Local/s@inbound-eagi-1;2\nagi_uniqueid: 1700000000.7\n\n"
#: Seconds the relay subprocess may run; it exits within milliseconds when it works.
RELAY_TIMEOUT_S = 10.0


def test_frame_round_trip() -> None:
    frames = FrameDecoder().feed(encode_frame(FRAME_COMMAND, b"SET VARIABLE A 1") + encode_frame(FRAME_EXIT))
    assert frames == [(FRAME_COMMAND, b"SET VARIABLE A 1"), (FRAME_EXIT, b"")]


def test_frame_decoder_byte_by_byte() -> None:
    decoder = FrameDecoder()
    data = encode_frame(FRAME_AUDIO, bytes(range(200)))
    frames = [frame for byte in data for frame in decoder.feed(bytes([byte]))]
    assert frames == [(FRAME_AUDIO, bytes(range(200)))]
    assert decoder.pending == 0


def test_frame_header_layout() -> None:
    assert encode_frame(FRAME_REPLY, b"ok") == b"\x03\x00\x00\x00\x02ok"


def test_frame_decoder_rejects_unknown_type() -> None:
    with pytest.raises(ProtocolError, match="unknown frame type 0x7f"):
        FrameDecoder().feed(b"\x7f\x00\x00\x00\x00")


def test_frame_decoder_rejects_oversized_length() -> None:
    header = bytes([FRAME_AUDIO]) + (MAX_PAYLOAD + 1).to_bytes(4, "big")
    with pytest.raises(ProtocolError, match="exceeds MAX_PAYLOAD"):
        FrameDecoder().feed(header)


def test_encode_frame_rejects_unknown_type() -> None:
    with pytest.raises(ValueError, match="frame type 5 is unknown"):
        encode_frame(5)


def test_reply_collector_single_line() -> None:
    assert ReplyCollector().add("200 result=1") == "200 result=1"


def test_reply_collector_multi_line_usage() -> None:
    collector = ReplyCollector()
    assert collector.add("520-Invalid command syntax.  Proper usage follows:") is None
    assert collector.add(" Usage: SET VARIABLE <variablename> <value>") is None
    reply = collector.add("520 End of proper usage.")
    assert reply is not None
    assert reply.splitlines()[0].startswith("520-Invalid")
    assert reply.splitlines()[-1] == "520 End of proper usage."


def test_engine_address_default() -> None:
    assert parse_engine_address("") == ("127.0.0.1", DEFAULT_EAGI_PORT)


def test_engine_address_custom() -> None:
    assert parse_engine_address("10.0.0.5:5000") == ("10.0.0.5", 5000)


@pytest.mark.parametrize("argument", ["127.0.0.1", "127.0.0.1:x", "127.0.0.1:0", ":4578", "host:70000"])
def test_engine_address_invalid(argument: str) -> None:
    with pytest.raises(ValueError, match="is invalid; pass host:port"):
        parse_engine_address(argument)


def test_relay_uses_only_standard_library() -> None:
    """The relay runs with the Asterisk host's Python, where CareRoute is not installed."""
    imported = {
        line.split()[1].split(".")[0]
        for line in RELAY.read_text().splitlines()
        if line.startswith(("import ", "from "))
    }
    assert imported <= set(sys.stdlib_module_names) | {"__future__"}


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_relay_engine_down_sets_reason() -> None:
    result = subprocess.run(
        [sys.executable, str(RELAY), f"127.0.0.1:{closed_port()}"],
        input=ENVIRONMENT + "200 result=1\n",
        capture_output=True, text=True, timeout=RELAY_TIMEOUT_S, check=False,
    )
    assert result.returncode == 0
    assert result.stdout == f'SET VARIABLE CAREROUTE_REASON "{eagi_relay.REASON_UNREACHABLE}"\n'
    assert "cannot connect to the CareRoute engine" in result.stderr


@pytest.fixture
def engine() -> Iterator[socket.socket]:
    """A listening socket that plays the engine's side of one relay connection."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        server.settimeout(RELAY_TIMEOUT_S)
        yield server


@contextlib.contextmanager
def start_relay(port: int, audio_fd: int) -> Iterator[subprocess.Popen[bytes]]:
    """Run the relay with ``audio_fd`` as its EAGI audio descriptor; kill it if it outlives the block."""
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); from agi.eagi_relay import main; "
        "sys.exit(main(sys.argv[2:], audio_fd=int(sys.argv[3])))"
    )
    with subprocess.Popen(
        [sys.executable, "-c", code, str(repo_root()), f"127.0.0.1:{port}", str(audio_fd)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, pass_fds=(audio_fd,),
    ) as relay:
        try:
            yield relay
        finally:
            if relay.poll() is None:
                relay.kill()


def read_frames(connection: socket.socket, decoder: FrameDecoder, count: int) -> list[tuple[int, bytes]]:
    frames: list[tuple[int, bytes]] = []
    while len(frames) < count:
        data = connection.recv(65536)
        if not data:
            break
        frames.extend(decoder.feed(data))
    return frames


def test_relay_moves_audio_commands_and_replies(engine: socket.socket) -> None:
    audio_read, audio_write = os.pipe()
    with start_relay(engine.getsockname()[1], audio_read) as relay:
        os.close(audio_read)
        assert relay.stdin is not None
        assert relay.stdout is not None
        relay.stdin.write(ENVIRONMENT.encode())
        relay.stdin.flush()
        connection, _ = engine.accept()
        with connection:
            connection.settimeout(RELAY_TIMEOUT_S)
            decoder = FrameDecoder()
            environment = read_frames(connection, decoder, 1)[0]
            os.write(audio_write, b"\x01\x02" * 160)
            audio = read_frames(connection, decoder, 1)[0]
            connection.sendall(encode_frame(FRAME_COMMAND, b'SET VARIABLE CAREROUTE_QUEUE "refill"'))
            command_line = relay.stdout.readline()
            relay.stdin.write(b"200 result=1\n")
            relay.stdin.flush()
            reply = read_frames(connection, decoder, 1)[0]
            connection.sendall(encode_frame(FRAME_EXIT))
            returncode = relay.wait(timeout=RELAY_TIMEOUT_S)
        os.close(audio_write)
    assert environment[0] == FRAME_ENVIRONMENT
    assert b"agi_uniqueid: 1700000000.7" in environment[1]
    assert audio == (FRAME_AUDIO, b"\x01\x02" * 160)
    assert command_line == b'SET VARIABLE CAREROUTE_QUEUE "refill"\n'
    assert reply == (FRAME_REPLY, b"200 result=1")
    assert returncode == 0


def test_relay_engine_lost_sets_reason(engine: socket.socket) -> None:
    audio_read, audio_write = os.pipe()
    with start_relay(engine.getsockname()[1], audio_read) as relay:
        os.close(audio_read)
        assert relay.stdin is not None
        relay.stdin.write(ENVIRONMENT.encode())
        relay.stdin.flush()
        connection, _ = engine.accept()
        connection.close()
        stdout, _ = relay.communicate(b"200 result=1\n", timeout=RELAY_TIMEOUT_S)
        os.close(audio_write)
    assert relay.returncode == 0
    assert stdout == f'SET VARIABLE CAREROUTE_REASON "{eagi_relay.REASON_LOST}"\n'.encode()


def test_relay_audio_end_sends_hangup(engine: socket.socket) -> None:
    audio_read, audio_write = os.pipe()
    os.close(audio_write)
    with start_relay(engine.getsockname()[1], audio_read) as relay:
        os.close(audio_read)
        assert relay.stdin is not None
        relay.stdin.write(ENVIRONMENT.encode())
        relay.stdin.flush()
        connection, _ = engine.accept()
        with connection:
            connection.settimeout(RELAY_TIMEOUT_S)
            frames = read_frames(connection, FrameDecoder(), 2)
            connection.sendall(encode_frame(FRAME_EXIT))
            returncode = relay.wait(timeout=RELAY_TIMEOUT_S)
    assert [frame_type for frame_type, _ in frames] == [FRAME_ENVIRONMENT, FRAME_HANGUP]
    assert returncode == 0
