"""The classifier: red-flag rules first, then two calibrated linear heads.

``Classifier.score`` turns one partial transcript into ``Scores``:

1. Normalise the text (``normalize``).
2. Find red flags with negation scope (``redflags``). An emergency hit sets
   urgency ``emergency`` and queue ``nurse`` whatever the model says; an
   urgent hit (fever in an infant) sets at least ``urgent`` and queue ``nurse``.
3. Abstain (``undecided``) when the text is empty or filler, when none of its
   non-generic words was seen in training, or when the queue head's own
   ``undecided`` class or low confidence says there is not enough to route.
4. Otherwise report the queue head's best queue and the urgency head's label.
   The urgency head alone calls an emergency only when it is sure
   (``MODEL_EMERGENCY_MIN``) and the partial has enough known content words
   (``MODEL_EMERGENCY_MIN_WORDS``).
"""

from __future__ import annotations

from pathlib import Path

from careroute.classifier.artifact import (
    DEFAULT_ARTIFACT,
    UNDECIDED_CLASS,
    Artifact,
    load_artifact,
)
from careroute.classifier.features import FastScorer
from careroute.classifier.normalize import model_text, normalize
from careroute.classifier.redflags import find_red_flags
from careroute.classifier.vocabulary import FILLER_WORDS, GENERIC_WORDS
from careroute.scores import QUEUES, UNDECIDED, URGENCIES, Scores

#: Below this calibrated probability the best queue is not trusted and the
#: classifier abstains. NOTE: a judgement call, not tuned; the routing policy
#: is expected to apply its own, stricter threshold before it commits a call.
MIN_QUEUE_CONFIDENCE = 0.35
#: The urgency head alone may call an emergency only this sure: the rule layer
#: carries emergency recall, the model adds paraphrases the rules miss.
MODEL_EMERGENCY_MIN = 0.6
#: The urgency head alone may call an emergency only on a partial with at
#: least this many known non-generic words.
#: Shorter partials ("i feel", "a lot of", "but") are what Vosk emits
#: mid-sentence, and every emergency sentence this short in the training data
#: (24 of them) is caught by the red-flag rules.
MODEL_EMERGENCY_MIN_WORDS = 2


class Classifier:
    """Intent (queue) and urgency classifier for rolling partial transcripts.

    Instances are immutable after construction, so one instance may serve
    many calls from many threads.
    """

    def __init__(self, artifact: Artifact) -> None:
        self.artifact = artifact
        self.metadata = artifact.metadata
        self._scorer = FastScorer(
            (artifact.word_vectorizer, artifact.char_vectorizer),
            [
                (artifact.queue_model, artifact.queue_temperature),
                (artifact.urgency_model, artifact.urgency_temperature),
            ],
        )
        queue_classes = [str(c) for c in artifact.queue_model.classes_]
        urgency_classes = [str(c) for c in artifact.urgency_model.classes_]
        self._queue_index = {name: queue_classes.index(name) for name in QUEUES}
        self._undecided_index = queue_classes.index(UNDECIDED_CLASS)
        self._urgency_index = {name: urgency_classes.index(name) for name in URGENCIES}
        self._known_words = frozenset(
            term for term in artifact.word_vectorizer.vocabulary_ if " " not in term
        )

    @classmethod
    def load(cls, path: Path | None = None) -> Classifier:
        """Load the artifact at ``path`` (default ``DEFAULT_ARTIFACT``).

        Raises:
            ArtifactError: the file is missing, tampered with or incompatible;
                the message names the file and says to run 'careroute train'.
        """
        return cls(load_artifact(path or DEFAULT_ARTIFACT))

    def has_evidence(self, words: list[str]) -> bool:
        """Return whether any non-generic word was seen in training."""
        return self.evidence_words(words) > 0

    def evidence_words(self, words: list[str]) -> int:
        """Return how many of ``words`` are non-generic and were seen in training."""
        return sum(1 for w in words if w not in GENERIC_WORDS and w in self._known_words)

    def score(self, text: str) -> Scores:
        """Score one partial or final transcript."""
        normalized = normalize(text)
        flags = find_red_flags(text, normalized=normalized)
        words_text = model_text(normalized)
        words = words_text.split()
        if not flags and not any(w not in FILLER_WORDS for w in words):
            return UNDECIDED

        queue_array, urgency_array = self._scorer.probabilities(words_text)
        queue_raw, urgency_raw = queue_array.tolist(), urgency_array.tolist()
        queue_probs = {name: queue_raw[i] for name, i in self._queue_index.items()}
        urgency_probs = {name: urgency_raw[i] for name, i in self._urgency_index.items()}
        best_queue = max(queue_probs, key=queue_probs.__getitem__)
        queue_confidence = queue_probs[best_queue]
        evidence_words = self.evidence_words(words)
        undecided = (
            evidence_words == 0
            or queue_raw[self._undecided_index] >= queue_confidence
            or queue_confidence < MIN_QUEUE_CONFIDENCE
        )
        urgency, urgency_confidence = self._urgency(urgency_probs, evidence_words)

        if any(hit.urgency == "emergency" for hit in flags):
            return Scores("nurse", 1.0, "emergency", 1.0, queue_probs, urgency_probs, flags, False)
        if flags:  # an urgent rule: fever in an infant
            if urgency != "emergency":
                urgency, urgency_confidence = "urgent", max(urgency_confidence, urgency_probs["urgent"])
            return Scores("nurse", 1.0, urgency, urgency_confidence, queue_probs, urgency_probs, flags, False)
        if urgency == "emergency":
            return Scores("nurse", queue_probs["nurse"], urgency, urgency_confidence,
                          queue_probs, urgency_probs, (), False)
        if undecided:
            return Scores(None, 0.0, urgency, urgency_confidence, queue_probs, urgency_probs, (), True)
        return Scores(best_queue, queue_confidence, urgency, urgency_confidence,
                      queue_probs, urgency_probs, (), False)

    def _urgency(self, probs: dict[str, float], evidence_words: int) -> tuple[str, float]:
        if probs["emergency"] >= MODEL_EMERGENCY_MIN and evidence_words >= MODEL_EMERGENCY_MIN_WORDS:
            return "emergency", probs["emergency"]
        label = "urgent" if probs["urgent"] > probs["routine"] else "routine"
        return label, probs[label]
