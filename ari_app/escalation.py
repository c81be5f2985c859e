"""Move a caller who already waits in a queue to the emergency queue, over AMI.

After ``continue`` the caller has left Stasis, so ARI can no longer move it.
AMI can: ``Setvar`` updates the routing variables and ``Redirect`` sends the
channel to the emergency queue's extension, which clears the watchdog and
joins ``Queue()`` with the new ``QUEUE_PRIO``.
"""

from __future__ import annotations

import structlog

from agi.ami import AmiClient, AmiError
from ari_app.session import sanitize_dialplan_value
from careroute.policy import Decision

log = structlog.get_logger("careroute.escalation")


class AmiEscalator:
    """Escalator that moves routed callers over one AMI connection."""

    def __init__(self, ami: AmiClient, dialplan_context: str) -> None:
        self.ami = ami
        self._context = dialplan_context

    async def __call__(self, channel_name: str, decision: Decision) -> bool:
        """Set the emergency variables on ``channel_name`` and redirect it; return True on success."""
        if not channel_name:
            log.error("escalation.no_channel_name", queue=decision.queue)
            return False
        variables = {
            "CAREROUTE_QUEUE": decision.queue,
            "CAREROUTE_URGENCY": decision.urgency,
            "CAREROUTE_CONFIDENCE": f"{decision.confidence:.2f}",
            "CAREROUTE_REASON": sanitize_dialplan_value(decision.reason),
            "CAREROUTE_ESCALATED": "1",
            "QUEUE_PRIO": str(decision.priority),
        }
        try:
            for name, value in variables.items():
                await self.ami.action(
                    {"Action": "Setvar", "Channel": channel_name, "Variable": name, "Value": value}
                )
            await self.ami.redirect(channel_name, self._context, decision.queue, 1)
        except AmiError as exc:
            log.error("escalation.ami_failed", error=str(exc), queue=decision.queue)
            return False
        return True
