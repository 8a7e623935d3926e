"""POP3 events: what flows between the core and its adapters.

Each event is a frozen, slotted, keyword-only dataclass (convention 3). A
client *sends* commands and *receives* responses; a server receives
commands and sends responses. Both roles use the same classes, so a test can
feed a server's output into a client and back.

A multi-line response (RFC 1939 section 3) is three kinds of event: the
status line (:class:`Response`), the content in pieces of any size
(:class:`ResponseData`, byte-stuffing undone on receive and done by the core
on send) and its end (:class:`EndOfResponse`). So a message of any size
streams through the core without being held in memory.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "Apop",
    "Auth",
    "AuthList",
    "AuthResponse",
    "Capa",
    "Command",
    "ConnectionClosed",
    "Continuation",
    "Dele",
    "EndOfResponse",
    "Event",
    "InvalidCommand",
    "List",
    "Noop",
    "Pass",
    "Quit",
    "Response",
    "ResponseData",
    "Retr",
    "Rset",
    "Stat",
    "Stls",
    "Top",
    "Uidl",
    "User",
]


class Event:
    """Base class of every POP3 event."""

    __slots__ = ()


class Command(Event):
    """A command line from client to server; each gets exactly one response."""

    __slots__ = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class User(Command):
    """``USER name`` (RFC 1939 section 7): the first half of USER/PASS."""

    name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Pass(Command):
    """``PASS string``: the password (it may contain spaces). Never shown
    in ``repr``, so it does not end up in logs."""

    password: str

    def __repr__(self) -> str:
        return "Pass(password=<hidden>)"


@dataclass(frozen=True, slots=True, kw_only=True)
class Apop(Command):
    """``APOP name digest`` (RFC 1939 section 7): ``digest`` is the lower-case
    hex MD5 of the greeting's timestamp followed by the shared secret."""

    name: str
    digest: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Auth(Command):
    """``AUTH mechanism [initial-response]`` (RFC 5034).

    Attributes:
        mechanism: Upper-cased SASL mechanism name.
        initial_response: The base64 initial response as sent (``"="`` means
            an empty one), or None when absent.
    """

    mechanism: str
    initial_response: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AuthList(Command):
    """``AUTH`` without a mechanism: the SASL mechanisms, one per line, in a
    multi-line ``+OK``. Not in RFC 5034 (CAPA's ``SASL`` line replaced it),
    but the older convention (draft-myers-sasl-pop3) that Thunderbird and
    Outlook still send when CAPA names no mechanism, and that Dovecot and
    Courier answer."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AuthResponse(Command):
    """A client's line in a SASL exchange, answering a ``+`` continuation.

    Attributes:
        data: The base64 text as sent (never shown in ``repr``: it may be a
            password).
        cancelled: True when the client sent ``*`` to abort (RFC 5034 section 4).
    """

    data: str
    cancelled: bool = False

    def __repr__(self) -> str:
        return f"AuthResponse(data=<hidden>, cancelled={self.cancelled})"


@dataclass(frozen=True, slots=True, kw_only=True)
class Stat(Command):
    """``STAT``: ``+OK count octets`` for the maildrop."""


@dataclass(frozen=True, slots=True, kw_only=True)
class List(Command):
    """``LIST [msg]``: one scan line, or (without ``msg``) a multi-line list."""

    msg: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Retr(Command):
    """``RETR msg``: the whole message, multi-line."""

    msg: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Dele(Command):
    """``DELE msg``: mark for deletion; done only in the UPDATE state."""

    msg: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Noop(Command):
    """``NOOP``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Rset(Command):
    """``RSET``: unmark every message marked as deleted."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Quit(Command):
    """``QUIT``: from TRANSACTION it enters UPDATE (deletions happen), then closes."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Top(Command):
    """``TOP msg n``: the header, the blank line and ``n`` body lines, multi-line."""

    msg: int
    lines: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Uidl(Command):
    """``UIDL [msg]``: unique-id listing, one line or (without ``msg``) multi-line."""

    msg: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Capa(Command):
    """``CAPA`` (RFC 2449): the capability list, multi-line."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Stls(Command):
    """``STLS`` (RFC 2595): ``+OK`` starts the TLS handshake."""


@dataclass(frozen=True, slots=True, kw_only=True)
class InvalidCommand(Command):
    """A command line the server core refused before any handler saw it.

    The adapter must send ``response`` (or another ``-ERR`` of its choosing):
    responses go out in command order, so the core does not send it itself.

    Attributes:
        line: The offending line, for logging (truncated to 512 octets; a
            ``PASS`` line is reduced to its verb).
        response: The suggested ``-ERR`` response.
    """

    line: bytes
    response: Response


@dataclass(frozen=True, slots=True, kw_only=True)
class Response(Event):
    """A status line: ``+OK`` or ``-ERR`` (RFC 1939 section 3, RFC 2449 section 8).

    Attributes:
        ok: ``+OK`` (True) or ``-ERR`` (False).
        text: The text after the status (and after the RESP-CODE).
        code: The RESP-CODE without brackets (``"IN-USE"``, ``"SYS/TEMP"``),
            or None.
    """

    ok: bool
    text: str = ""
    code: str | None = None

    def __str__(self) -> str:
        code = f"[{self.code}] " if self.code else ""
        return f"{'+OK' if self.ok else '-ERR'} {code}{self.text}".rstrip()


@dataclass(frozen=True, slots=True, kw_only=True)
class Continuation(Event):
    """A SASL server challenge: ``+ base64`` (RFC 5034 section 4)."""

    data: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class ResponseData(Event):
    """A piece of a multi-line response's content: exact bytes, line endings
    as on the wire (CRLF), byte-stuffing undone (on receive) or still to do
    (on send). Pieces may split lines anywhere."""

    data: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class EndOfResponse(Event):
    """The end of a multi-line response (the ``.CRLF`` line)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectionClosed(Event):
    """The peer closed the connection (end of input)."""
