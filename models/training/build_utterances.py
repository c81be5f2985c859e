"""Expand the hand-written patterns into ``utterances.jsonl``.

Run from the repository root::

    .venv/bin/python models/training/build_utterances.py

The expansion is seeded, so the output only changes when the patterns do.
Each pattern yields a few sentences with different slot values, openers and
closers; duplicates are dropped.
"""

from __future__ import annotations

import json
import random
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import patterns_admin  # noqa: E402
import patterns_callers  # noqa: E402
import patterns_clinical  # noqa: E402
import patterns_situations  # noqa: E402
import phrasebook as pb  # noqa: E402

OUTPUT = HERE / "utterances.jsonl"
SEED = 20240611
#: Variants per pattern: patterns with slots vary more, so they get more rows.
VARIANTS_WITH_SLOTS = 7
VARIANTS_WITHOUT_SLOTS = 3

SLOT_LISTS: dict[str, list[str]] = {
    "name": pb.NAMES, "dob": pb.DOBS, "doctor": pb.DOCTORS, "staff": pb.STAFF,
    "pharmacy": pb.PHARMACIES, "clinic": pb.CLINICS, "med": pb.MEDS,
    "critmed": pb.CRITICAL_MEDS, "pamed": pb.PA_MEDS, "sidemed": pb.SIDE_EFFECT_MEDS,
    "symptom": pb.MILD_SYMPTOMS, "bodypart": pb.BODY_PARTS, "test": pb.TESTS,
    "appt": pb.APPOINTMENT_KINDS, "day": pb.DAYS, "amount": pb.AMOUNTS,
    "insurer": pb.INSURERS,
}
SLOT = re.compile(r"\{(\w+)\}")
CAREGIVER_WORDS = re.compile(
    r"\b(my (son|daughter|mom|mother|dad|father|husband|wife|baby|toddler|child|infant|"
    r"newborn|grandmother|mother-in-law|kids?)|our resident|the baby)\b",
    re.IGNORECASE,
)


def fill(template: str, rng: random.Random, subject: dict[str, str]) -> str:
    """Fill every slot of ``template``; slot values may hold slots themselves."""
    text = template
    for _ in range(3):
        text = SLOT.sub(
            lambda m: subject[m.group(1)] if m.group(1) in subject
            else rng.choice(SLOT_LISTS[m.group(1)]),
            text,
        )
    return text


def persona_of(template: str, subject: dict[str, str]) -> str:
    lowered = template.lower()
    if "pharmacy calling" in lowered or "this is {pharmacy}" in lowered or "pharmacist" in lowered:
        return "pharmacy"
    if "this is {clinic}" in lowered or "calling from {insurer}" in lowered or "office at {clinic}" in lowered:
        return "other_clinic"
    if subject["persona"] == "caregiver" and "{S" in template:
        return "caregiver"
    if CAREGIVER_WORDS.search(template):
        return "caregiver"
    return "patient"


def join(opener: str, body: str, closer: str) -> str:
    parts = [p for p in (opener, body, closer) if p]
    return ", ".join(parts)


def expand() -> list[dict[str, str]]:
    rng = random.Random(SEED)
    groups = [
        patterns_clinical.NURSE_ROUTINE, patterns_clinical.NURSE_URGENT,
        patterns_clinical.NURSE_EMERGENCY, patterns_admin.REFILL, patterns_admin.BILLING,
        patterns_admin.SCHEDULING, patterns_admin.FRONT_DESK,
        patterns_callers.NURSE_ROUTINE_MORE, patterns_callers.NURSE_URGENT_MORE,
        patterns_callers.NURSE_EMERGENCY_MORE, patterns_callers.REFILL_MORE,
        patterns_callers.BILLING_MORE, patterns_callers.SCHEDULING_MORE,
        patterns_callers.FRONT_DESK_MORE, patterns_situations.NURSE_SITUATIONS,
        patterns_situations.REFILL_SITUATIONS, patterns_situations.BILLING_SITUATIONS,
        patterns_situations.SCHEDULING_SITUATIONS, patterns_situations.FRONT_DESK_SITUATIONS,
    ]
    rows: list[dict[str, str]] = []
    seen: set[str] = set()
    for group in groups:
        for template, queue, urgency, tag in group:
            has_slots = bool(SLOT.search(template))
            count = VARIANTS_WITH_SLOTS if has_slots else VARIANTS_WITHOUT_SLOTS
            for index in range(count):
                subject = rng.choice(pb.SUBJECTS) if index else pb.SUBJECTS[0]
                body = fill(template, rng, subject)
                # Curt callers skip the small talk; the first variant stays bare.
                opener = "" if tag == "curt" or index == 0 else fill(rng.choice(pb.OPENERS), rng, subject)
                closer = "" if tag == "curt" or index == 0 else rng.choice(pb.CLOSERS)
                text = join(opener, body, closer)
                text = text[0].upper() + text[1:]
                if text.lower() in seen:
                    continue
                seen.add(text.lower())
                rows.append({
                    "text": text, "queue": queue, "urgency": urgency,
                    "persona": persona_of(template, subject), "tag": tag,
                    # The trainer labels prefixes that end inside the opener "undecided".
                    "opener": opener,
                })
    for phrase in patterns_admin.UNDECIDED_PHRASES + patterns_callers.UNDECIDED_MORE:
        for _ in range(2):
            text = fill(phrase, rng, pb.SUBJECTS[0])
            if text.lower() in seen:
                continue
            seen.add(text.lower())
            rows.append({"text": text, "queue": "undecided", "urgency": "routine",
                         "persona": "patient", "tag": "filler", "opener": ""})
    for number, row in enumerate(rows, start=1):
        row["id"] = f"train-{number:05d}"
    return rows


def main() -> None:
    rows = expand()
    with OUTPUT.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"wrote {len(rows)} utterances to {OUTPUT}")


if __name__ == "__main__":
    main()
