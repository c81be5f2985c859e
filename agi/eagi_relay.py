#!/usr/bin/env python3
"""Relay one EAGI call between Asterisk and the resident CareRoute engine.

Asterisk runs this script with ``EAGI()``. It reads the AGI environment from
stdin, connects to ``careroute eagi-serve`` over TCP and then relays in both
directions until the engine ends the call:

- caller audio from file descriptor 3 goes to the engine;
- AGI commands from the engine go to stdout;
- Asterisk's replies to those commands, read from stdin, go back to the engine.

The script uses only the standard library and runs on Python 3.8 or newer,
because it runs with the Python of the Asterisk host (or chroot), not in
CareRoute's virtual environment. It loads no model and makes no decision, so
starting it per call is cheap.

Usage in the dialplan (both arguments are optional)::

    same => n,EAGI(/usr/local/lib/careroute/eagi_relay.py,127.0.0.1:4578)

Fail-safe: when the engine cannot be reached, or the connection ends before
the engine sent EXIT, the relay sets ``CAREROUTE_REASON`` and
exits with status 0. ``CAREROUTE_QUEUE`` then stays empty, and the dialplan
line after ``EAGI()`` sends the caller to the fallback queue at once.

Protocol: one TCP connection per call, carrying frames in both directions::

    type (1 byte) | payload length (4 bytes, unsigned big-endian) | payload

Relay to engine:

- ``0x01`` ENVIRONMENT: the AGI environment as UTF-8 ``agi_name: value``
  lines joined by newlines. It is the first frame, sent once.
- ``0x02`` AUDIO: caller audio read from file descriptor 3, signed 16-bit
  little-endian mono PCM. Asterisk's EAGI sends 8 kHz (``slin``) unless the
  channel variable ``EAGI_AUDIO_FORMAT`` selects another format.
- ``0x03`` REPLY: Asterisk's reply to the last COMMAND, such as
  ``200 result=1``. A multi-line reply (``520-...`` lines up to ``520 ...``)
  is one frame whose lines are joined by newlines.
- ``0x04`` HANGUP: the call ended: file descriptor 3 reached end of file, or
  Asterisk wrote ``HANGUP`` to stdin.

Engine to relay:

- ``0x81`` COMMAND: one AGI command line without the newline, such as
  ``SET VARIABLE CAREROUTE_QUEUE refill``. The engine sends the next COMMAND
  only after it received the REPLY to this one.
- ``0x82`` EXIT: the engine is done with the call; the relay exits with status 0.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import selectors
import socket
import struct
import sys

#: Engine address when the dialplan passes none; ``eagi.port`` in careroute.yaml.
DEFAULT_ENGINE = "127.0.0.1:4578"
#: Seconds to wait for the TCP connection. On the same host a refused or
#: working connection takes well under a millisecond, so this only bounds a
#: firewalled or overloaded engine host.
CONNECT_TIMEOUT_S = 2.0
#: File descriptor on which EAGI delivers the caller's audio.
AUDIO_FD = 3
#: Bytes per read from the audio pipe: Asterisk 22 returned 640 or 1280 per read.
READ_SIZE = 4096

FRAME_ENVIRONMENT = 0x01
FRAME_AUDIO = 0x02
FRAME_REPLY = 0x03
FRAME_HANGUP = 0x04
FRAME_COMMAND = 0x81
FRAME_EXIT = 0x82
FRAME_TYPES = frozenset(
    (FRAME_ENVIRONMENT, FRAME_AUDIO, FRAME_REPLY, FRAME_HANGUP, FRAME_COMMAND, FRAME_EXIT)
)
HEADER = struct.Struct("!BI")
#: Largest payload either side accepts. Real frames are at most a few
#: kilobytes, so a larger length means the peer is not speaking this protocol.
MAX_PAYLOAD = 1 << 20

#: ``CAREROUTE_REASON`` values the relay sets when the engine fails.
REASON_UNREACHABLE = "engine unavailable"
REASON_LOST = "engine connection lost"

#: The first line of an AGI reply: three digits, then a space (last line) or a dash (more lines follow).
_REPLY_LINE = re.compile(r"^(\d{3})([ -])")


class ProtocolError(Exception):
    """The peer sent bytes that are not a valid frame."""


def encode_frame(frame_type: int, payload: bytes = b"") -> bytes:
    """Return one frame: the header followed by ``payload``.

    Raises:
        ValueError: ``frame_type`` is unknown or ``payload`` exceeds MAX_PAYLOAD.
    """
    if frame_type not in FRAME_TYPES:
        raise ValueError(f"frame type {frame_type!r} is unknown; use one of the FRAME_* constants")
    if len(payload) > MAX_PAYLOAD:
        raise ValueError(f"payload of {len(payload)} bytes exceeds MAX_PAYLOAD ({MAX_PAYLOAD}); split it")
    return HEADER.pack(frame_type, len(payload)) + payload


class FrameDecoder:
    """Split a byte stream into ``(type, payload)`` frames, however it was chunked."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        """Add received bytes and return every frame completed by them.

        Raises:
            ProtocolError: a header has an unknown type or a length above MAX_PAYLOAD.
        """
        self._buffer.extend(data)
        frames: list[tuple[int, bytes]] = []
        while len(self._buffer) >= HEADER.size:
            frame_type, length = HEADER.unpack_from(self._buffer)
            if frame_type not in FRAME_TYPES:
                raise ProtocolError(f"unknown frame type 0x{frame_type:02x}")
            if length > MAX_PAYLOAD:
                raise ProtocolError(f"frame length {length} exceeds MAX_PAYLOAD ({MAX_PAYLOAD})")
            end = HEADER.size + length
            if len(self._buffer) < end:
                break
            frames.append((frame_type, bytes(self._buffer[HEADER.size : end])))
            del self._buffer[:end]
        return frames

    @property
    def pending(self) -> int:
        """Return the number of buffered bytes that do not form a whole frame yet."""
        return len(self._buffer)


class LineReader:
    """Read newline-terminated lines from a file descriptor without Python's buffering.

    ``selectors`` reports readiness of the descriptor itself, so the bytes must
    not hide in a ``sys.stdin`` buffer where ``select`` cannot see them.
    """

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.closed = False
        self._buffer = b""

    def read_available(self) -> list[str]:
        """Read once from the descriptor and return the complete lines (without newlines)."""
        data = os.read(self.fd, READ_SIZE)
        if not data:
            self.closed = True
        self._buffer += data
        lines: list[str] = []
        while b"\n" in self._buffer:
            line, self._buffer = self._buffer.split(b"\n", 1)
            lines.append(line.rstrip(b"\r").decode("utf-8", "replace"))
        return lines

    def read_line(self) -> str | None:
        """Block until one whole line arrived and return it; None at end of file."""
        while b"\n" not in self._buffer:
            if self.closed:
                return None
            data = os.read(self.fd, READ_SIZE)
            if not data:
                self.closed = True
            self._buffer += data
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line.rstrip(b"\r").decode("utf-8", "replace")


def read_environment(stdin: LineReader) -> list[str]:
    """Read the ``agi_*`` lines Asterisk writes before the first command, up to the blank line."""
    lines: list[str] = []
    while True:
        line = stdin.read_line()
        if line is None or line == "":
            return lines
        lines.append(line)


class ReplyCollector:
    """Join the lines of AGI replies: ``520-`` lines continue, ``520 `` ends one."""

    def __init__(self) -> None:
        self._lines: list[str] = []

    def add(self, line: str) -> str | None:
        """Add one stdin line; return the whole reply once its last line arrived."""
        self._lines.append(line)
        match = _REPLY_LINE.match(self._lines[0])
        if match is None or match.group(2) == " ":
            # A line that is not a reply at all is passed on as it is.
            reply = "\n".join(self._lines)
            self._lines = []
            return reply
        if len(self._lines) > 1 and line.startswith(match.group(1) + " "):
            reply = "\n".join(self._lines)
            self._lines = []
            return reply
        return None


def parse_engine_address(argument: str) -> tuple[str, int]:
    """Parse ``host:port`` from the dialplan; an empty argument means DEFAULT_ENGINE.

    Raises:
        ValueError: the argument is not ``host:port`` with a port of 1-65535.
    """
    host, _, port_text = (argument.strip() or DEFAULT_ENGINE).rpartition(":")
    if not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError(
            f"engine address {argument!r} is invalid; pass host:port, for example {DEFAULT_ENGINE}"
        )
    return host, int(port_text)


def agi_command(stdout_fd: int, stdin: LineReader, line: str) -> str | None:
    """Send one AGI command and return Asterisk's reply; None when stdin closed."""
    write_all(stdout_fd, (line + "\n").encode("utf-8"))
    collector = ReplyCollector()
    while True:
        reply_line = stdin.read_line()
        if reply_line is None:
            return None
        reply = collector.add(reply_line)
        if reply is not None:
            return reply


def write_all(fd: int, data: bytes) -> None:
    """Write every byte of ``data`` to ``fd``."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def fail_safe(stdout_fd: int, stdin: LineReader, reason: str) -> None:
    """Set ``CAREROUTE_REASON`` so the dialplan's fallback records why the engine did not decide."""
    # OSError: Asterisk closed the pipes, so the caller is gone and there is nothing to tell.
    with contextlib.suppress(OSError):
        agi_command(stdout_fd, stdin, f'SET VARIABLE CAREROUTE_REASON "{reason}"')
    log(f"{reason}; the dialplan routes the caller to the fallback queue")


def fd_is_open(fd: int) -> bool:
    """Return True when ``fd`` is an open file descriptor."""
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


def log(message: str) -> None:
    """Write one line to stderr, which Asterisk shows in its console at verbose level 1."""
    with contextlib.suppress(OSError):
        sys.stderr.write(f"careroute eagi_relay: {message}\n")
        sys.stderr.flush()


class Relay:
    """Move frames between the engine socket and Asterisk's AGI pipes until EXIT."""

    def __init__(self, engine: socket.socket, stdin: LineReader, stdout_fd: int, audio_fd: int) -> None:
        self.engine = engine
        self.stdin = stdin
        self.stdout_fd = stdout_fd
        self.audio_fd = audio_fd
        self.decoder = FrameDecoder()
        self.replies = ReplyCollector()
        self.commands_pending = 0
        self.hangup_sent = False

    def run(self) -> bool:
        """Relay until the engine sends EXIT (True) or the connection ends (False)."""
        selector = selectors.DefaultSelector()
        selector.register(self.engine, selectors.EVENT_READ, "engine")
        selector.register(self.stdin.fd, selectors.EVENT_READ, "stdin")
        if self.audio_fd >= 0:
            selector.register(self.audio_fd, selectors.EVENT_READ, "audio")
        try:
            while True:
                for key, _ in selector.select():
                    if key.data == "engine":
                        finished = self._from_engine()
                        if finished is not None:
                            return finished
                    elif key.data == "stdin":
                        self._from_stdin()
                        if self.stdin.closed:
                            selector.unregister(self.stdin.fd)
                    elif not self._from_audio():
                        selector.unregister(self.audio_fd)
        finally:
            selector.close()

    def _from_engine(self) -> bool | None:
        data = self.engine.recv(READ_SIZE * 4)
        if not data:
            return False
        for frame_type, payload in self.decoder.feed(data):
            if frame_type == FRAME_EXIT:
                return True
            if frame_type != FRAME_COMMAND:
                raise ProtocolError(f"the engine sent frame type 0x{frame_type:02x}; expected COMMAND or EXIT")
            write_all(self.stdout_fd, payload + b"\n")
            self.commands_pending += 1
        return None

    def _from_stdin(self) -> None:
        for line in self.stdin.read_available():
            if line == "HANGUP":
                self._send_hangup()
                continue
            reply = self.replies.add(line)
            if reply is not None:
                self.commands_pending = max(0, self.commands_pending - 1)
                self.engine.sendall(encode_frame(FRAME_REPLY, reply.encode("utf-8")))
        if self.stdin.closed:
            self._send_hangup()

    def _from_audio(self) -> bool:
        try:
            data = os.read(self.audio_fd, READ_SIZE)
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.EINTR):
                return True
            data = b""
        if not data:
            self._send_hangup()
            return False
        self.engine.sendall(encode_frame(FRAME_AUDIO, data))
        return True

    def _send_hangup(self) -> None:
        if not self.hangup_sent:
            self.hangup_sent = True
            self.engine.sendall(encode_frame(FRAME_HANGUP))

    def finish_pending(self) -> None:
        """Read the replies to commands the engine sent but did not wait for, before new commands."""
        while self.commands_pending > 0 and not self.stdin.closed:
            line = self.stdin.read_line()
            if line is None:
                return
            if self.replies.add(line) is not None:
                self.commands_pending -= 1


def main(argv: list[str] | None = None, audio_fd: int = AUDIO_FD) -> int:
    """Run the relay for one call; always returns 0 so the dialplan carries on."""
    args = sys.argv[1:] if argv is None else argv
    stdin = LineReader(0)
    stdout_fd = 1
    environment = read_environment(stdin)
    if not fd_is_open(audio_fd):
        log(f"no audio on file descriptor {audio_fd}: run this script with EAGI(), not AGI()")
        audio_fd = -1
    try:
        host, port = parse_engine_address(args[0] if args else "")
    except ValueError as exc:
        log(str(exc))
        fail_safe(stdout_fd, stdin, REASON_UNREACHABLE)
        return 0
    try:
        engine = socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S)
    except OSError as exc:
        log(f"cannot connect to the CareRoute engine at {host}:{port} ({exc})")
        fail_safe(stdout_fd, stdin, REASON_UNREACHABLE)
        return 0
    engine.settimeout(None)
    engine.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    relay = Relay(engine, stdin, stdout_fd, audio_fd)
    try:
        engine.sendall(encode_frame(FRAME_ENVIRONMENT, "\n".join(environment).encode("utf-8")))
        finished = relay.run()
    except (OSError, ProtocolError) as exc:
        log(f"the connection to the CareRoute engine failed ({exc})")
        finished = False
    finally:
        engine.close()
    if not finished:
        relay.finish_pending()
        fail_safe(stdout_fd, stdin, REASON_LOST)
    return 0


if __name__ == "__main__":
    sys.exit(main())
