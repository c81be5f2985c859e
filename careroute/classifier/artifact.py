"""Save and load the classifier artifact with skops, never with pickle.

The artifact is one skops file holding a dict: the two fitted vectorizers,
the two logistic-regression heads, their calibration temperatures, label
lists and training metadata. Loading first lists the types the file would
construct and rejects the file unless every one of them is in
``TRUSTED_TYPES``, so a file crafted to run other code never gets to build
its objects. Any other problem (not a zip, a damaged member, missing keys,
labels that do not match this version of CareRoute) is an ``ArtifactError``
that names the file and says to retrain.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from careroute.errors import ArtifactError
from careroute.paths import repo_root
from careroute.scores import QUEUES, URGENCIES

#: Where ``careroute train`` writes and ``Classifier.load`` reads by default.
DEFAULT_ARTIFACT = repo_root() / "models" / "classifier.skops"

ARTIFACT_FORMAT = "careroute-classifier"
#: Bump when the dict layout changes; older artifacts are then rejected.
FORMAT_VERSION = 1
#: The queue head has one class beyond the five queues: too little to route on.
UNDECIDED_CLASS = "undecided"

#: Every type a CareRoute artifact may contain, beyond skops' default-safe set.
TRUSTED_TYPES: tuple[str, ...] = (
    "builtins.dict",
    "builtins.list",
    "builtins.str",
    "builtins.float",
    "builtins.int",
    "collections.OrderedDict",
    "numpy.dtype",
    "numpy.float32",
    "numpy.float64",
    "numpy.int64",
    "numpy.ndarray",
    "sklearn.linear_model._logistic.LogisticRegression",
)

_RETRAIN = "run 'careroute train' to rebuild it"


@dataclass(frozen=True, slots=True)
class Artifact:
    """The fitted parts of a classifier, as stored on disk."""

    word_vectorizer: Any
    char_vectorizer: Any
    queue_model: Any
    urgency_model: Any
    queue_temperature: float
    urgency_temperature: float
    metadata: dict[str, Any]


#: Vectorizer settings stored with the artifact; the rest keep scikit-learn's defaults.
_VECTORIZER_PARAMS = ("analyzer", "token_pattern", "lowercase", "sublinear_tf", "min_df", "max_features")


def vectorizer_state(vectorizer: Any) -> dict[str, Any]:
    """Return a fitted ``TfidfVectorizer`` as plain values.

    skops stores a vocabulary dict entry by entry, which made loading take
    over a second; one newline-joined string of terms in index order plus
    the idf array loads in milliseconds.
    """
    import numpy as np

    terms = sorted(vectorizer.vocabulary_, key=vectorizer.vocabulary_.__getitem__)
    if any("\n" in term for term in terms):
        raise ArtifactError("a vocabulary term contains a newline; normalisation should remove it")
    params = {name: getattr(vectorizer, name) for name in _VECTORIZER_PARAMS}
    params["ngram_range"] = list(vectorizer.ngram_range)
    return {"params": params, "terms": "\n".join(terms),
            "idf": np.asarray(vectorizer.idf_, dtype=np.float64)}


def vectorizer_from_state(state: dict[str, Any]) -> Any:
    """Rebuild a fitted ``TfidfVectorizer`` from ``vectorizer_state`` output."""
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer

    params = dict(state["params"])
    params["ngram_range"] = tuple(params["ngram_range"])
    vectorizer = TfidfVectorizer(**params, dtype=np.float32)
    terms = str(state["terms"]).split("\n")
    vectorizer.vocabulary_ = {term: index for index, term in enumerate(terms)}
    vectorizer.idf_ = np.asarray(state["idf"], dtype=np.float64)
    if len(vectorizer.idf_) != len(terms):
        raise ValueError(f"'idf' has {len(vectorizer.idf_)} weights for {len(terms)} terms")
    return vectorizer


def save_artifact(artifact: Artifact, path: Path) -> None:
    """Write ``artifact`` to ``path`` with skops (atomically, via a temporary file)."""
    import sklearn
    import skops.io as sio

    payload = {
        "format": ARTIFACT_FORMAT,
        "format_version": FORMAT_VERSION,
        "sklearn_version": sklearn.__version__,
        "word_vectorizer": vectorizer_state(artifact.word_vectorizer),
        "char_vectorizer": vectorizer_state(artifact.char_vectorizer),
        "queue_model": artifact.queue_model,
        "urgency_model": artifact.urgency_model,
        "queue_temperature": float(artifact.queue_temperature),
        "urgency_temperature": float(artifact.urgency_temperature),
        "metadata": artifact.metadata,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    staged = path.with_name(path.name + ".tmp")
    sio.dump(payload, staged, compression=8)
    staged.replace(path)


def load_artifact(path: Path) -> Artifact:
    """Read and check an artifact written by ``save_artifact``.

    Raises:
        ArtifactError: the file is missing, not a skops file, contains an
            untrusted type, or does not hold a compatible CareRoute classifier.
    """
    import skops.io as sio

    if not path.is_file():
        raise ArtifactError(f"classifier artifact {str(path)!r} not found; {_RETRAIN}")
    try:
        untrusted = sio.get_untrusted_types(file=path)
    except Exception as exc:  # skops raises zip, JSON and key errors for damaged files
        raise ArtifactError(
            f"classifier artifact {str(path)!r} is not a readable skops file ({exc}); {_RETRAIN}"
        ) from exc
    unknown = sorted(set(untrusted) - set(TRUSTED_TYPES))
    if unknown:
        raise ArtifactError(
            f"classifier artifact {str(path)!r} contains untrusted types {unknown}; it may have "
            f"been tampered with. Do not load it; {_RETRAIN}"
        )
    try:
        payload = sio.load(path, trusted=list(TRUSTED_TYPES))
    except Exception as exc:  # same: any failure here means a damaged or foreign file
        raise ArtifactError(
            f"classifier artifact {str(path)!r} could not be loaded ({exc}); {_RETRAIN}"
        ) from exc
    return _check_payload(payload, path)


def _check_payload(payload: Any, path: Path) -> Artifact:
    name = str(path)
    if not isinstance(payload, dict) or payload.get("format") != ARTIFACT_FORMAT:
        raise ArtifactError(f"{name!r} is not a CareRoute classifier artifact; {_RETRAIN}")
    version = payload.get("format_version")
    if version != FORMAT_VERSION:
        raise ArtifactError(
            f"classifier artifact {name!r} has format version {version!r}, this CareRoute "
            f"reads version {FORMAT_VERSION}; {_RETRAIN}"
        )
    try:
        artifact = Artifact(
            word_vectorizer=vectorizer_from_state(payload["word_vectorizer"]),
            char_vectorizer=vectorizer_from_state(payload["char_vectorizer"]),
            queue_model=payload["queue_model"],
            urgency_model=payload["urgency_model"],
            queue_temperature=float(payload["queue_temperature"]),
            urgency_temperature=float(payload["urgency_temperature"]),
            metadata=dict(payload["metadata"]),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ArtifactError(f"classifier artifact {name!r} lacks {exc}; {_RETRAIN}") from exc
    queue_classes = [str(c) for c in getattr(artifact.queue_model, "classes_", [])]
    urgency_classes = [str(c) for c in getattr(artifact.urgency_model, "classes_", [])]
    if sorted(queue_classes) != sorted([*QUEUES, UNDECIDED_CLASS]):
        raise ArtifactError(
            f"classifier artifact {name!r} has queue labels {queue_classes!r}, expected "
            f"{[*QUEUES, UNDECIDED_CLASS]!r}; {_RETRAIN}"
        )
    if sorted(urgency_classes) != sorted(URGENCIES):
        raise ArtifactError(
            f"classifier artifact {name!r} has urgency labels {urgency_classes!r}, expected "
            f"{list(URGENCIES)!r}; {_RETRAIN}"
        )
    return artifact
