"""Unit tests for careroute.audio: RTP parsing, byte order, mu-law and upsampling."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from scipy.signal import firwin, resample_poly

from careroute.audio import (
    SLIN16_FRAME_BYTES,
    SLIN_FRAME_BYTES,
    ULAW_FRAME_BYTES,
    AudioFormat,
    AudioFormatError,
    ReorderBuffer,
    RtpPacket,
    StreamingUpsampler,
    build_rtp,
    parse_rtp,
    payload_to_pcm16,
    swap_pcm16,
    ulaw_to_pcm16,
)


def _header(first: int = 0x80, second: int = 118, seq: int = 7, ts: int = 320, ssrc: int = 0xABCD) -> bytes:
    return struct.pack("!BBHII", first, second, seq, ts, ssrc)


def test_frame_sizes_match_asterisk_packets() -> None:
    assert SLIN16_FRAME_BYTES == 640
    assert SLIN_FRAME_BYTES == 320
    assert ULAW_FRAME_BYTES == 160


def test_parse_rtp_plain_packet() -> None:
    payload = bytes(range(256)) * 2 + bytes(128)
    packet = parse_rtp(build_rtp(payload, sequence=65535, timestamp=2**32 - 1, ssrc=42))
    assert packet.payload_type == 118
    assert packet.sequence == 65535
    assert packet.timestamp == 2**32 - 1
    assert packet.ssrc == 42
    assert packet.marker is False
    assert packet.csrcs == ()
    assert packet.extension_profile is None
    assert packet.payload == payload


def test_parse_rtp_marker_and_csrcs() -> None:
    data = _header(first=0x82, second=0x80 | 10) + struct.pack("!II", 11, 22) + b"\x01\x02"
    packet = parse_rtp(data)
    assert packet.marker is True
    assert packet.payload_type == 10
    assert packet.csrcs == (11, 22)
    assert packet.payload == b"\x01\x02"


def test_parse_rtp_skips_header_extension() -> None:
    extension = struct.pack("!HH", 0xBEDE, 2) + bytes(8)
    packet = parse_rtp(_header(first=0x90) + extension + b"\xaa\xbb")
    assert packet.extension_profile == 0xBEDE
    assert packet.payload == b"\xaa\xbb"


def test_parse_rtp_removes_padding() -> None:
    packet = parse_rtp(_header(first=0xA0) + b"\x11\x22" + b"\x00\x00\x03")
    assert packet.payload == b"\x11\x22"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param(b"\x80\x76", "shorter than", id="too-short"),
        pytest.param(_header(first=0x40), "version 1", id="version-1"),
        pytest.param(_header(second=200), "RTCP", id="rtcp-sender-report"),
        pytest.param(_header(first=0x83) + bytes(8), "CSRC", id="csrc-past-end"),
        pytest.param(_header(first=0x90) + b"\xbe", "extension", id="extension-header-cut"),
        pytest.param(
            _header(first=0x90) + struct.pack("!HH", 0xBEDE, 5) + bytes(4),
            "runs past",
            id="extension-body-cut",
        ),
        pytest.param(_header(first=0xA0) + b"\x01\x00", "padding length 0", id="zero-padding"),
        pytest.param(_header(first=0xA0) + b"\x01\x09", "padding length 9", id="padding-past-start"),
    ],
)
def test_parse_rtp_rejects_malformed(data: bytes, message: str) -> None:
    with pytest.raises(AudioFormatError, match=message):
        parse_rtp(data)


def test_swap_pcm16_converts_big_to_little_endian() -> None:
    samples = np.array([1, -2, 300, -32768, 32767], dtype=">i2")
    swapped = swap_pcm16(samples.tobytes())
    assert np.frombuffer(swapped, dtype="<i2").tolist() == [1, -2, 300, -32768, 32767]


def test_swap_pcm16_rejects_odd_length() -> None:
    with pytest.raises(AudioFormatError, match="even number of bytes, got 3"):
        swap_pcm16(b"\x00\x01\x02")


def test_payload_to_pcm16_slin16_is_byte_swapped() -> None:
    payload = np.array([1000, -1000], dtype=">i2").tobytes()
    pcm = payload_to_pcm16(payload, AudioFormat.SLIN16)
    assert np.frombuffer(pcm, dtype="<i2").tolist() == [1000, -1000]


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        pytest.param(0xFF, 0, id="positive-zero"),
        pytest.param(0x7F, 0, id="negative-zero"),
        pytest.param(0x80, 32124, id="positive-max"),
        pytest.param(0x00, -32124, id="negative-max"),
        pytest.param(0xF0, 120, id="small-positive"),
        pytest.param(0x70, -120, id="small-negative"),
    ],
)
def test_ulaw_to_pcm16_known_codes(code: int, expected: int) -> None:
    assert np.frombuffer(ulaw_to_pcm16(bytes([code])), dtype="<i2")[0] == expected


def test_ulaw_payload_doubles_in_size() -> None:
    assert len(payload_to_pcm16(bytes(ULAW_FRAME_BYTES), AudioFormat.ULAW)) == SLIN_FRAME_BYTES


def test_audio_format_from_name() -> None:
    assert AudioFormat.from_name("slin16") is AudioFormat.SLIN16
    assert AudioFormat.SLIN16.frame_bytes == 640
    assert AudioFormat.ULAW.frame_bytes == 160


def test_audio_format_from_name_rejects_unknown() -> None:
    with pytest.raises(AudioFormatError, match="'g729' is not supported"):
        AudioFormat.from_name("g729")


def _stream(upsampler: StreamingUpsampler, pcm: bytes, chunk_bytes: int) -> bytes:
    pieces = [upsampler.process(pcm[i : i + chunk_bytes]) for i in range(0, len(pcm), chunk_bytes)]
    return b"".join(pieces) + upsampler.flush()


@pytest.mark.parametrize("chunk_bytes", [SLIN_FRAME_BYTES, 2, 1000], ids=["20ms", "1-sample", "odd-size"])
def test_upsampler_stream_matches_resample_poly(chunk_bytes: int) -> None:
    rng = np.random.default_rng(1)
    signal = (rng.standard_normal(4000) * 4000).astype("<i2")
    streamed = np.frombuffer(_stream(StreamingUpsampler(2), signal.tobytes(), chunk_bytes), "<i2")
    whole = resample_poly(signal.astype(np.float64), 2, 1)
    assert streamed.size == whole.size
    # Rounding to 16-bit integers is the only difference.
    assert np.max(np.abs(streamed - whole)) <= 0.5 + 1e-9


def whole_signal_polyphase(signal: np.ndarray, factor: int) -> bytes:
    """Upsample ``signal`` in one piece with np.convolve per output phase, zero history and tail."""
    half_length = StreamingUpsampler.HALF_LENGTH_PER_FACTOR * factor
    window = ("kaiser", StreamingUpsampler.KAISER_BETA)
    taps = firwin(2 * half_length + 1, 1.0 / factor, window=window) * factor
    history = -(-(len(taps) - 1) // factor)
    tail = -(-half_length // factor)
    padded = np.concatenate((np.zeros(history), signal.astype(np.float64), np.zeros(tail)))
    size = signal.size + tail
    filtered = np.empty(factor * size)
    for phase in range(factor):
        filtered[phase::factor] = np.convolve(padded, taps[phase::factor])[history : history + size]
    filtered = filtered[half_length : half_length + factor * signal.size]
    return np.clip(np.rint(filtered), -32768, 32767).astype("<i2").tobytes()


def _stream_sizes(upsampler: StreamingUpsampler, pcm: bytes, sizes: list[int]) -> bytes:
    pieces: list[bytes] = []
    offset = 0
    while offset < len(pcm):
        size = sizes[len(pieces) % len(sizes)]
        pieces.append(upsampler.process(pcm[offset : offset + size]))
        offset += size
    return b"".join(pieces) + upsampler.flush()


@pytest.mark.parametrize(
    "sizes",
    [[SLIN_FRAME_BYTES], [2], [SLIN_FRAME_BYTES, 2, 1000, 6, 2 * SLIN_FRAME_BYTES]],
    ids=["20ms", "1-sample", "mixed-sizes"],
)
@pytest.mark.parametrize("scale", [4000, 20000], ids=["speech-level", "clipping"])
def test_upsampler_stream_same_bits_as_whole_signal(sizes: list[int], scale: int) -> None:
    rng = np.random.default_rng(2)
    signal = np.clip(rng.standard_normal(4000) * scale, -32768, 32767).astype("<i2")
    streamed = _stream_sizes(StreamingUpsampler(2), signal.tobytes(), sizes)
    assert streamed == whole_signal_polyphase(signal, 2)


def test_upsampler_short_stream_keeps_length() -> None:
    upsampler = StreamingUpsampler(2)
    out = upsampler.process(np.array([5, 6, 7], "<i2").tobytes()) + upsampler.flush()
    assert len(out) == 12


def test_upsampler_factor_one_passes_through() -> None:
    upsampler = StreamingUpsampler(1)
    assert upsampler.process(b"\x01\x02") == b"\x01\x02"
    assert upsampler.flush() == b""


def test_upsampler_rejects_zero_factor() -> None:
    with pytest.raises(ValueError, match="got 0"):
        StreamingUpsampler(0)


def _packets(*sequences: int) -> list[RtpPacket]:
    return [parse_rtp(build_rtp(bytes([n % 256]) * 2, sequence=n, timestamp=0, ssrc=1)) for n in sequences]


def _push_all(buffer: ReorderBuffer, sequences: list[int]) -> list[int]:
    released: list[int] = []
    for packet in _packets(*sequences):
        released += [item.sequence for item in buffer.push(packet)]
    return released


def test_reorder_in_order_passes_through() -> None:
    assert _push_all(ReorderBuffer(), [10, 11, 12]) == [10, 11, 12]


def test_reorder_swapped_pair_restored() -> None:
    assert _push_all(ReorderBuffer(), [10, 12, 11, 13]) == [10, 11, 12, 13]


def test_reorder_wraps_sequence_numbers() -> None:
    assert _push_all(ReorderBuffer(), [65534, 0, 65535, 1]) == [65534, 65535, 0, 1]


def test_reorder_gap_counted_lost_when_full() -> None:
    buffer = ReorderBuffer(depth=2)
    assert _push_all(buffer, [1, 3, 4, 5]) == [1, 3, 4, 5]
    assert buffer.lost == 1


def test_reorder_late_and_duplicate_dropped() -> None:
    buffer = ReorderBuffer()
    # 4 and the second 6 are behind the next expected number (7); the second 8 is held twice.
    assert _push_all(buffer, [5, 6, 4, 6, 8, 8]) == [5, 6]
    assert buffer.late == 2
    assert buffer.duplicates == 1


def test_reorder_flush_releases_held() -> None:
    buffer = ReorderBuffer()
    _push_all(buffer, [1, 3, 5])
    assert [packet.sequence for packet in buffer.flush()] == [3, 5]
    assert buffer.lost == 2


def test_reorder_rejects_zero_depth() -> None:
    with pytest.raises(ValueError, match="got 0"):
        ReorderBuffer(depth=0)
