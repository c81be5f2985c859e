"""Audio frames between Asterisk and the recognizer.

Asterisk's externalMedia channel sends RTP over UDP. With ``format=slin16`` each
packet carries 20 ms of 16 kHz signed 16-bit linear audio in network byte order
(big-endian), and Vosk expects little-endian samples, so every payload is
byte-swapped. Telephone audio at 8 kHz (``format=slin`` or G.711 mu-law) is
upsampled to 16 kHz because the small English Vosk model accepts only 16 kHz.

Everything here is pure computation on bytes: no sockets, no clocks.
"""

from __future__ import annotations

import struct
import sys
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache

import numpy as np
import numpy.typing as npt
from scipy.signal import firwin

from careroute.errors import CareRouteError

#: Narrowband telephone audio (G.711 and Asterisk's ``slin``) is sampled at 8 kHz.
TELEPHONE_RATE_HZ = 8000
#: Asterisk's ``slin16`` and the Vosk small English model both use 16 kHz.
WIDEBAND_RATE_HZ = 16000
#: Signed 16-bit linear PCM: two bytes per sample.
SAMPLE_WIDTH_BYTES = 2
#: Asterisk's default packetization time (``ptime``) for externalMedia RTP.
FRAME_MS = 20
#: 16000 samples/s * 0.020 s * 2 bytes = 640 bytes per ``slin16`` packet.
SLIN16_FRAME_BYTES = WIDEBAND_RATE_HZ * FRAME_MS // 1000 * SAMPLE_WIDTH_BYTES
#: 8000 samples/s * 0.020 s * 2 bytes = 320 bytes per ``slin`` packet.
SLIN_FRAME_BYTES = TELEPHONE_RATE_HZ * FRAME_MS // 1000 * SAMPLE_WIDTH_BYTES
#: 8000 samples/s * 0.020 s * 1 byte = 160 bytes per G.711 mu-law packet.
ULAW_FRAME_BYTES = TELEPHONE_RATE_HZ * FRAME_MS // 1000

#: Fixed RTP header size without CSRCs or extension (RFC 3550, section 5.1).
RTP_HEADER_BYTES = 12
#: The only RTP version in use (RFC 3550).
RTP_VERSION = 2
#: Second header byte of RTCP packets (SR=200 ... APP=204). RTP and RTCP can
#: share a port (RFC 5761), and this byte distinguishes them.
RTCP_PACKET_TYPES = range(200, 205)
#: Sequence numbers are 16 bits and wrap around.
RTP_SEQUENCE_MODULUS = 1 << 16


class AudioFormatError(CareRouteError):
    """An RTP packet or an audio payload is malformed."""


class AudioFormat(Enum):
    """Payload formats that Asterisk's externalMedia channel can send.

    Each value is ``(Asterisk format name, sample rate in Hz, bytes per sample)``.
    """

    SLIN16 = ("slin16", WIDEBAND_RATE_HZ, 2)
    """16 kHz signed linear, big-endian in RTP. Dynamic payload type (118 on Asterisk 22)."""
    SLIN = ("slin", TELEPHONE_RATE_HZ, 2)
    """8 kHz signed linear, big-endian in RTP. Asterisk 22 sends payload type 10."""
    ULAW = ("ulaw", TELEPHONE_RATE_HZ, 1)
    """8 kHz G.711 mu-law, static payload type 0 (RFC 3551)."""

    @property
    def asterisk_name(self) -> str:
        """Format name as the ``format`` parameter of externalMedia spells it."""
        return self.value[0]

    @property
    def sample_rate(self) -> int:
        """Sample rate in Hz."""
        return int(self.value[1])

    @property
    def frame_bytes(self) -> int:
        """Payload size of one 20 ms packet."""
        return int(self.sample_rate * FRAME_MS // 1000 * self.value[2])

    @classmethod
    def from_name(cls, name: str) -> AudioFormat:
        """Return the format whose Asterisk name is ``name``.

        Raises:
            AudioFormatError: the name is not a supported format.
        """
        for member in cls:
            if member.asterisk_name == name:
                return member
        supported = ", ".join(member.asterisk_name for member in cls)
        raise AudioFormatError(f"audio format {name!r} is not supported; use one of {supported}")


@dataclass(frozen=True, slots=True)
class RtpPacket:
    """One parsed RTP packet (RFC 3550, section 5.1)."""

    payload_type: int
    sequence: int
    timestamp: int
    ssrc: int
    marker: bool
    csrcs: tuple[int, ...]
    extension_profile: int | None
    """The 16-bit profile id of the header extension, or None without one."""
    payload: bytes
    """Payload with padding removed."""


def parse_rtp(packet: bytes) -> RtpPacket:
    """Parse an RTP packet, skipping CSRCs and the header extension and removing padding.

    Raises:
        AudioFormatError: the packet is too short, not version 2, RTCP, or its
            CSRC count, extension length or padding length point past its end.
    """
    if len(packet) < RTP_HEADER_BYTES:
        raise AudioFormatError(
            f"RTP packet of {len(packet)} bytes is shorter than the {RTP_HEADER_BYTES}-byte header"
        )
    first, second, sequence, timestamp, ssrc = struct.unpack_from("!BBHII", packet)
    version = first >> 6
    if version != RTP_VERSION:
        raise AudioFormatError(f"RTP version {version} is not supported; expected {RTP_VERSION}")
    if second in RTCP_PACKET_TYPES:
        raise AudioFormatError(f"packet type {second} is RTCP, not RTP media")

    has_padding = bool(first & 0x20)
    has_extension = bool(first & 0x10)
    csrc_count = first & 0x0F
    offset = RTP_HEADER_BYTES + 4 * csrc_count
    if len(packet) < offset:
        raise AudioFormatError(
            f"RTP packet of {len(packet)} bytes is too short for {csrc_count} CSRC identifiers"
        )
    csrcs = struct.unpack_from(f"!{csrc_count}I", packet, RTP_HEADER_BYTES)

    extension_profile: int | None = None
    if has_extension:
        if len(packet) < offset + 4:
            raise AudioFormatError("RTP packet ends inside its header extension")
        extension_profile, extension_words = struct.unpack_from("!HH", packet, offset)
        offset += 4 + 4 * extension_words
        if len(packet) < offset:
            raise AudioFormatError(
                f"RTP header extension of {extension_words} words runs past the packet end"
            )

    end = len(packet)
    if has_padding:
        padding = packet[-1]
        if padding == 0 or offset + padding > end:
            raise AudioFormatError(
                f"RTP padding length {padding} is invalid for a packet of {end} bytes"
            )
        end -= padding

    return RtpPacket(
        payload_type=second & 0x7F,
        sequence=sequence,
        timestamp=timestamp,
        ssrc=ssrc,
        marker=bool(second & 0x80),
        csrcs=tuple(csrcs),
        extension_profile=extension_profile,
        payload=packet[offset:end],
    )


def build_rtp(
    payload: bytes, *, sequence: int, timestamp: int, ssrc: int, payload_type: int = 118
) -> bytes:
    """Build a plain RTP packet (no CSRC, extension or padding), as Asterisk sends them.

    Test callers and the benchmark use this to produce what externalMedia sends.
    """
    header = struct.pack(
        "!BBHII",
        RTP_VERSION << 6,
        payload_type & 0x7F,
        sequence % RTP_SEQUENCE_MODULUS,
        timestamp & 0xFFFFFFFF,
        ssrc & 0xFFFFFFFF,
    )
    return header + payload


def _check_pcm16(pcm: bytes) -> None:
    if len(pcm) % SAMPLE_WIDTH_BYTES:
        raise AudioFormatError(
            f"16-bit PCM must have an even number of bytes, got {len(pcm)}"
        )


def swap_pcm16(pcm: bytes) -> bytes:
    """Swap the byte order of 16-bit samples (big-endian <-> little-endian).

    Raises:
        AudioFormatError: ``pcm`` has an odd number of bytes.
    """
    _check_pcm16(pcm)
    return np.frombuffer(pcm, dtype=np.uint16).byteswap().tobytes()


def be_to_native_le(pcm_be: bytes) -> bytes:
    """Convert network-order ``slin`` samples to the little-endian samples Vosk reads."""
    if sys.byteorder != "little":  # pragma: no cover - every supported platform is little-endian
        raise AudioFormatError("CareRoute supports little-endian hosts only")
    return swap_pcm16(pcm_be)


@lru_cache(maxsize=1)
def _ulaw_table() -> npt.NDArray[np.int16]:
    """Build the 256-entry G.711 mu-law to 16-bit linear table (ITU-T G.711)."""
    codes = np.arange(256, dtype=np.int32)
    inverted = ~codes & 0xFF
    sign = inverted & 0x80
    exponent = (inverted >> 4) & 0x07
    mantissa = inverted & 0x0F
    # 0x84 is the G.711 bias (132) that the encoder added before taking the segment.
    magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84
    return np.where(sign != 0, -magnitude, magnitude).astype(np.int16)


def ulaw_to_pcm16(ulaw: bytes) -> bytes:
    """Decode G.711 mu-law bytes to 16-bit little-endian linear PCM at the same rate."""
    codes = np.frombuffer(ulaw, dtype=np.uint8)
    return _ulaw_table()[codes].astype("<i2").tobytes()


def payload_to_pcm16(payload: bytes, audio_format: AudioFormat) -> bytes:
    """Decode one RTP payload to 16-bit little-endian PCM at the format's own rate."""
    if audio_format is AudioFormat.ULAW:
        return ulaw_to_pcm16(payload)
    return be_to_native_le(payload)


class StreamingUpsampler:
    """Integer-factor upsampler for a stream of 16-bit little-endian PCM chunks.

    It applies the same anti-imaging FIR filter as
    ``scipy.signal.resample_poly(x, factor, 1)`` (Kaiser window, beta 5, 10
    zero crossings per side) and carries the last input samples across chunk
    boundaries. The concatenated output of all chunks plus ``flush()`` therefore
    equals the whole-signal ``resample_poly`` result up to rounding to integers.
    The price is a fixed delay of 10 input samples (1.25 ms at 8 kHz), because
    the filter's centre tap needs that much lookahead.
    """

    #: Zero crossings of the windowed sinc on each side, as in resample_poly.
    HALF_LENGTH_PER_FACTOR = 10
    #: Kaiser window beta, as in resample_poly's default window.
    KAISER_BETA = 5.0

    def __init__(self, factor: int) -> None:
        if factor < 1:
            raise ValueError(f"upsampling factor must be a positive integer, got {factor!r}")
        self.factor = factor
        half_length = self.HALF_LENGTH_PER_FACTOR * factor if factor > 1 else 0
        self._taps: npt.NDArray[np.float64] = np.ones(1)
        if factor > 1:
            self._taps = (
                firwin(2 * half_length + 1, 1.0 / factor, window=("kaiser", self.KAISER_BETA))
                * factor
            )
        # Input samples of history that give every output of a new chunk full filter support.
        self._history_length = max(1, -(-(len(self._taps) - 1) // factor))
        # Per output phase: its taps reversed for np.correlate, and how many leading
        # outputs of np.correlate(..., "valid") belong to inputs of the previous chunk.
        self._phases = [
            (np.ascontiguousarray(taps[::-1]), self._history_length - (len(taps) - 1))
            for taps in (self._taps[phase::factor] for phase in range(factor))
        ]
        # History followed by the current chunk, reused while chunks keep their size.
        self._window: npt.NDArray[np.float64] = np.zeros(self._history_length)
        # Outputs still to discard so the stream lines up with resample_poly (zero phase).
        self._delay_outputs = half_length
        self._to_discard = half_length

    def process(self, pcm: bytes) -> bytes:
        """Upsample one chunk; the output lags the input by the filter delay."""
        _check_pcm16(pcm)
        if self.factor == 1:
            return pcm
        return self._filter(np.frombuffer(pcm, dtype="<i2"))

    def flush(self) -> bytes:
        """Return the delayed tail of the stream; call once after the last chunk."""
        if self.factor == 1:
            return b""
        tail_inputs = -(-self._delay_outputs // self.factor)
        return self._filter(np.zeros(tail_inputs))[: self._delay_outputs * SAMPLE_WIDTH_BYTES]

    def _filter(self, samples: npt.NDArray[np.int16] | npt.NDArray[np.float64]) -> bytes:
        size = samples.size
        if size == 0:
            return b""
        first = self._history_length
        window = self._window
        if window.size != first + size:
            # A chunk of another size: carry the history over into a window that fits it.
            window = np.empty(first + size)
            window[:first] = self._window[:first]
            self._window = window
        window[first:] = samples
        # Polyphase form of upfirdn(taps, window, factor)[factor * history:][:factor * size]:
        # output phase p of input sample m is the sum over j of taps[p + factor*j] * x[m - j].
        # Per 20 ms frame this is one short numpy correlation per phase instead of
        # scipy's per-call set-up. np.correlate with reversed taps computes the same
        # dot products as np.convolve with the taps, so the stream has the same bits
        # as convolving the whole signal at once.
        filtered = np.empty(self.factor * size)
        for phase, (reversed_taps, skip) in enumerate(self._phases):
            valid = np.correlate(window, reversed_taps, "valid")
            filtered[phase :: self.factor] = valid[skip : skip + size]
        # The last inputs become the history at the front of the window.
        window[:first] = window[size:]
        if self._to_discard:
            dropped = min(self._to_discard, filtered.size)
            filtered = filtered[dropped:]
            self._to_discard -= dropped
        np.rint(filtered, out=filtered)
        np.minimum(filtered, 32767, out=filtered)
        np.maximum(filtered, -32768, out=filtered)
        return filtered.astype("<i2").tobytes()


class ReorderBuffer:
    """Put RTP packets of one stream back into sequence-number order.

    UDP may reorder or duplicate packets. The buffer keeps at most ``depth``
    packets that arrived ahead of a gap. When it is full, it gives up on the missing packets, counts them
    in ``lost`` and releases what it has. A packet older than the next expected
    sequence number is dropped and counted in ``late``. The default depth of 3
    packets (60 ms of slin16 audio) bounds the extra delay a gap can cause.
    """

    def __init__(self, depth: int = 3) -> None:
        if depth < 1:
            raise ValueError(f"reorder depth must be at least 1 packet, got {depth!r}")
        self.depth = depth
        self.lost = 0
        self.late = 0
        self.duplicates = 0
        self._expected: int | None = None
        self._pending: dict[int, RtpPacket] = {}

    def push(self, packet: RtpPacket) -> list[RtpPacket]:
        """Add a packet; return the packets that are now ready, in order."""
        if self._expected is None:
            self._expected = packet.sequence
        ahead = (packet.sequence - self._expected) % RTP_SEQUENCE_MODULUS
        if ahead >= RTP_SEQUENCE_MODULUS // 2:
            self.late += 1
            return []
        if packet.sequence in self._pending:
            self.duplicates += 1
            return []
        self._pending[packet.sequence] = packet

        ready = self._release()
        if len(self._pending) > self.depth:
            # Give up on the gap: skip to the oldest packet that did arrive.
            oldest = min(self._pending, key=self._distance)
            self.lost += self._distance(oldest)
            self._expected = oldest
            ready += self._release()
        return ready

    def flush(self) -> list[RtpPacket]:
        """Return every held packet in order, counting the gaps as lost."""
        ready: list[RtpPacket] = []
        while self._pending:
            oldest = min(self._pending, key=self._distance)
            self.lost += self._distance(oldest)
            self._expected = oldest
            ready += self._release()
        return ready

    def _distance(self, sequence: int) -> int:
        assert self._expected is not None
        return (sequence - self._expected) % RTP_SEQUENCE_MODULUS

    def _release(self) -> list[RtpPacket]:
        ready: list[RtpPacket] = []
        while self._expected in self._pending:
            ready.append(self._pending.pop(self._expected))
            self._expected = (self._expected + 1) % RTP_SEQUENCE_MODULUS
        return ready
