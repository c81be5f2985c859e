"""Look up the system tools CareRoute shells out to."""

from __future__ import annotations

import shutil

from careroute.errors import MissingToolError

#: Command -> the Debian package that provides it.
DEBIAN_PACKAGES: dict[str, str] = {
    "sox": "sox",
    "espeak-ng": "espeak-ng",
    "mmdebstrap": "mmdebstrap",
    "mvn": "maven",
    "unzip": "unzip",
}


def require_tool(name: str) -> str:
    """Return the absolute path of ``name`` or raise MissingToolError naming its package."""
    path = shutil.which(name)
    if path is None:
        raise MissingToolError(name, DEBIAN_PACKAGES.get(name, name))
    return path
