"""Make recognizer-realistic training rows: synthesize sentences, decode them with Vosk.

Run from the repository root, niced, once (it takes a while on two cores)::

    nice -n 15 .venv/bin/python models/training/make_vosk_variants.py --count 800

A seeded, label-stratified sample of ``utterances.jsonl`` is spoken by a mix
of Piper and espeak-ng voices (through ``careroute.speech.synthesize``, which
makes 8 kHz mu-law telephone audio), decoded with the small English Vosk model
as the service decodes a call (``careroute.classifier.transcribe.decode_wav``:
the recognizer section's decoder settings, 20 ms packets) and written to
``vosk_variants.jsonl`` with the original labels. Only text is kept: the
final transcript, and as ``partials`` every cumulative transcript the
recognizer produced while the sentence streamed in. ``decoder`` names the
decoder options that differ from the model's own (and, on newer rows, the
decoding graph). Rows without it were decoded by an older transcriber with
the model's own options in 0.25 s chunks, and have no partials.
Each row stores the spoken sentence as ``source_text`` and its id in
``utterances.jsonl`` as ``source``. Ids change whenever
``build_utterances.py`` runs after a pattern edit, so ``source`` is null for
rows whose sentence is no longer in ``utterances.jsonl``, and sentences
already in the output (by text) are skipped, so an interrupted run resumes.
"""

from __future__ import annotations

import argparse
import json
import random
from collections import defaultdict
from pathlib import Path

from careroute.classifier.transcribe import decode_wav
from careroute.config.schema import RecognizerConfig
from careroute.speech import synthesize
from careroute.static_graph import static_model_path

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "utterances.jsonl"
OUTPUT = HERE / "vosk_variants.jsonl"
SEED = 7

ESPEAK_VOICES = ["en-us", "en-us+m3", "en-us+f2", "en-us+f4", "en-gb", "en-gb+m2",
                 "en-gb-scotland", "en-029", "en-gb-x-rp+f3", "en-us+m7"]


def pick_voice(rng: random.Random) -> str:
    if rng.random() < 0.5:
        return (f"piper:joe:ls={rng.uniform(0.9, 1.2):.2f}:ns={rng.uniform(0.5, 0.8):.2f}"
                f":nw={rng.uniform(0.6, 0.95):.2f}")
    return (f"espeak-ng:{rng.choice(ESPEAK_VOICES)}:s={rng.randint(130, 180)}"
            f":p={rng.randint(30, 70)}:g={rng.randint(0, 2)}")


def sample(rows: list[dict[str, str]], count: int, rng: random.Random) -> list[dict[str, str]]:
    """Take ``count`` rows, spread evenly over (queue, urgency) groups, hard cases first."""
    groups: dict[tuple[str, str], list[dict[str, str]]] = defaultdict(list)
    for row in rows:
        if row["queue"] != "undecided":
            groups[(row["queue"], row["urgency"])].append(row)
    per_group = max(1, count // len(groups))
    chosen: list[dict[str, str]] = []
    for members in groups.values():
        rng.shuffle(members)
        members.sort(key=lambda r: r["tag"] in ("", "filler"))
        chosen.extend(members[:per_group])
    rng.shuffle(chosen)
    return chosen[:count]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=800, help="sentences to synthesize")
    parser.add_argument("--limit", type=int, default=0, help="stop after this many new decodes")
    args = parser.parse_args()
    rng = random.Random(SEED)
    rows = [json.loads(line) for line in SOURCE.read_text(encoding="utf-8").splitlines()]
    done: set[str] = set()
    if OUTPUT.exists():
        done = {json.loads(line)["source_text"]
                for line in OUTPUT.read_text(encoding="utf-8").splitlines()}
    todo = sample(rows, args.count, rng)
    voices = [pick_voice(rng) for _ in todo]
    made = 0
    recognizer = RecognizerConfig()
    graph = recognizer.graph
    if graph == "auto":
        built = static_model_path(recognizer.resolved_model_path()) is not None
        graph = "static" if built else "lookahead"
    options = recognizer.decoder_settings().options()
    decoder = " ".join([f"graph={graph}", *(f"{name}={value}" for name, value in options.items())])
    with OUTPUT.open("a", encoding="utf-8") as handle:
        for number, (row, voice) in enumerate(zip(todo, voices, strict=True), start=1):
            if row["text"] in done:
                continue
            if args.limit and made >= args.limit:
                break
            made += 1
            wav = synthesize(row["text"], voice)
            decoding = decode_wav(wav, recognizer)
            wav.unlink(missing_ok=True)
            record = {"text": decoding.transcript, "queue": row["queue"], "urgency": row["urgency"],
                      "persona": row["persona"], "tag": row["tag"], "source": row["id"],
                      "source_text": row["text"], "voice": voice, "decoder": decoder,
                      "partials": list(decoding.partials)}
            handle.write(json.dumps(record) + "\n")
            handle.flush()
            if number % 25 == 0:
                print(f"{number}/{len(todo)}", flush=True)


if __name__ == "__main__":
    main()
