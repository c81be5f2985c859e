"""Dev-call audio for the benchmarks, read once into memory."""

from __future__ import annotations

import json
import os
import resource
from dataclasses import dataclass
from pathlib import Path

from careroute.audio import SAMPLE_WIDTH_BYTES, TELEPHONE_RATE_HZ
from careroute.errors import CareRouteError
from careroute.speech import PAD_SECONDS, read_pcm16

#: 20 ms of 8 kHz 16-bit PCM, the frame size Asterisk sends (its default ptime).
FRAME_SECONDS = 0.020
FRAME_BYTES = int(TELEPHONE_RATE_HZ * FRAME_SECONDS) * SAMPLE_WIDTH_BYTES


@dataclass(frozen=True, slots=True)
class DevCall:
    """One labelled dev call: 8 kHz 16-bit little-endian PCM with its labels."""

    call_id: str
    pcm: bytes
    queue: str
    urgency: str
    speech_end_s: float
    """Seconds from the start of the audio to the end of the speech (the trailing pad removed)."""
    path: Path

    @property
    def seconds(self) -> float:
        return len(self.pcm) / SAMPLE_WIDTH_BYTES / TELEPHONE_RATE_HZ

    def frames(self) -> list[bytes]:
        """Split the audio into 20 ms frames (the last one may be shorter)."""
        return [self.pcm[i : i + FRAME_BYTES] for i in range(0, len(self.pcm), FRAME_BYTES)]


def load_dev_calls(manifest: Path, limit: int | None = None) -> list[DevCall]:
    """Read the first ``limit`` calls of a JSON Lines manifest and their 8 kHz WAVs.

    Raises:
        CareRouteError: the manifest or a WAV is missing, or a WAV is not 8 kHz.
    """
    if not manifest.is_file():
        raise CareRouteError(
            f"dev-call manifest {str(manifest)!r} not found; pass --manifest with the "
            "path of a manifest.jsonl whose rows have 'audio', 'queue' and 'urgency'"
        )
    calls: list[DevCall] = []
    with manifest.open(encoding="utf-8") as lines:
        for line in lines:
            if not line.strip():
                continue
            if limit is not None and len(calls) >= limit:
                break
            row = json.loads(line)
            path = manifest.parent / row["audio"]
            if not path.is_file():
                raise CareRouteError(f"audio {str(path)!r} of dev call {row.get('id')!r} not found")
            pcm, rate = read_pcm16(path)
            if rate != TELEPHONE_RATE_HZ:
                raise CareRouteError(
                    f"{str(path)!r} is sampled at {rate!r} Hz; the benchmark feeds "
                    f"{TELEPHONE_RATE_HZ} Hz telephone audio, so resample it first"
                )
            seconds = len(pcm) / SAMPLE_WIDTH_BYTES / rate
            calls.append(
                DevCall(
                    call_id=str(row.get("id", path.stem)),
                    pcm=pcm,
                    queue=str(row["queue"]),
                    urgency=str(row["urgency"]),
                    speech_end_s=max(0.0, seconds - PAD_SECONDS),
                    path=path,
                )
            )
    if not calls:
        raise CareRouteError(f"dev-call manifest {str(manifest)!r} has no rows")
    return calls


def rss_mb() -> float:
    """Return the resident set size of this process in MiB, from /proc/self/statm."""
    with open("/proc/self/statm", encoding="ascii") as statm:
        resident_pages = int(statm.read().split()[1])
    return resident_pages * os.sysconf("SC_PAGE_SIZE") / (1024 * 1024)


def process_cpu_seconds() -> float:
    """Return user + system CPU seconds of every thread of this process."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def cpu_count() -> int:
    """Return the number of cores this process may run on."""
    return len(os.sched_getaffinity(0))

