"""Speak the red-flag sentences with several voices and decode them with Vosk.

Run from the repository root, niced::

    nice -n 10 .venv/bin/python models/training/make_redflag_variants.py --voices 3

Writes ``redflag_sentences.jsonl`` (the sentences of ``patterns_redflag.py``
with ids) and appends to ``redflag_variants.jsonl`` one Vosk transcript per
(sentence, voice). The voices mix Piper at several length scales (speaking
rates) with espeak-ng variants, so the transcripts show the recurring ways the
small English model mishears red-flag phrases. Pairs already in the output are
skipped, so an interrupted run resumes. ``--limit`` bounds one batch.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import patterns_redflag  # noqa: E402

from careroute.classifier.transcribe import transcribe_wav  # noqa: E402
from careroute.speech import synthesize  # noqa: E402

SENTENCES = HERE / "redflag_sentences.jsonl"
OUTPUT = HERE / "redflag_variants.jsonl"
SEED = 11

PIPER_LENGTH_SCALES = (0.8, 0.95, 1.1, 1.3)
ESPEAK_VOICES = ("en-us", "en-us+m3", "en-us+f2", "en-us+f4", "en-gb", "en-gb+m2",
                 "en-gb-scotland", "en-029", "en-us+m7", "en-gb-x-rp+f3")


def voices_for(rng: random.Random, count: int) -> list[str]:
    """Return ``count`` voices: Piper and espeak-ng in turn, with random settings."""
    voices: list[str] = []
    for number in range(count):
        if number % 2 == 0:
            voices.append(f"piper:joe:ls={rng.choice(PIPER_LENGTH_SCALES)}"
                          f":ns={rng.uniform(0.5, 0.8):.2f}:nw={rng.uniform(0.6, 0.95):.2f}")
        else:
            voices.append(f"espeak-ng:{rng.choice(ESPEAK_VOICES)}:s={rng.randint(130, 185)}"
                          f":p={rng.randint(30, 70)}:g={rng.randint(0, 2)}")
    return voices


def write_sentences() -> list[dict[str, str]]:
    """Write ``redflag_sentences.jsonl`` and return its rows."""
    rows: list[dict[str, str]] = []
    table = patterns_redflag.EMERGENCIES + patterns_redflag.LOOK_ALIKES
    for number, (text, queue, urgency, category) in enumerate(table, start=1):
        rows.append({"text": text, "queue": queue, "urgency": urgency, "persona": "",
                     "tag": "redflag" if category else "lookalike", "category": category,
                     "id": f"redflag-{number:04d}"})
    SENTENCES.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--voices", type=int, default=3, help="voices per red-flag sentence")
    parser.add_argument("--lookalike-voices", type=int, default=2, help="voices per look-alike")
    parser.add_argument("--limit", type=int, default=0, help="stop after this many new decodes")
    args = parser.parse_args()
    rng = random.Random(SEED)
    rows = write_sentences()
    done: set[tuple[str, str]] = set()
    if OUTPUT.exists():
        for line in OUTPUT.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            done.add((record["source"], record["voice"]))
    made = 0
    with OUTPUT.open("a", encoding="utf-8") as handle:
        for row in rows:
            count = args.voices if row["category"] else args.lookalike_voices
            for voice in voices_for(rng, count):
                if (row["id"], voice) in done:
                    continue
                if args.limit and made >= args.limit:
                    return
                wav = synthesize(row["text"], voice)
                text = transcribe_wav(wav)
                wav.unlink(missing_ok=True)
                record = {"text": text, "queue": row["queue"], "urgency": row["urgency"],
                          "persona": row["persona"], "tag": row["tag"],
                          "category": row["category"], "source": row["id"],
                          "source_text": row["text"], "voice": voice}
                handle.write(json.dumps(record) + "\n")
                handle.flush()
                made += 1
                if made % 25 == 0:
                    print(f"{made} decoded", flush=True)


if __name__ == "__main__":
    main()
