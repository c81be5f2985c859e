"""CareRoute's dialplan-side front end: AMI helpers (``agi.ami``) for queue state,
the Redirect fallback and user events."""

from agi.ami import (
    AmiActionError,
    AmiClient,
    AmiConnectionError,
    AmiError,
    AmiEvent,
    AmiLoginError,
    AmiTimeout,
    QueueEntry,
    QueueSummary,
    UserEvent,
)

__all__ = [
    "AmiActionError",
    "AmiClient",
    "AmiConnectionError",
    "AmiError",
    "AmiEvent",
    "AmiLoginError",
    "AmiTimeout",
    "QueueEntry",
    "QueueSummary",
    "UserEvent",
]
