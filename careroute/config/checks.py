"""Value checks that the config loader runs on single fields.

Each check returns None for a valid value, or a sentence that describes a
valid value. The loader prefixes it with the key and the value.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

#: Dialplan contexts, extensions and Stasis app names: letters, digits, ``_`` and ``-``.
_IDENTIFIER = re.compile(r"^[A-Za-z0-9_-]+$")
#: Environment variable names as POSIX shells accept them.
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
#: Asterisk sound names: relative paths of identifier parts, no extension.
_SOUND_NAME = re.compile(r"^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$")
#: Vosk models are trained at 8 or 16 kHz; larger models may use other rates.
_SAMPLE_RATES = (8000, 16000, 22050, 32000, 44100, 48000)


def _positive(value: Any) -> str | None:
    return None if value > 0 else "use a number greater than 0"


def _non_negative(value: Any) -> str | None:
    return None if value >= 0 else "use a number of 0 or more"


def _probability(value: Any) -> str | None:
    return None if 0.0 <= value <= 1.0 else "use a probability between 0.0 and 1.0"


def _port(value: Any) -> str | None:
    return None if 1 <= value <= 65535 else "use a port number between 1 and 65535"


def _non_empty(value: Any) -> str | None:
    return None if value.strip() else "use a non-empty string"


def _identifier(value: Any) -> str | None:
    if _IDENTIFIER.match(value):
        return None
    return "use letters, digits, '_' and '-' only (it becomes a dialplan name)"


def _env_name(value: Any) -> str | None:
    return None if _ENV_NAME.match(value) else "use an environment variable name such as ARI_PASSWORD"


def _sound_name(value: Any) -> str | None:
    if _SOUND_NAME.match(value):
        return None
    return "use a sound name relative to Asterisk's sounds folder, without extension"


def _dtmf_digit(value: Any) -> str | None:
    return None if value in tuple("0123456789*#") else "use one DTMF digit: 0-9, * or #"


def _max_active(value: Any) -> str | None:
    # Kaldi's LatticeFasterDecoderConfig::Check() asserts max_active > 1.
    return None if value >= 2 else "use a whole number of 2 or more, or null for the model's value"


def _frames_per_chunk(value: Any) -> str | None:
    # Kaldi rounds the chunk up to a multiple of the frame subsampling factor (3 here).
    return None if value >= 3 else "use a whole number of 3 or more, or null for Kaldi's 20"


def _sample_rate(value: Any) -> str | None:
    if value in _SAMPLE_RATES:
        return None
    return f"use the model's sample rate, one of {', '.join(map(str, _SAMPLE_RATES))}"


def _ip_address(value: Any) -> str | None:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return "use an IP address such as 127.0.0.1"
    return None


def _http_url(value: Any) -> str | None:
    parts = urlsplit(value)
    if parts.scheme in ("http", "https") and parts.hostname:
        return None
    return "use an http:// or https:// URL such as http://127.0.0.1:8088"


CHECKS: dict[str, Callable[[Any], str | None]] = {
    "positive": _positive,
    "non_negative": _non_negative,
    "probability": _probability,
    "port": _port,
    "non_empty": _non_empty,
    "identifier": _identifier,
    "env_name": _env_name,
    "sound_name": _sound_name,
    "dtmf_digit": _dtmf_digit,
    "sample_rate": _sample_rate,
    "max_active": _max_active,
    "frames_per_chunk": _frames_per_chunk,
    "ip_address": _ip_address,
    "http_url": _http_url,
}
