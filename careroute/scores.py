"""What the classifier returns for one partial transcript.

The routing policy, the call record and the logs all read these objects, so
the classifier and its consumers agree on them here and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: Queue labels, in the order the classifier reports them.
QUEUES: tuple[str, ...] = ("nurse", "refill", "billing", "scheduling", "front_desk")

#: Urgency labels, most urgent first.
URGENCIES: tuple[str, ...] = ("emergency", "urgent", "routine")


@dataclass(frozen=True, slots=True)
class RedFlagHit:
    """One red-flag rule that matched the transcript outside a negation."""

    category: str
    """Rule category, for example ``chest_pain`` or ``stroke``."""
    urgency: str
    """``emergency`` or ``urgent``."""
    phrase: str
    """The pattern that matched, as written in the rule list (not caller text)."""
    reason: str
    """Short human-readable reason for routing and records, e.g. ``"chest pain"``."""


@dataclass(frozen=True, slots=True)
class Scores:
    """Queue and urgency scores for one partial or final transcript."""

    queue: str | None
    """Most likely queue, or ``None`` when the classifier abstains."""
    queue_confidence: float
    """Calibrated probability of ``queue`` (0 when undecided)."""
    urgency: str
    """Most urgent label supported by rules or the model; ``routine`` by default."""
    urgency_confidence: float
    queue_probs: dict[str, float] = field(default_factory=dict)
    urgency_probs: dict[str, float] = field(default_factory=dict)
    red_flags: tuple[RedFlagHit, ...] = ()
    undecided: bool = False
    """True when there is not enough evidence to route (empty, filler, unknown words)."""

    @property
    def reason(self) -> str:
        """Return the reason string for routing: the first red flag, else the queue."""
        if self.red_flags:
            return self.red_flags[0].reason
        if self.undecided or self.queue is None:
            return "undecided"
        return f"classifier:{self.queue}"


UNDECIDED = Scores(
    queue=None,
    queue_confidence=0.0,
    urgency="routine",
    urgency_confidence=0.0,
    undecided=True,
)
"""Scores for a transcript with nothing to go on."""
