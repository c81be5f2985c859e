"""Locations of the files CareRoute keeps outside the source tree: caches and models."""

from __future__ import annotations

import os
from pathlib import Path

#: Environment variable that moves every CareRoute cache (Vosk model,
#: Asterisk test-bed root, synthesized test speech) to another folder.
CACHE_DIR_ENV = "CAREROUTE_CACHE_DIR"

#: Environment variable that points at an unpacked Vosk model folder, or at
#: the folder that holds ``vosk-model-small-en-us-0.15``.
MODEL_DIR_ENV = "CAREROUTE_MODEL_DIR"

#: The Vosk model CareRoute is built and measured with.
VOSK_MODEL_NAME = "vosk-model-small-en-us-0.15"


def cache_dir() -> Path:
    """Return the cache root: ``$CAREROUTE_CACHE_DIR`` or ``~/.cache/careroute``."""
    override = os.environ.get(CACHE_DIR_ENV)
    if override:
        return Path(override).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "careroute"


def models_dir() -> Path:
    """Return the folder that holds unpacked Vosk models."""
    override = os.environ.get(MODEL_DIR_ENV)
    if override:
        return Path(override).expanduser()
    return cache_dir() / "models"


def vosk_model_path() -> Path:
    """Return the path of the default Vosk model folder (it may not exist yet)."""
    root = models_dir()
    if (root / "am").is_dir() and (root / "conf").is_dir():
        # The variable names the model folder itself.
        return root
    return root / VOSK_MODEL_NAME


def repo_root() -> Path:
    """Return the source checkout that this package was installed from.

    ``make install`` installs CareRoute in editable mode, so the dialplan,
    the test-bed configs and the trained classifier are found beside the
    package.
    """
    return Path(__file__).resolve().parent.parent
