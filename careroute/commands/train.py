"""``careroute train``: fit the classifier, write the artifact and its model card."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from careroute.classifier.artifact import DEFAULT_ARTIFACT
    from careroute.classifier.dataset import CORRECTION_WEIGHT, TRAINING_DIR

    parser.add_argument("--data", type=Path, default=TRAINING_DIR,
                        help="folder with utterances.jsonl and vosk_variants.jsonl (default: %(default)s)")
    parser.add_argument("--corrections", type=Path, default=None,
                        help="JSON Lines file of staff corrections to fold into training")
    parser.add_argument("--corrections-weight", type=float, default=CORRECTION_WEIGHT,
                        help="sample weight of each correction relative to a training sentence (default: %(default)s)")
    parser.add_argument("--output", type=Path, default=DEFAULT_ARTIFACT,
                        help="artifact path; the model card and confusion matrix go beside it (default: %(default)s)")
    parser.add_argument("--no-cv", action="store_true",
                        help="skip cross-validation (faster; calibration temperatures default to 1)")


def run(args: argparse.Namespace) -> int:
    import datetime
    from collections import Counter

    import sklearn
    from tqdm import tqdm

    from careroute.classifier.artifact import save_artifact
    from careroute.classifier.dataset import load_training_set
    from careroute.classifier.report import model_card, plot_confusion
    from careroute.classifier.training import (
        CV_FOLDS,
        REGULARISATION_C,
        CrossValidation,
        cross_validate,
        fit_artifact,
    )
    from careroute.errors import CareRouteError

    if args.corrections_weight <= 0:
        raise CareRouteError(f"--corrections-weight {args.corrections_weight!r} must be positive")
    steps = 2 + (0 if args.no_cv else CV_FOLDS) + 1
    with tqdm(total=steps, desc="careroute train", unit="step") as bar:
        def progress(message: str) -> None:
            bar.set_postfix_str(message)
            bar.update(1)

        bar.set_postfix_str("loading data")
        data = load_training_set(args.data, args.corrections, args.corrections_weight)
        bar.update(1)
        cv: CrossValidation | None = None
        if not args.no_cv:
            cv = cross_validate(data, progress)
        temperatures = (cv.queue_temperature, cv.urgency_temperature) if cv else (1.0, 1.0)
        metadata = {
            "sources": dict(data.counts),
            "rows": len(data.texts),
            # Urgency-only rows (Vosk partials) carry a placeholder queue label, so leave them out.
            "row_queues": dict(Counter(q for q, w in zip(data.queues, data.queue_weights, strict=True) if w > 0)),
            "C": REGULARISATION_C,
            "cv_folds": CV_FOLDS,
            "queue_temperature": temperatures[0],
            "urgency_temperature": temperatures[1],
            "sklearn_version": sklearn.__version__,
            "trained_at": datetime.date.today().isoformat(),
        }
        bar.set_postfix_str("fitting")
        artifact = fit_artifact(data, temperatures, metadata)
        save_artifact(artifact, args.output)
        bar.update(1)

    size_mb = args.output.stat().st_size / 1e6
    print(f"wrote {args.output} ({size_mb:.1f} MB, {len(data.texts)} training rows)")
    if cv is not None:
        picture = args.output.parent / "confusion_matrix.png"
        card = args.output.parent / "MODEL_CARD.md"
        plot_confusion(cv, picture)
        card.write_text(model_card(cv, artifact.metadata, picture), encoding="utf-8")
        print(f"wrote {card} and {picture}")
    return 0
