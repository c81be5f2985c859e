"""AGI command lines the EAGI engine sends, and parsing of Asterisk's replies.

An AGI reply is a status code and, for code 200, ``result=<n>`` with optional
data in brackets and ``key=value`` pairs: ``200 result=48 endpos=8320``,
``200 result=1 (timeout)``. Code 510 means an unknown command, 511 a command
not allowed on a dead channel, and 520 a usage error. A 520 reply spans
several lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ari_app.session import sanitize_dialplan_value
from careroute.policy import Decision

#: ``200 result=-1 (data) key=value ...`` on the last line of a reply.
_REPLY = re.compile(r"^(?P<code>\d{3})[ -](?P<rest>.*)$")
_RESULT = re.compile(r"result=(?P<result>-?\d+)")
_DATA = re.compile(r"\((?P<data>[^)]*)\)")
_PAIR = re.compile(r"(?P<key>[a-z_]+)=(?P<value>\S+)")


class AgiReplyError(ValueError):
    """An AGI reply that does not start with a three-digit status code."""


@dataclass(frozen=True, slots=True)
class AgiReply:
    """One parsed AGI reply."""

    code: int
    """Status code: 200 success, 510 unknown command, 511 dead channel, 520 usage error."""
    result: int | None
    """The ``result=`` number; None when the reply has none (codes other than 200)."""
    data: str = ""
    """Text in brackets after the result, such as ``timeout``."""
    fields: dict[str, str] = field(default_factory=dict)
    """Other ``key=value`` pairs, such as ``endpos``."""
    text: str = ""
    """The reply as Asterisk wrote it."""

    @property
    def ok(self) -> bool:
        """Return True for code 200 with a result that is not -1."""
        return self.code == 200 and self.result is not None and self.result != -1

    def digit(self) -> str | None:
        """Return the DTMF digit of a STREAM FILE reply: ``result`` is its ASCII code; 0 means none."""
        if self.code != 200 or self.result is None or self.result <= 0:
            return None
        return chr(self.result)


def parse_agi_reply(text: str) -> AgiReply:
    """Parse one reply; a multi-line reply is read from its last line.

    Raises:
        AgiReplyError: the reply does not start with a status code.
    """
    last = text.strip().splitlines()[-1] if text.strip() else ""
    match = _REPLY.match(last)
    if match is None:
        raise AgiReplyError(f"AGI reply {text!r} does not start with a three-digit status code")
    rest = match.group("rest")
    result_match = _RESULT.search(rest)
    data_match = _DATA.search(rest)
    fields = {
        pair.group("key"): pair.group("value")
        for pair in _PAIR.finditer(_DATA.sub("", rest))
        if pair.group("key") != "result"
    }
    return AgiReply(
        code=int(match.group("code")),
        result=int(result_match.group("result")) if result_match else None,
        data=data_match.group("data") if data_match else "",
        fields=fields,
        text=text,
    )


def quote_argument(value: str) -> str:
    """Return ``value`` as one quoted AGI argument.

    res_agi splits a command line at spaces outside double quotes and treats a
    backslash as an escape, so both characters are removed rather than escaped.
    """
    cleaned = "".join(" " if ch in "\r\n" else ch for ch in value if ch not in '"\\')
    return f'"{cleaned}"'


def set_variable(name: str, value: str) -> str:
    """Return the AGI command that sets channel variable ``name`` to ``value``."""
    return f"SET VARIABLE {name} {quote_argument(value)}"


def stream_file(sound: str, escape_digits: str) -> str:
    """Return the AGI command that plays ``sound`` and stops at one of ``escape_digits``."""
    return f"STREAM FILE {sound} {quote_argument(escape_digits)}"


def routing_variables(decision: Decision, call_id: str) -> dict[str, str]:
    """Return the channel variables that carry ``decision`` into ``[careroute-queues]``.

    Names and values match what the ARI app sets before ``continue``.
    """
    return {
        "CAREROUTE_QUEUE": decision.queue,
        "CAREROUTE_URGENCY": decision.urgency,
        "CAREROUTE_CONFIDENCE": f"{decision.confidence:.2f}",
        "CAREROUTE_REASON": sanitize_dialplan_value(decision.reason),
        "CAREROUTE_CALL_ID": call_id,
        "QUEUE_PRIO": str(decision.priority),
    }
