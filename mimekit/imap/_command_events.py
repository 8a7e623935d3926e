"""The other events of a command's life: the lines inside a command (a SASL
response, IDLE's ``DONE``) and what the server core reports about a command
before it is complete (a literal waiting for a decision, a refusal).

Frozen, slotted, keyword-only dataclasses (convention 3), like the commands
in :mod:`._commands`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ._responses import Event, StatusResponse
from ._values import Value

__all__ = ["AuthenticateData", "IdleDone", "InvalidCommand", "LiteralAnnounced"]



@dataclass(frozen=True, slots=True, kw_only=True)
class AuthenticateData(Event):
    """A client line answering an AUTHENTICATE challenge (``+ base64``).

    Attributes:
        data: The base64 text as sent.
        cancelled: The client sent ``*`` to abort (the server answers BAD).
    """

    data: str = ""
    cancelled: bool = False

    def __repr__(self) -> str:
        return f"AuthenticateData(data=<hidden>, cancelled={self.cancelled!r})"


@dataclass(frozen=True, slots=True, kw_only=True)
class IdleDone(Event):
    """``DONE``: the client ends IDLE (RFC 2177); the tagged OK follows."""


@dataclass(frozen=True, slots=True, kw_only=True)
class LiteralAnnounced(Event):
    """Server side: a command announced a synchronizing literal ``{n}``.

    The client waits for the server's decision before sending the octets.
    Send a ``ContinuationRequest`` to accept (the octets are then read into
    the command), or a tagged ``NO``/``BAD`` ``StatusResponse`` with this
    tag to refuse (nothing is allocated; the client drops the command).
    The core already refuses literals over its ``max_literal`` itself (an
    :class:`InvalidCommand` with ``[TOOBIG]``), so this is the hook for
    finer decisions: a quota, a missing mailbox (``NO [TRYCREATE]``).

    Attributes:
        tag: The command's tag.
        name: The command name (``"APPEND"``, ``"UID SEARCH"``...).
        size: The literal's size in octets.
        arguments: The values parsed so far (for APPEND, the mailbox first).
    """

    tag: str
    name: str
    size: int
    arguments: tuple[Value, ...] = field(default=())


@dataclass(frozen=True, slots=True, kw_only=True)
class InvalidCommand(Event):
    """Server side: a command the core refused before any handler saw it
    (unknown, not allowed in this state, bad syntax, too long, a literal
    too big).

    The adapter must send ``response`` (or another tagged NO/BAD with the
    same tag): responses go out in order, so the core does not send it.

    Attributes:
        tag: The tag when one could be read, else None (``response`` is
            then an untagged BAD).
        name: The command name when one could be read, else ``""``.
        response: The suggested response.
    """

    tag: str | None
    name: str
    response: StatusResponse
