"""IMAP responses: the events a server sends and a client receives.

Each is a frozen, slotted, keyword-only dataclass (convention 3). A server
core writes them (:meth:`Response.to_bytes`); a client core reads them
(:mod:`._response_parse`). The same classes on both sides, so a test can
feed a server's output into a client and compare.

RFC 3501 section 7 and 9 (abridged)::

    response        = *(continue-req / response-data) response-done
    continue-req    = "+" SP (resp-text / base64) CRLF
    response-data   = "*" SP (resp-cond-state / resp-cond-bye /
                      mailbox-data / message-data / capability-data) CRLF
    response-tagged = tag SP resp-cond-state CRLF
    resp-cond-state = ("OK" / "NO" / "BAD") SP resp-text
    resp-cond-auth  = ("OK" / "PREAUTH") SP resp-text
    resp-cond-bye   = "BYE" SP resp-text
    resp-text       = ["[" resp-text-code "]" SP] text
    mailbox-data    =  "FLAGS" SP flag-list / "LIST" SP mailbox-list /
                       "LSUB" SP mailbox-list / "SEARCH" *(SP nz-number) /
                       "STATUS" SP mailbox SP "(" [status-att-list] ")" /
                       number SP "EXISTS" / number SP "RECENT"
    message-data    = nz-number SP ("EXPUNGE" / ("FETCH" SP msg-att))

Anything a typed class does not cover (SORT, THREAD, ESEARCH, VANISHED,
METADATA...) arrives as :class:`UntaggedResponse` with its raw values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from ._encode import SERVER, check_atom, encode, encode_line
from ._errors import LocalProtocolError
from ._values import Atom, Value

__all__ = [
    "CapabilityResponse",
    "ConnectionClosed",
    "ContinuationRequest",
    "EnabledResponse",
    "Event",
    "ExistsResponse",
    "ExpungeResponse",
    "FetchResponse",
    "FlagsResponse",
    "IdResponse",
    "ListResponse",
    "MailboxStatusResponse",
    "NamespaceResponse",
    "RecentResponse",
    "Response",
    "ResponseCode",
    "SearchResponse",
    "StatusResponse",
    "UntaggedResponse",
]

#: The status words of tagged and untagged condition responses.
STATUSES = frozenset({"OK", "NO", "BAD", "PREAUTH", "BYE"})


class Event:
    """Base class of every IMAP event (responses, commands, and the rest)."""

    __slots__ = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectionClosed(Event):
    """The peer closed the connection (end of input)."""


def _check_text(text: str, what: str) -> bytes:
    if "\r" in text or "\n" in text or "\x00" in text:
        raise LocalProtocolError(f"{what} must not contain CR, LF or NUL: {text!r}")
    return text.encode("utf-8")


@dataclass(frozen=True, slots=True, kw_only=True)
class ResponseCode:
    """A response code: the ``[...]`` at the start of a response's text.

    RFC 3501 section 7.1 and 9::

        resp-text-code  = "ALERT" / "BADCHARSET" [SP "(" astring *(SP astring) ")" ] /
                          capability-data / "PARSE" /
                          "PERMANENTFLAGS" SP "(" [flag-perm *(SP flag-perm)] ")" /
                          "READ-ONLY" / "READ-WRITE" / "TRYCREATE" /
                          "UIDNEXT" SP nz-number / "UIDVALIDITY" SP nz-number /
                          "UNSEEN" SP nz-number /
                          atom [SP 1*<any TEXT-CHAR except "]">]

    plus RFC 4315 ``APPENDUID uidvalidity uid`` and ``COPYUID uidvalidity
    source-set dest-set``, RFC 5530 (``ALREADYEXISTS``, ``NONEXISTENT``,
    ``AUTHENTICATIONFAILED``...) and the rest.

    Attributes:
        name: Upper-cased (``"UIDVALIDITY"``).
        values: The arguments as values (``(3857529045,)``;
            ``((Atom("\\\\Seen"), Atom("\\\\*")),)`` for PERMANENTFLAGS;
            a sequence set such as ``304,319:320`` is an :class:`Atom`).
            Empty when the arguments are not IMAP values; see ``text``.
        text: The arguments exactly as received (not compared; when
            writing, used only when ``values`` is empty).
    """

    name: str
    values: tuple[Value, ...] = ()
    text: str = field(default="", compare=False)

    def __str__(self) -> str:
        return self.to_bytes().decode("utf-8", "replace")

    def to_bytes(self) -> bytes:
        """The code without its brackets: ``UIDNEXT 4392``.

        Raises:
            LocalProtocolError: an invalid name, or arguments with ``]``,
                CR or LF (or that would need a literal).
        """
        head = check_atom(self.name.upper()).encode("ascii")
        if self.values:
            args = b"".join(encode(self.values, SERVER))
        elif self.text:
            args = _check_text(self.text, "response code text")
        else:
            return head
        if b"]" in args or b"\n" in args:
            raise LocalProtocolError(
                f"response code arguments cannot hold ']' or a literal: {args[:40]!r}")
        return head + b" " + args


class Response(Event):
    """Base class of the responses (server to client)."""

    __slots__ = ()

    def to_bytes(self) -> bytes:
        """The response on the wire, CRLF included.

        Raises:
            LocalProtocolError, TypeError: a value cannot be written.
        """
        raise NotImplementedError


@dataclass(frozen=True, slots=True, kw_only=True)
class StatusResponse(Response):
    """``tag OK/NO/BAD [code] text``, or untagged ``* OK/NO/BAD/PREAUTH/BYE``.

    Attributes:
        tag: The command's tag, or None for an untagged response (the
            greeting, a warning, ``BYE``, ``OK [UIDVALIDITY ...]``...).
        status: ``"OK"``, ``"NO"``, ``"BAD"``, ``"PREAUTH"`` or ``"BYE"``.
        code: The response code, or None.
        text: The human-readable text.
    """

    tag: str | None = None
    status: str
    code: ResponseCode | None = None
    text: str = ""

    @property
    def ok(self) -> bool:
        """``OK`` (or ``PREAUTH``, a successful greeting)."""
        return self.status in ("OK", "PREAUTH")

    def to_bytes(self) -> bytes:
        status = self.status.upper()
        if status not in STATUSES:
            raise LocalProtocolError(f"not a status: {self.status!r}")
        if self.tag is not None and status not in ("OK", "NO", "BAD"):
            raise LocalProtocolError(f"{status} is never tagged")
        out = (b"*" if self.tag is None else check_atom(self.tag).encode("ascii"))
        out += b" " + status.encode("ascii")
        if self.code is not None:
            out += b" [" + self.code.to_bytes() + b"]"
        text = _check_text(self.text, "response text")
        if text:
            out += b" " + text
        return out + b"\r\n"


@dataclass(frozen=True, slots=True, kw_only=True)
class ContinuationRequest(Response):
    """``+ text``: the server waits for more from the client (the octets of
    a synchronizing literal, a SASL response, or ``DONE`` for IDLE).

    Attributes:
        text: The text, or the base64 challenge during AUTHENTICATE.
        code: A response code before the text, or None.
    """

    text: str = ""
    code: ResponseCode | None = None

    def to_bytes(self) -> bytes:
        out = b"+ "
        if self.code is not None:
            out += b"[" + self.code.to_bytes() + b"] "
        return out + _check_text(self.text, "continuation text") + b"\r\n"


class DataResponse(Response):
    """An untagged response carrying data: ``* [number] NAME values``."""

    __slots__ = ()
    NAME: ClassVar[str] = ""

    def head(self) -> str:
        """``* NAME`` or ``* n NAME``."""
        return f"* {self.NAME}"

    def wire_values(self) -> list[object]:
        """The values after the head."""
        return []

    def to_bytes(self) -> bytes:
        return b"".join(encode_line(self.head(), self.wire_values(), SERVER))


def _flags(flags: tuple[str, ...]) -> tuple[Atom, ...]:
    return tuple(Atom(f) for f in flags)


@dataclass(frozen=True, slots=True, kw_only=True)
class CapabilityResponse(DataResponse):
    """``* CAPABILITY IMAP4rev1 ...`` (names kept as sent; compare upper-cased)."""

    NAME: ClassVar[str] = "CAPABILITY"
    capabilities: tuple[str, ...]

    def wire_values(self) -> list[object]:
        return [Atom(c) for c in self.capabilities]


@dataclass(frozen=True, slots=True, kw_only=True)
class ExistsResponse(DataResponse):
    """``* n EXISTS``: the mailbox now holds ``count`` messages."""

    NAME: ClassVar[str] = "EXISTS"
    count: int

    def head(self) -> str:
        return f"* {int(self.count)} EXISTS"


@dataclass(frozen=True, slots=True, kw_only=True)
class RecentResponse(DataResponse):
    """``* n RECENT`` (IMAP4rev1; gone in IMAP4rev2)."""

    NAME: ClassVar[str] = "RECENT"
    count: int

    def head(self) -> str:
        return f"* {int(self.count)} RECENT"


@dataclass(frozen=True, slots=True, kw_only=True)
class ExpungeResponse(DataResponse):
    """``* n EXPUNGE``: message ``seq`` is gone; later numbers move down by one."""

    NAME: ClassVar[str] = "EXPUNGE"
    seq: int

    def head(self) -> str:
        return f"* {int(self.seq)} EXPUNGE"


@dataclass(frozen=True, slots=True, kw_only=True)
class FetchResponse(DataResponse):
    """``* n FETCH (name value ...)``.

    Attributes:
        seq: The message sequence number.
        items: Item name to raw value, in the order sent. Names received are
            upper-cased (``"BODY[HEADER.FIELDS (SUBJECT)]"``, ``"BODY[]<0>"``);
            names to send must be valid atoms (brackets allowed). Values are
            as in :mod:`._values`: ``bytes`` for a body section written as a
            literal, nested tuples for ENVELOPE and BODYSTRUCTURE,
            :class:`Atom` flags, a ``datetime`` for INTERNALDATE on sending.
    """

    NAME: ClassVar[str] = "FETCH"
    seq: int
    items: dict[str, object] = field(default_factory=dict)

    def head(self) -> str:
        return f"* {int(self.seq)} FETCH"

    def wire_values(self) -> list[object]:
        flat: list[object] = []
        for name, value in self.items.items():
            flat.append(Atom(name))
            flat.append(value)
        return [flat]


@dataclass(frozen=True, slots=True, kw_only=True)
class SearchResponse(DataResponse):
    """``* SEARCH n...`` (RFC 7162 adds ``(MODSEQ m)`` at the end)."""

    NAME: ClassVar[str] = "SEARCH"
    numbers: tuple[int, ...] = ()
    modseq: int | None = None

    def wire_values(self) -> list[object]:
        out: list[object] = list(self.numbers)
        if self.modseq is not None:
            out.append((Atom("MODSEQ"), self.modseq))
        return out


@dataclass(frozen=True, slots=True, kw_only=True)
class FlagsResponse(DataResponse):
    """``* FLAGS (...)``: the flags defined in the selected mailbox."""

    NAME: ClassVar[str] = "FLAGS"
    flags: tuple[str, ...] = ()

    def wire_values(self) -> list[object]:
        return [_flags(self.flags)]


@dataclass(frozen=True, slots=True, kw_only=True)
class ListResponse(DataResponse):
    """``* LIST (flags) "/" name`` (or LSUB).

    Attributes:
        flags: Name attributes as sent (``\\HasNoChildren``, ``\\Sent``...).
        delimiter: The hierarchy delimiter, or None (NIL: flat).
        mailbox: The name as on the wire (modified UTF-7 unless UTF8=ACCEPT
            is on; the client decodes it).
        kind: ``"LIST"`` or ``"LSUB"``.
        extended: RFC 5258 extended data after the name (``CHILDINFO``...).
    """

    flags: tuple[str, ...] = ()
    delimiter: str | None = "/"
    mailbox: str
    kind: str = "LIST"
    extended: tuple[Value, ...] = ()

    def head(self) -> str:
        return f"* {self.kind}"

    def wire_values(self) -> list[object]:
        return [_flags(self.flags), self.delimiter, self.mailbox, *self.extended]


@dataclass(frozen=True, slots=True, kw_only=True)
class MailboxStatusResponse(DataResponse):
    """``* STATUS name (MESSAGES 2 UIDNEXT 44)``: the STATUS command's data."""

    NAME: ClassVar[str] = "STATUS"
    mailbox: str
    items: dict[str, int] = field(default_factory=dict)

    def wire_values(self) -> list[object]:
        flat: list[object] = []
        for name, number in self.items.items():
            flat += [Atom(name), number]
        return [self.mailbox, flat]


@dataclass(frozen=True, slots=True, kw_only=True)
class EnabledResponse(DataResponse):
    """``* ENABLED ...`` (RFC 5161): the extensions ENABLE turned on."""

    NAME: ClassVar[str] = "ENABLED"
    capabilities: tuple[str, ...] = ()

    def wire_values(self) -> list[object]:
        return [Atom(c) for c in self.capabilities]


@dataclass(frozen=True, slots=True, kw_only=True)
class IdResponse(DataResponse):
    """``* ID ("name" "Dovecot" ...)`` or ``* ID NIL`` (RFC 2971)."""

    NAME: ClassVar[str] = "ID"
    params: dict[str, str | None] | None = None

    def wire_values(self) -> list[object]:
        if self.params is None:
            return [None]
        flat: list[object] = []
        for key, value in self.params.items():
            flat += [key, value]
        return [flat]


#: One namespace: ``(prefix, delimiter)``.
Namespace = tuple[str, "str | None"]


@dataclass(frozen=True, slots=True, kw_only=True)
class NamespaceResponse(DataResponse):
    """``* NAMESPACE personal other shared`` (RFC 2342); each is a tuple of
    ``(prefix, delimiter)`` pairs, empty for NIL."""

    NAME: ClassVar[str] = "NAMESPACE"
    personal: tuple[Namespace, ...] = ()
    other: tuple[Namespace, ...] = ()
    shared: tuple[Namespace, ...] = ()

    def wire_values(self) -> list[object]:
        return [tuple(tuple(ns) for ns in group) if group else None
                for group in (self.personal, self.other, self.shared)]


@dataclass(frozen=True, slots=True, kw_only=True)
class UntaggedResponse(DataResponse):
    """Any other untagged data: ``* [number] NAME values`` (SORT, THREAD,
    ESEARCH, VANISHED, and responses a typed class could not read).

    Attributes:
        name: Upper-cased response name.
        number: The number before the name (``* 5 XYZ``), or None.
        values: The values after the name.
    """

    name: str
    number: int | None = None
    values: tuple[Value, ...] = ()

    def head(self) -> str:
        check_atom(self.name)
        return f"* {self.name}" if self.number is None else f"* {int(self.number)} {self.name}"

    def wire_values(self) -> list[object]:
        return list(self.values)
