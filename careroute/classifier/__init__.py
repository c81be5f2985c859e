"""Intent and urgency classifier for rolling partial transcripts.

Usage::

    from careroute.classifier import Classifier, DEFAULT_ARTIFACT

    classifier = Classifier.load()          # or Classifier.load(Path(...))
    scores = classifier.score("my dad's face is drooping")
    scores.urgency, scores.queue, scores.reason   # "emergency", "nurse", "stroke signs"

``careroute train`` builds the artifact, ``careroute evaluate`` measures it.
"""

from __future__ import annotations

from careroute.classifier.artifact import DEFAULT_ARTIFACT
from careroute.classifier.model import Classifier

__all__ = ["DEFAULT_ARTIFACT", "Classifier"]
