"""Vosk decoder settings applied through an overlay of the model folder.

Vosk reads its decoder settings (``--max-active``, ``--beam``,
``--lattice-beam``) from the model's ``conf/model.conf``, its feature settings
(``--dither``) from ``conf/mfcc.conf``, and offers no API to change them per
model. CareRoute never edits the verified model folder, so
``tuned_model_path`` builds an overlay folder under
``cache_dir()/models-tuned/<model name>-<hash>``: every file is a symlink to
the original model except the two config files, which are rewritten with the
configured values. The hash covers the source folder, both files and the
settings, so each combination gets its own overlay, which later loads reuse.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from careroute.errors import ModelError
from careroute.paths import cache_dir

MODEL_CONF = Path("conf") / "model.conf"
FEATURE_CONF = Path("conf") / "mfcc.conf"
#: Kaldi's ``LatticeFasterDecoderConfig`` default, used when model.conf sets no ``--min-active``.
KALDI_DEFAULT_MIN_ACTIVE = 200
#: Hex digits of the SHA-256 in the overlay folder name; 12 digits make a clash improbable.
HASH_DIGITS = 12


@dataclass(frozen=True, slots=True)
class DecoderSettings:
    """Kaldi decoder options written into ``model.conf``; None keeps the model's own value."""

    max_active: int | None = None
    """Maximum active states per frame (``--max-active``)."""
    beam: float | None = None
    """Decoding beam (``--beam``); a smaller beam prunes more hypotheses."""
    lattice_beam: float | None = None
    """Lattice pruning beam (``--lattice-beam``)."""
    frames_per_chunk: int | None = None
    """Feature frames (10 ms each) the acoustic model scores at a time (``--frames-per-chunk``,
    Kaldi's default 20); a partial result can change only once per chunk."""
    dither: float | None = None
    """Random noise added to each sample before the features (``--dither`` in ``mfcc.conf``,
    Kaldi's default 1.0). With dither, the same audio decoded differently within one process
    depending on what was decoded before it (seen with the small English model)."""

    def feature_options(self) -> dict[str, str]:
        """Return the set ``mfcc.conf`` values as option names without ``--``, to their text."""
        return {} if self.dither is None else {"dither": str(self.dither)}

    def options(self) -> dict[str, str]:
        """Return the set values as model.conf option names without ``--``, to their text."""
        values = {
            "max-active": self.max_active,
            "beam": self.beam,
            "lattice-beam": self.lattice_beam,
            "frames-per-chunk": self.frames_per_chunk,
        }
        return {name: str(value) for name, value in values.items() if value is not None}


def rewrite_model_conf(text: str, options: dict[str, str]) -> str:
    """Return ``text`` (a Kaldi config file) with each ``--name=value`` of ``options`` replaced.

    Options missing from ``text`` are appended. Comments and other lines stay as they are.
    """
    remaining = dict(options)
    lines: list[str] = []
    for line in text.splitlines():
        name = _option_name(line)
        if name in remaining:
            lines.append(f"--{name}={remaining.pop(name)}")
        else:
            lines.append(line)
    lines.extend(f"--{name}={value}" for name, value in remaining.items())
    return "\n".join(lines) + "\n"


def read_option(text: str, name: str) -> str | None:
    """Return the value of ``--name`` in a Kaldi config file's ``text``, or None when unset."""
    value: str | None = None
    for line in text.splitlines():
        if _option_name(line) == name:
            # Kaldi applies the options in order, so the last line wins.
            value = line.split("=", 1)[1].split("#", 1)[0].strip()
    return value


def _option_name(line: str) -> str | None:
    stripped = line.strip()
    if not stripped.startswith("--") or "=" not in stripped:
        return None
    return stripped[2:].split("=", 1)[0].strip()


def _check_against_model(conf_text: str, settings: DecoderSettings, conf_path: Path) -> None:
    """Raise ModelError where Kaldi would abort the process on the settings instead."""
    if settings.max_active is None:
        return
    raw = read_option(conf_text, "min-active")
    min_active = int(raw) if raw is not None else KALDI_DEFAULT_MIN_ACTIVE
    if settings.max_active < min_active:
        raise ModelError(
            f"recognizer.max_active = {settings.max_active!r} is below --min-active={min_active} "
            f"in {str(conf_path)!r}; Kaldi requires min-active <= max-active, so raise max_active"
        )


def tuned_model_path(model_dir: Path, settings: DecoderSettings, root: Path | None = None) -> Path:
    """Return a model folder that decodes with ``settings``, building its overlay on first use.

    With every setting None this is ``model_dir`` itself. Otherwise the overlay
    under ``root`` (default ``cache_dir()/models-tuned``) is built in a
    temporary folder and renamed into place, so a crash or a concurrent build
    never leaves a half overlay under the final name.

    Raises:
        ModelError: ``model_dir`` has no ``conf/model.conf``, a setting is one
            Kaldi would reject for this model, or the overlay cannot be written.
    """
    options = settings.options()
    feature_options = settings.feature_options()
    if not options and not feature_options:
        return model_dir
    source = model_dir.expanduser().resolve()
    conf_path = source / MODEL_CONF
    try:
        conf_text = conf_path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ModelError(
            f"reading {str(conf_path)!r} failed ({exc.strerror}), and the decoder settings "
            f"{options!r} are applied by rewriting it; set recognizer.max_active, beam and "
            "lattice_beam to null for this model, or run 'make model'"
        ) from exc
    _check_against_model(conf_text, settings, conf_path)
    feature_text = _read_feature_conf(source, feature_options)

    settings_text = [f"{k}={v}" for k, v in sorted({**options, **feature_options}.items())]
    digest = hashlib.sha256(
        "\0".join([str(source), conf_text, feature_text or "", *settings_text]).encode()
    ).hexdigest()[:HASH_DIGITS]
    overlays = root if root is not None else cache_dir() / "models-tuned"
    target = overlays / f"{source.name}-{digest}"
    if (target / MODEL_CONF).is_file():
        return target

    try:
        overlays.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".partial-", dir=overlays))
    except OSError as exc:
        raise ModelError(
            f"creating the tuned model folder under {str(overlays)!r} failed ({exc.strerror}); "
            "make it writable or set CAREROUTE_CACHE_DIR to a writable folder"
        ) from exc
    try:
        rewritten = {MODEL_CONF} if feature_text is None else {MODEL_CONF, FEATURE_CONF}
        _link_tree(source, staging, rewritten)
        (staging / MODEL_CONF).write_text(rewrite_model_conf(conf_text, options), encoding="utf-8")
        if feature_text is not None:
            (staging / FEATURE_CONF).write_text(
                rewrite_model_conf(feature_text, feature_options), encoding="utf-8"
            )
        try:
            staging.rename(target)
        except OSError:
            # Another process renamed its identical overlay into place first; keep that one.
            if not (target / MODEL_CONF).is_file():
                raise
    except OSError as exc:
        raise ModelError(
            f"building the tuned model folder {str(target)!r} failed ({exc}); "
            "check that the cache folder is writable and has free space"
        ) from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _read_feature_conf(source: Path, feature_options: dict[str, str]) -> str | None:
    """Return the text of ``source``'s mfcc.conf when feature options must be written, else None."""
    if not feature_options:
        return None
    path = source / FEATURE_CONF
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ModelError(
            f"reading {str(path)!r} failed ({exc.strerror}), and recognizer.dither is applied "
            "by rewriting it; set recognizer.dither to null for this model, or run 'make model'"
        ) from exc


def _link_tree(source: Path, dest: Path, rewritten: set[Path]) -> None:
    """Mirror ``source`` into ``dest``: real folders, and a symlink for every file not in
    ``rewritten`` (paths relative to ``source``), which the caller writes itself."""
    for folder, subfolders, files in os.walk(source, followlinks=True):
        relative = Path(folder).relative_to(source)
        for name in subfolders:
            (dest / relative / name).mkdir()
        for name in files:
            if relative / name in rewritten:
                continue
            (dest / relative / name).symlink_to(Path(folder) / name)
