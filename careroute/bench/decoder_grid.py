"""Word error rate and CPU cost of Vosk decoder settings, on synthesized training sentences.

Run ``python -m careroute.bench.decoder_grid`` to measure a grid of
``--max-active`` x ``--beam`` values. Each sentence is a training utterance
(``models/training/utterances.jsonl``, never the dev calls) spoken by Piper
and by espeak-ng, made 8 kHz telephone audio by ``careroute.speech``, and fed
in 20 ms frames to a ``StreamingRecognizer`` with ``input_rate=8000``, the
engine's own path. CPU is ``time.thread_time`` of the feeding thread. Word
error rate is the word-level edit distance to the reference text over all
clips, divided by the reference word count.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from careroute.audio import TELEPHONE_RATE_HZ
from careroute.bench.calls import FRAME_BYTES
from careroute.model_tuning import DecoderSettings, tuned_model_path
from careroute.paths import repo_root, vosk_model_path
from careroute.recognizer import StreamingRecognizer
from careroute.speech import read_pcm16, synthesize
from careroute.static_graph import static_model_path

#: A Piper voice and an espeak-ng formant voice, as the test callers use.
VOICES = ("piper:joe", "espeak-ng:en-us+m1:s=150:p=50:g=1")
MAX_ACTIVE_GRID = (3000, 2000, 1500, 1000)
BEAM_GRID = (10.0, 9.0, 8.0)
_WORD = re.compile(r"[a-z']+")


@dataclass(frozen=True, slots=True)
class Clip:
    """One synthesized sentence: 8 kHz PCM and its reference words."""

    pcm: bytes
    reference: tuple[str, ...]


def normalize(text: str) -> tuple[str, ...]:
    """Return the lower-case words of ``text`` without punctuation, as Vosk spells them."""
    return tuple(_WORD.findall(text.lower()))


def word_errors(reference: Sequence[str], hypothesis: Sequence[str]) -> int:
    """Return the word-level Levenshtein distance (substitutions + deletions + insertions)."""
    previous = list(range(len(hypothesis) + 1))
    for i, ref_word in enumerate(reference, start=1):
        current = [i]
        for j, hyp_word in enumerate(hypothesis, start=1):
            current.append(min(
                previous[j] + 1,
                current[j - 1] + 1,
                previous[j - 1] + (ref_word != hyp_word),
            ))
        previous = current
    return previous[-1]


def load_clips(sentences: int, utterances: Path) -> list[Clip]:
    """Synthesize ``sentences`` evenly spaced training sentences in every voice of ``VOICES``."""
    with utterances.open(encoding="utf-8") as lines:
        texts = [json.loads(line)["text"] for line in lines if line.strip()]
    stride = max(1, len(texts) // sentences)
    chosen = texts[::stride][:sentences]
    clips: list[Clip] = []
    for text in chosen:
        for voice in VOICES:
            pcm, rate = read_pcm16(synthesize(text, voice))
            if rate != TELEPHONE_RATE_HZ:
                raise ValueError(f"synthesized {voice!r} audio is {rate!r} Hz, expected 8000")
            clips.append(Clip(pcm, normalize(text)))
    return clips


def measure(model: Any, clips: Sequence[Clip]) -> dict[str, float]:
    """Decode every clip at 8 kHz in 20 ms frames; return WER and CPU seconds per audio second."""
    errors = 0
    words = 0
    cpu = 0.0
    audio = 0.0
    for clip in clips:
        recognizer = StreamingRecognizer(model, input_rate=TELEPHONE_RATE_HZ)
        began = time.thread_time()
        for start in range(0, len(clip.pcm), FRAME_BYTES):
            recognizer.accept(clip.pcm[start : start + FRAME_BYTES])
        recognizer.finish()
        cpu += time.thread_time() - began
        audio += recognizer.audio_seconds
        errors += word_errors(clip.reference, normalize(recognizer.transcript))
        words += len(clip.reference)
    return {"wer": errors / words, "cpu_per_audio_second": cpu / audio, "audio_seconds": audio}


def _grid_point(text: str) -> tuple[int, float]:
    try:
        max_active, beam = text.lower().split("x")
        return int(max_active), float(beam)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"grid point {text!r} is invalid; use MAX_ACTIVExBEAM such as 2000x9"
        ) from exc


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sentences", type=int, default=30,
                        help="training sentences, each spoken by every voice (default 30)")
    parser.add_argument("--point", type=_grid_point, action="append", default=None,
                        help="measure only this MAX_ACTIVExBEAM point, such as 2000x9 (repeatable; "
                        "default: max-active 3000 2000 1500 1000 x beam 10 9 8)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="passes over the grid; CPU is the median over rounds (default 1)")
    parser.add_argument("--graph", choices=("static", "lookahead"), default="static",
                        help="decoding graph: the static one 'make model' builds (default) or the "
                        "model's on-the-fly pair")
    parser.add_argument("--frames-per-chunk", type=int, default=None,
                        help="Kaldi --frames-per-chunk for every point (default: Kaldi's 20)")
    parser.add_argument("--output", type=Path, default=Path("build/bench/decoder_grid.json"),
                        help="where to write the JSON figures")
    args = parser.parse_args(argv)
    points = args.point or [(max_active, beam) for max_active in MAX_ACTIVE_GRID for beam in BEAM_GRID]

    import vosk

    vosk.SetLogLevel(-1)
    clips = load_clips(args.sentences, repo_root() / "models" / "training" / "utterances.jsonl")
    base = vosk_model_path()
    if args.graph == "static":
        static = static_model_path(base)
        if static is None:
            parser.error(f"no static graph is built for {str(base)!r}; run 'make model' or pass --graph lookahead")
        base = static
    # One untimed pass so the first grid point does not pay for cold caches.
    measure(vosk.Model(str(base)), clips[:4])
    cpu: dict[tuple[int, float], list[float]] = {point: [] for point in points}
    wer: dict[tuple[int, float], float] = {}
    # Rounds visit every point in turn, so a change in the machine's load spreads over all points.
    for round_number in range(1, args.rounds + 1):
        for max_active, beam in points:
            settings = DecoderSettings(
                max_active=max_active, beam=beam, frames_per_chunk=args.frames_per_chunk
            )
            folder = tuned_model_path(base, settings)
            model = vosk.Model(str(folder))
            figures = measure(model, clips)
            del model
            cpu[(max_active, beam)].append(figures["cpu_per_audio_second"])
            wer[(max_active, beam)] = figures["wer"]
            print(f"round {round_number} max-active {max_active:5d} beam {beam:4.1f}: "
                  f"WER {figures['wer'] * 100:5.2f} %, "
                  f"CPU {figures['cpu_per_audio_second']:.4f} s per audio s", flush=True)
    rows = [
        {"max_active": max_active, "beam": beam, "wer": wer[(max_active, beam)],
         "cpu_per_audio_second": statistics.median(cpu[(max_active, beam)]),
         "cpu_per_round": cpu[(max_active, beam)]}
        for max_active, beam in points
    ]
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(
        json.dumps(
            {"clips": len(clips), "voices": VOICES, "rounds": args.rounds, "graph": args.graph,
             "frames_per_chunk": args.frames_per_chunk, "rows": rows},
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
