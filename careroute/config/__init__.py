"""CareRoute configuration: one YAML file validated into frozen dataclasses.

``load_config(path)`` reads ``careroute.yaml``; ``CareRouteConfig()`` is the
built-in default that ``config/careroute.yaml`` documents key by key.
"""

from careroute.config.loader import load_config, parse_config
from careroute.config.schema import (
    AmiConfig,
    AriConfig,
    CareRouteConfig,
    ClassifierConfig,
    EagiConfig,
    HealthConfig,
    LoggingConfig,
    MediaConfig,
    PrioritiesConfig,
    PromptsConfig,
    RecognizerConfig,
    RoutingConfig,
)

__all__ = [
    "AmiConfig",
    "AriConfig",
    "CareRouteConfig",
    "ClassifierConfig",
    "EagiConfig",
    "HealthConfig",
    "LoggingConfig",
    "MediaConfig",
    "PrioritiesConfig",
    "PromptsConfig",
    "RecognizerConfig",
    "RoutingConfig",
    "load_config",
    "parse_config",
]
