"""Helpers for live triage tests; they live in ``careroute.livecalls``, shared with ``careroute eval``."""

from careroute.livecalls import PASSWORD_ENV, queue_watch, running_service, service_config

__all__ = ["PASSWORD_ENV", "queue_watch", "running_service", "service_config"]
