"""Exceptions raised by the CareRoute engine.

Hierarchy::

    CareRouteError
    ├── ConfigError            a configuration value is missing or invalid
    ├── ModelError             the Vosk model cannot be found, fetched or verified
    ├── ArtifactError          the classifier artifact is missing, tampered or incompatible
    ├── MissingToolError       a system tool (sox, mmdebstrap, mvn) is not installed
    └── TestbedError           the Asterisk test bed failed to build or start

Front ends define their own errors (``ari_app.errors``) and convert them at
the boundary.
"""

from __future__ import annotations


class CareRouteError(Exception):
    """Base class for every error CareRoute raises on purpose."""


class ConfigError(CareRouteError):
    """A configuration value is missing or invalid."""


class ModelError(CareRouteError):
    """The Vosk model cannot be found, fetched or verified."""


class ArtifactError(CareRouteError):
    """The classifier artifact is missing, tampered with or incompatible."""


class MissingToolError(CareRouteError):
    """A required system tool is not installed."""

    def __init__(self, tool: str, debian_package: str) -> None:
        super().__init__(
            f"the command {tool!r} was not found on PATH; "
            f"install it with 'apt-get install {debian_package}'"
        )
        self.tool = tool
        self.debian_package = debian_package


class TestbedError(CareRouteError):
    """The Asterisk test bed failed to build, start or stop."""

    __test__ = False  # not a pytest test class despite the name
