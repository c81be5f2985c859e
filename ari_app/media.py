"""Caller audio from Asterisk's externalMedia channel, as RTP over UDP.

Each call gets its own UDP port from ``RtpPortPool``; the app passes
``127.0.0.1:<port>`` as ``external_host`` when it creates that call's
externalMedia channel, so a packet belongs to the call whose port it reached.
The first source address seen is latched and packets from any other address
are dropped and counted, because only the Asterisk leg created for this call
may speak on this port.

Asterisk 22 sends ``slin16`` as 640-byte payloads every 20 ms in network byte
order (big-endian); ``careroute.audio.payload_to_pcm16`` swaps them to the
little-endian samples Vosk expects.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import cast

import structlog

from careroute.audio import AudioFormat, AudioFormatError, parse_rtp, payload_to_pcm16

log = structlog.get_logger("careroute.media")

#: Audio kept for a decoder that fell behind: 60 s of 20 ms frames. A caller
#: is never listened to for that long, so a full queue means a stuck decoder.
MAX_QUEUED_FRAMES = 3000


class PortPoolExhausted(Exception):
    """Every RTP port in the configured range is taken."""


class RtpPortPool:
    """Hands out UDP ports from a fixed range, one per live call."""

    def __init__(self, ports: Iterable[int], host: str = "127.0.0.1") -> None:
        self._free = list(ports)
        self._used: set[int] = set()
        self.host = host

    def open(self) -> tuple[socket.socket, int]:
        """Bind a UDP socket on the next free port and return it with the port.

        Ports that another process holds are skipped.

        Raises:
            PortPoolExhausted: no port in the range could be bound.
        """
        tried = 0
        while self._free and tried < len(self._free) + len(self._used):
            port = self._free.pop(0)
            tried += 1
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                sock.bind((self.host, port))
            except OSError:
                sock.close()
                self._free.append(port)
                continue
            sock.setblocking(False)
            self._used.add(port)
            return sock, port
        raise PortPoolExhausted(
            f"no free UDP port for caller audio on {self.host} "
            f"({len(self._used)} in use); widen media.rtp_port_min/max in the config"
        )

    def release(self, port: int) -> None:
        """Return ``port`` to the pool (its socket must be closed)."""
        if port in self._used:
            self._used.discard(port)
            self._free.append(port)

    @property
    def in_use(self) -> int:
        return len(self._used)


@dataclass
class RtpStats:
    """Counters for one call's RTP stream."""

    packets: int = 0
    bytes: int = 0
    malformed: int = 0
    foreign: int = 0
    """Packets from an address other than the latched source."""
    overflow: int = 0
    first_packet_at: float | None = None
    sources: set[tuple[str, int]] = field(default_factory=set)


class RtpReceiver(asyncio.DatagramProtocol):
    """Receives one call's RTP and queues 16-bit little-endian PCM frames.

    ``frames`` yields PCM bytes; ``None`` marks the end of the stream.
    """

    def __init__(self, audio_format: AudioFormat) -> None:
        self.audio_format = audio_format
        self.frames: asyncio.Queue[bytes | None] = asyncio.Queue(MAX_QUEUED_FRAMES)
        self.stats = RtpStats()
        self.first_packet = asyncio.Event()
        self._source: tuple[str, int] | None = None
        self._transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # asyncio's selector loop hands over a transport that implements the
        # datagram interface without subclassing DatagramTransport.
        self._transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if self._source is None:
            self._source = addr
        elif addr != self._source:
            self.stats.foreign += 1
            return
        try:
            packet = parse_rtp(data)
            pcm = payload_to_pcm16(packet.payload, self.audio_format)
        except AudioFormatError:
            self.stats.malformed += 1
            return
        self.stats.packets += 1
        self.stats.bytes += len(packet.payload)
        if self.stats.first_packet_at is None:
            self.stats.first_packet_at = time.monotonic()
            self.first_packet.set()
        try:
            self.frames.put_nowait(pcm)
        except asyncio.QueueFull:
            self.stats.overflow += 1

    def error_received(self, exc: Exception) -> None:
        log.warning("media.rtp.socket_error", error=str(exc))

    def close(self) -> None:
        """Stop receiving and mark the end of the stream."""
        if self._transport is not None:
            self._transport.close()
            self._transport = None
        # When the queue is full the consumer is far behind; it stops at the
        # cancellation instead of at the end marker.
        with contextlib.suppress(asyncio.QueueFull):
            self.frames.put_nowait(None)


async def open_rtp_receiver(
    pool: RtpPortPool, audio_format: AudioFormat
) -> tuple[RtpReceiver, int]:
    """Bind a port from ``pool`` and start receiving on it; return the receiver and port."""
    sock, port = pool.open()
    loop = asyncio.get_running_loop()
    try:
        _, protocol = await loop.create_datagram_endpoint(
            lambda: RtpReceiver(audio_format), sock=sock
        )
    except BaseException:
        sock.close()
        pool.release(port)
        raise
    return protocol, port
