"""Decision latency: from the end of the decisive words to the routing decision.

Each dev call runs through the engine at audio-time pace until its decision.
The decisive words are the shortest prefix of the transcript the decision was
made on after which the classifier gives, on every longer prefix as well, the
label of the decision (same queue and urgency): before them the label was not
settled. Their end time comes from Vosk's word timings of a second decode of
the same samples, aligned word by word to that transcript. Word timings are
not switched on in the engine's own recognizer because partial word timings
change Vosk's partial results, and with them the decision.

The decision happens at the audio time of the frame whose ``feed`` returned
it, plus the wall time of that ``feed``: at real-time pace with no backlog,
this is when a live caller would be routed. Decisions by timer (no speech,
longest listening time) have no decisive words and are counted apart.
"""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from careroute.audio import TELEPHONE_RATE_HZ
from careroute.bench.calls import DevCall
from careroute.bench.overhead import bare_decode, feed_until_decision, timed_words, upsampled_frames
from careroute.bench.report import percentile
from careroute.config import RoutingConfig
from careroute.pipeline import CallPipeline, ScoreSource
from careroute.recognizer import Word

#: Rules that decide on a timer or a key press, not on words.
TIMER_TRIGGERS = frozenset({"no_speech", "max_listen", "media_failure", "operator_digit"})


def settled_prefix(tokens: Sequence[str], label: tuple[str | None, str], classifier: ScoreSource) -> int | None:
    """Return the length of the shortest prefix after which every longer prefix keeps ``label``.

    Returns None when even the whole of ``tokens`` does not get ``label``.
    """
    settled_from: int | None = None
    for count in range(1, len(tokens) + 1):
        scores = classifier.score(" ".join(tokens[:count]))
        if (scores.queue, scores.urgency) == label:
            settled_from = count if settled_from is None else settled_from
        else:
            settled_from = None
    return settled_from


def aligned_end(tokens: Sequence[str], index: int, words: Sequence[Word]) -> float | None:
    """Return the end time of ``tokens[index]`` after aligning ``tokens`` to the timed ``words``.

    A token inside a span that Vosk's final words replaced takes the end of that
    span, so a re-spelled word keeps a time near its own.
    """
    matcher = difflib.SequenceMatcher(a=list(tokens), b=[word.word for word in words], autojunk=False)
    for tag, a_start, a_end, b_start, b_end in matcher.get_opcodes():
        if not a_start <= index < a_end:
            continue
        if tag == "equal":
            return words[b_start + index - a_start].end
        if b_end > 0:
            # Replaced or extra token: the end of the final words in its place, or just before it.
            return words[b_end - 1].end
        return None
    return None


def _decide(
    call: DevCall, model: Any, classifier: ScoreSource, routing: RoutingConfig
) -> dict[str, Any]:
    pipeline = CallPipeline.create(
        model, classifier, routing, input_rate=TELEPHONE_RATE_HZ, call_id=call.call_id,
        clock=lambda: 0.0,
    )
    frames = call.frames()
    fed, step_wall, _ = feed_until_decision(pipeline, frames, call.seconds)

    decision = pipeline.decision
    trace = pipeline.trace
    scores = trace.scores_at_decision
    result: dict[str, Any] = {
        "call": call.call_id,
        "trigger": decision.trigger.value if decision else "undecided",
        "latency_ms": None,
        "before_caller_finished": None,
    }
    if decision is None or scores is None or trace.decided_at is None:
        return result
    decided_s = trace.decided_at + step_wall
    result["before_caller_finished"] = decided_s < call.speech_end_s
    if result["trigger"] in TIMER_TRIGGERS:
        return result

    tokens = pipeline.transcript.split()
    count = settled_prefix(tokens, (scores.queue, scores.urgency), classifier)
    if count is None:
        return result
    # Word timings of the same samples, from a recognizer that ends the stream there.
    _, results = bare_decode(model, upsampled_frames(call)[:fed], finish=False)
    end = aligned_end(tokens, count - 1, timed_words(results))
    if end is not None:
        result["latency_ms"] = round((decided_s - end) * 1000, 1)
    return result


def run_latency(
    calls: Sequence[DevCall],
    model: Any,
    classifier: ScoreSource,
    routing: RoutingConfig,
    progress: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Decide every call and return latency p50/p95 and how many were decided mid-speech."""
    per_call: list[dict[str, Any]] = []
    for index, call in enumerate(calls, start=1):
        per_call.append(_decide(call, model, classifier, routing))
        if index % 10 == 0 or index == len(calls):
            progress(f"decision latency: {index}/{len(calls)} calls decided")
    return summarize_latency(per_call)


def summarize_latency(per_call: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Return the latency figures from per-call results of ``_decide``."""
    latencies = [row["latency_ms"] for row in per_call if row["latency_ms"] is not None]
    triggers = Counter(row["trigger"] for row in per_call)
    word_decided = [row for row in per_call if row["trigger"] not in TIMER_TRIGGERS | {"undecided"}]
    return {
        "decision_p50_ms": round(percentile(latencies, 0.50), 1) if latencies else None,
        "decision_p95_ms": round(percentile(latencies, 0.95), 1) if latencies else None,
        "decision_max_ms": max(latencies) if latencies else None,
        "calls": len(per_call),
        "measured_calls": len(latencies),
        "decided_on_words": len(word_decided),
        "no_settled_prefix": len(word_decided) - len(latencies),
        "decided_before_caller_finished": sum(1 for row in per_call if row["before_caller_finished"]),
        "by_trigger": dict(triggers),
        "per_call": list(per_call),
    }
