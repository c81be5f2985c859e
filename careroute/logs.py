"""structlog set-up shared by every CareRoute process.

Log lines are JSON unless stderr is a terminal, where they are rendered for
people. Call sessions bind their call id on their own logger
(``log.bind(call_id=...)``). ``log_transcript`` takes the id as an argument,
so code without a bound logger, such as the per-call pipeline, can use it.

Privacy: at the default level no log line carries transcript text, caller
numbers or caller names. ``configure_logging(debug_text=True)`` lifts that for
troubleshooting and logs a warning saying so. At debug level, library
records (panoramisk's raw AMI messages) can still carry caller numbers such
as ``CallerIDNum`` in their message text, which this filter does not parse.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

#: Keys that may hold caller speech or identity. They are dropped from every
#: event unless text logging was switched on explicitly.
SENSITIVE_KEYS = frozenset(
    {"text", "transcript", "partial", "final", "caller_number", "caller_name", "callerid"}
)

_debug_text = False

#: Logger of the transcript lines that ``debug_text`` switches on.
_transcript_log = structlog.get_logger("careroute.transcript")


def _drop_sensitive(
    _logger: Any, _name: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    if _debug_text:
        return event
    for key in SENSITIVE_KEYS.intersection(event):
        event[key] = "[redacted]"
    return event


def configure_logging(level: str = "info", *, json: bool | None = None, debug_text: bool = False) -> None:
    """Configure structlog and the standard library root logger.

    Args:
        level: ``debug``, ``info``, ``warning`` or ``error``.
        json: force JSON (True) or console (False) rendering; None picks JSON
            unless stderr is a terminal.
        debug_text: allow transcript text and caller identity in log lines.
    """
    global _debug_text
    _debug_text = debug_text
    numeric = logging.getLevelNamesMapping().get(level.upper())
    if numeric is None:
        raise ValueError(f"log level {level!r} is not one of debug, info, warning, error")
    if json is None:
        json = not sys.stderr.isatty()
    renderer: Any = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _drop_sensitive,
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
    # Third-party libraries (panoramisk, websockets) log through the standard
    # library; render their records the same way, so a JSON log stays JSON.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[
                structlog.stdlib.add_logger_name,
                structlog.processors.add_log_level,
                structlog.processors.TimeStamper(fmt="iso", utc=True),
                _drop_sensitive,
            ],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(numeric)
    # httpx logs every request at INFO; ARI calls are traced by our own events.
    logging.getLogger("httpx").setLevel(max(numeric, logging.WARNING))
    if debug_text:
        structlog.get_logger("careroute").warning(
            "logs.debug_text.enabled",
            message="TRANSCRIPT TEXT AND CALLER IDENTITY WILL BE WRITTEN TO THE LOG",
        )


def text_logging_enabled() -> bool:
    """Return True when transcript text may be logged."""
    return _debug_text


def log_transcript(call_id: str, kind: str, text: str) -> None:
    """Log a recognizer result's cumulative transcript at info level, only with debug_text.

    Without ``debug_text`` this does nothing, so calling it for every
    recognizer update costs one global read. ``kind`` is ``partial`` or
    ``final``, or ``watch-partial`` and ``watch-final`` after the decision.
    """
    if _debug_text:
        _transcript_log.info("call.transcript", call_id=call_id, kind=kind, transcript=text)
