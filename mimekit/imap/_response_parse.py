"""Reading responses: the start of a line decides its grammar.

A response line is one of (RFC 3501 section 9)::

    continue-req    = "+" SP (resp-text / base64) CRLF
    response-tagged = tag SP resp-cond-state CRLF
    response-data   = "*" SP (resp-cond-state / resp-cond-bye /
                      mailbox-data / message-data / capability-data) CRLF
    resp-text       = ["[" resp-text-code "]" SP] text
    text            = 1*TEXT-CHAR

A condition response (OK, NO, BAD, PREAUTH, BYE) ends in free *text*, which
may hold anything but CR and LF (quotes, braces, brackets), so it must not
go through the value tokenizer: :func:`classify` looks at the start of the
first fragment and says which grammar the rest follows. Data responses are
values (with literals) and become typed events in :func:`data_response`;
one that does not fit its typed class becomes :class:`UntaggedResponse`
rather than an error, since a client must survive extensions and quirks.

Leniency: ``+`` without the SP, a code without text, lower-case status
words and response names are accepted.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from ._lexer import ParseError, parse_values
from ._responses import (
    CapabilityResponse,
    DataResponse,
    EnabledResponse,
    ExistsResponse,
    ExpungeResponse,
    FetchResponse,
    FlagsResponse,
    IdResponse,
    ListResponse,
    MailboxStatusResponse,
    Namespace,
    NamespaceResponse,
    RecentResponse,
    ResponseCode,
    SearchResponse,
    UntaggedResponse,
)
from ._values import Atom, Value, as_astring, as_text

__all__ = ["LineStart", "classify", "data_response", "parse_resp_text"]

#: ``tag = 1*<any ASTRING-CHAR except "+">``; leniently anything up to SP.
_START = re.compile(
    rb"(?:(\*) +|([^ \x00-\x1f\x7f+][^ \x00-\x1f\x7f]*) +)"
    rb"(?:(OK|NO|BAD|PREAUTH|BYE)(?: +|$))?",
    re.IGNORECASE,
)


class LineStart(NamedTuple):
    """What the start of a response line says about the rest."""

    #: ``"+"`` continuation, ``"status"`` (tagged or untagged condition),
    #: ``"data"`` (untagged data: values follow).
    kind: str
    #: The tag of a tagged status, else None.
    tag: str | None
    #: The status word (upper-cased) of a condition response, else None.
    status: str | None
    #: Where the rest (text, or the values) starts in the fragment.
    offset: int


def classify(fragment: bytes) -> LineStart:
    """Which grammar a response line follows.

    Raises:
        ParseError: the line starts like no response (or a tagged line
            carries no OK/NO/BAD).
    """
    if fragment.startswith(b"+"):
        return LineStart("+", None, None, 2 if fragment.startswith(b"+ ") else 1)
    m = _START.match(fragment)
    if m is None:
        raise ParseError(f"not an IMAP response: {fragment[:40]!r}")
    status = m.group(3).upper().decode("ascii") if m.group(3) else None
    if m.group(1):
        if status is not None:
            return LineStart("status", None, status, m.end())
        return LineStart("data", None, None, m.end())
    if status is None or status in ("PREAUTH", "BYE"):
        raise ParseError(f"a tagged response must be OK, NO or BAD: {fragment[:40]!r}")
    return LineStart("status", m.group(2).decode("utf-8", "replace"), status, m.end())


def parse_resp_text(data: bytes) -> tuple[ResponseCode | None, str]:
    """``["[" resp-text-code "]" SP] text`` as ``(code, text)``. Never raises.

    The code's arguments are read as values when they are values (numbers,
    flag lists, sequence sets as atoms), else kept only as ``code.text``.
    """
    code: ResponseCode | None = None
    if data.startswith(b"["):
        close = data.find(b"]")
        if close > 1:
            inner = data[1:close]
            name, _, args = inner.partition(b" ")
            values: tuple[Value, ...] = ()
            if args:
                try:
                    values = tuple(parse_values(args))
                except ParseError:
                    values = ()
            code = ResponseCode(name=name.decode("ascii", "replace").upper(), values=values,
                                text=args.decode("utf-8", "replace"))
            data = data[close + 1:].lstrip(b" ")
    return code, data.decode("utf-8", "replace")


# -- typed data responses --------------------------------------------------------------------


def _upper(value: Value) -> str | None:
    return value.upper() if isinstance(value, str) else None


def _strings(value: Value) -> tuple[str, ...] | None:
    if not isinstance(value, tuple):
        return None
    out = []
    for item in value:
        text = as_astring(item)
        if text is None:
            return None
        out.append(text)
    return tuple(out)


def _namespace_group(value: Value) -> tuple[Namespace, ...] | None:
    if value is None:
        return ()
    if not isinstance(value, tuple):
        return None
    out: list[Namespace] = []
    for item in value:
        if not isinstance(item, tuple) or len(item) < 2:
            return None
        prefix = as_astring(item[0])
        if prefix is None:
            return None
        out.append((prefix, as_text(item[1])))
    return tuple(out)


def _fetch(seq: int, rest: list[Value]) -> DataResponse | None:
    if len(rest) != 1 or not isinstance(rest[0], tuple) or len(rest[0]) % 2:
        return None
    pairs = rest[0]
    items: dict[str, object] = {}
    for i in range(0, len(pairs), 2):
        name = pairs[i]
        if not isinstance(name, Atom):
            return None
        items[name.upper()] = pairs[i + 1]
    return FetchResponse(seq=seq, items=items)


def _numbered(number: int, name: str, rest: list[Value]) -> DataResponse | None:
    if name == "FETCH":
        return _fetch(number, rest)
    if rest:
        return None
    if name == "EXISTS":
        return ExistsResponse(count=number)
    if name == "RECENT":
        return RecentResponse(count=number)
    if name == "EXPUNGE":
        return ExpungeResponse(seq=number)
    return None


def _named(name: str, rest: list[Value]) -> DataResponse | None:
    if name == "CAPABILITY" or name == "ENABLED":
        caps = tuple(str(v) for v in rest if isinstance(v, Atom))
        if len(caps) != len(rest):
            return None
        if name == "ENABLED":
            return EnabledResponse(capabilities=caps)
        return CapabilityResponse(capabilities=caps)
    if name == "SEARCH":
        numbers = [v for v in rest if isinstance(v, int)]
        modseq = None
        if len(numbers) == len(rest) - 1 and isinstance(rest[-1], tuple):
            tail = rest[-1]
            if len(tail) == 2 and _upper(tail[0]) == "MODSEQ" and isinstance(tail[1], int):
                modseq = tail[1]
            else:
                return None
        elif len(numbers) != len(rest):
            return None
        return SearchResponse(numbers=tuple(numbers), modseq=modseq)
    if name == "FLAGS":
        flags = _strings(rest[0]) if len(rest) == 1 else None
        return None if flags is None else FlagsResponse(flags=flags)
    if name in ("LIST", "LSUB", "XLIST"):
        if len(rest) < 3:
            return None
        flags = _strings(rest[0])
        mailbox = as_astring(rest[2])
        delimiter = rest[1]
        if flags is None or mailbox is None or isinstance(delimiter, tuple | int):
            return None
        return ListResponse(flags=flags, delimiter=as_text(delimiter), mailbox=mailbox,
                            kind="LSUB" if name == "LSUB" else "LIST",
                            extended=tuple(rest[3:]))
    if name == "STATUS":
        if len(rest) != 2 or not isinstance(rest[1], tuple) or len(rest[1]) % 2:
            return None
        mailbox = as_astring(rest[0])
        items: dict[str, int] = {}
        pairs = rest[1]
        for i in range(0, len(pairs), 2):
            key, number = _upper(pairs[i]), pairs[i + 1]
            if key is None or not isinstance(number, int):
                return None
            items[key] = number
        return None if mailbox is None else MailboxStatusResponse(mailbox=mailbox, items=items)
    if name == "ID":
        if rest == [None]:
            return IdResponse(params=None)
        if len(rest) != 1 or not isinstance(rest[0], tuple) or len(rest[0]) % 2:
            return None
        params: dict[str, str | None] = {}
        raw = rest[0]
        for i in range(0, len(raw), 2):
            key = as_astring(raw[i])
            if key is None:
                return None
            params[key] = as_text(raw[i + 1])
        return IdResponse(params=params)
    if name == "NAMESPACE":
        if len(rest) < 3:
            return None
        groups = [_namespace_group(v) for v in rest[:3]]
        if any(g is None for g in groups):
            return None
        personal, other, shared = (g or () for g in groups)
        return NamespaceResponse(personal=personal, other=other, shared=shared)
    return None


def data_response(values: list[Value]) -> DataResponse:
    """The typed event for an untagged data line's values (after ``* ``).

    Never raises: what a typed class cannot hold is an
    :class:`UntaggedResponse` with the raw values.
    """
    typed: DataResponse | None = None
    number: int | None = None
    if values and isinstance(values[0], int) and len(values) >= 2 and isinstance(values[1], Atom):
        number = values[0]
        name = values[1].upper()
        typed = _numbered(number, name, values[2:])
        rest = values[2:]
    elif values and isinstance(values[0], Atom):
        name = values[0].upper()
        typed = _named(name, values[1:])
        rest = values[1:]
    else:
        return UntaggedResponse(name="", values=tuple(values))
    if typed is not None:
        return typed
    return UntaggedResponse(name=name, number=number, values=tuple(rest))
