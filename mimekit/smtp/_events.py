"""SMTP events: what flows between the core and its adapters.

Each event is a frozen, slotted, keyword-only dataclass (convention 3). A
client *sends* commands and message content and *receives* replies; a server
receives commands and content and sends replies. Both roles use the same
classes, so a test can feed a server's output into a client and back.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "Auth",
    "AuthResponse",
    "Bdat",
    "ChunkEnd",
    "Command",
    "ConnectionClosed",
    "Data",
    "Ehlo",
    "EndOfMessage",
    "Event",
    "Helo",
    "Help",
    "InvalidCommand",
    "Mail",
    "MessageData",
    "Noop",
    "Quit",
    "Rcpt",
    "Reply",
    "Rset",
    "StartTLS",
    "Vrfy",
]


class Event:
    """Base class of every SMTP event."""

    __slots__ = ()


class Command(Event):
    """A command line from client to server. Each gets exactly one reply
    (``Bdat`` gets its reply after its chunk, see :class:`ChunkEnd`)."""

    __slots__ = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Ehlo(Command):
    """``EHLO domain`` (RFC 5321 section 4.1.1.1)."""

    domain: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Helo(Command):
    """``HELO domain``: the pre-ESMTP greeting, no extensions."""

    domain: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Mail(Command):
    """``MAIL FROM:<reverse-path> [params]`` (RFC 5321 section 4.1.1.2).

    Attributes:
        sender: The reverse-path without brackets; ``""`` is the null path
            (bounces).
        params: ESMTP parameters, keyword upper-cased, value or None
            (``SIZE``, ``BODY``, ``SMTPUTF8``, ``RET``, ``ENVID``, ``AUTH``...).
    """

    sender: str
    params: dict[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class Rcpt(Command):
    """``RCPT TO:<forward-path> [params]`` (``NOTIFY``, ``ORCPT``...)."""

    recipient: str
    params: dict[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class Data(Command):
    """``DATA``: a 354 reply opens the message content."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Bdat(Command):
    """``BDAT size [LAST]`` (RFC 3030): exactly ``size`` octets follow."""

    size: int
    last: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Rset(Command):
    """``RSET``: abort the mail transaction."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Noop(Command):
    """``NOOP``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Quit(Command):
    """``QUIT``: a 221 reply closes the session."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Vrfy(Command):
    """``VRFY string`` (servers usually answer 252)."""

    argument: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Help(Command):
    """``HELP [string]``."""

    argument: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class StartTLS(Command):
    """``STARTTLS`` (RFC 3207): a 220 reply starts the TLS handshake."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Auth(Command):
    """``AUTH mechanism [initial-response]`` (RFC 4954).

    Attributes:
        mechanism: Upper-cased SASL mechanism name.
        initial_response: The base64 initial response as sent (``"="`` means
            an empty one), or None when absent.
    """

    mechanism: str
    initial_response: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AuthResponse(Command):
    """A client's line in a SASL exchange, answering a 334 challenge.

    Attributes:
        data: The base64 text as sent.
        cancelled: True when the client sent ``*`` to abort (RFC 4954).
    """

    data: str
    cancelled: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class InvalidCommand(Command):
    """A command line the server core refused before any handler saw it.

    The adapter must send ``reply`` (or another reply of its choosing):
    replies go out in command order, so the core does not send it itself.

    Attributes:
        line: The offending line, for logging (truncated to 512 octets).
        reply: The suggested reply (500, 501, 502, 503 or 504).
    """

    line: bytes
    reply: Reply


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageData(Event):
    """A piece of message content (dot-stuffing already undone on receive;
    done by the core on send)."""

    data: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class EndOfMessage(Event):
    """The end of DATA content (``CRLF.CRLF``). On receive it needs a reply.

    Attributes:
        size: Octets of message content received (after unstuffing).
        too_big: The content passed the SIZE limit; only part was delivered.
        long_line: A line passed the 1000-octet limit (RFC 5321 section
            4.5.3.1.6).
        bare_line_ending: A bare LF or bare CR occurred in the content (the
            SMTP smuggling pattern; see the module docs of ``_data``).
    """

    size: int = 0
    too_big: bool = False
    long_line: bool = False
    bare_line_ending: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class ChunkEnd(Event):
    """The end of one BDAT chunk; on receive it needs a reply.

    Attributes:
        last: It was the ``BDAT ... LAST`` chunk: the message is complete.
        size: Octets of message content so far (all chunks).
        too_big: The SIZE limit was passed.
    """

    last: bool = False
    size: int = 0
    too_big: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectionClosed(Event):
    """The peer closed the connection (end of input)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Reply(Event):
    """A server reply (RFC 5321 section 4.2).

    Attributes:
        code: The three-digit reply code.
        lines: The text of each line, without code or separator.
        enhanced: The RFC 3463 enhanced status code (``(5, 1, 1)``) found at
            the start of the text, or None.
    """

    code: int
    lines: tuple[str, ...] = ("",)
    enhanced: tuple[int, int, int] | None = None

    @property
    def text(self) -> str:
        """The lines joined with newlines."""
        return "\n".join(self.lines)

    @property
    def is_positive(self) -> bool:
        """2xx: the command succeeded."""
        return 200 <= self.code < 300

    @property
    def is_intermediate(self) -> bool:
        """3xx: more is expected (354 for DATA, 334 for AUTH)."""
        return 300 <= self.code < 400

    @property
    def is_transient(self) -> bool:
        """4xx: try again later."""
        return 400 <= self.code < 500

    @property
    def is_permanent(self) -> bool:
        """5xx: do not retry."""
        return 500 <= self.code < 600

    def __str__(self) -> str:
        enhanced = ".".join(map(str, self.enhanced)) + " " if self.enhanced else ""
        return f"{self.code} {enhanced}{' / '.join(self.lines)}"
