"""Writing IMAP: Python values as atoms, quoted strings and literals.

The mapping is the table in :mod:`._values`. The choices (RFC 3501 section
4.3 and 9)::

    string          = quoted / literal
    quoted          = DQUOTE *QUOTED-CHAR DQUOTE
    QUOTED-CHAR     = <any TEXT-CHAR except quoted-specials> /
                      "\\" quoted-specials
    TEXT-CHAR       = <any CHAR except CR and LF>
    CHAR            = %x01-7F
    literal         = "{" number "}" CRLF *CHAR8      ; RFC 7888: "{" number "+}"

* A ``str`` is quoted when every character is a TEXT-CHAR (7-bit, no NUL,
  CR or LF; UTF-8 too when ``utf8=True``, RFC 6855 ``UTF8=ACCEPT``) and it
  is at most :data:`MAX_QUOTED` octets; otherwise it is a literal of its
  UTF-8 octets. ``bytes`` are always a literal: they are octets whose
  transfer must not change them (a message for APPEND, a body section).
* A literal written by a **client** is synchronizing (``{n}``: the client
  waits for the server's ``+`` before the octets) unless the server offers
  ``LITERAL+`` (any size) or ``LITERAL-`` (at most 4096 octets), when it is
  ``{n+}`` (RFC 7888). A **server** always writes ``{n}`` and never waits.

:func:`encode` returns *parts*: the octets to write, split after each
synchronizing literal header, so part *i+1* may only be written once the
peer has answered ``+`` to part *i*. Caller mistakes (a value of a type
IMAP cannot carry, an atom that would not read back as one, a negative
number) raise at once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from ._errors import LocalProtocolError
from ._values import Atom, format_date, format_datetime

__all__ = ["MAX_QUOTED", "LITERAL_MINUS_MAX", "Encoding", "check_atom", "encode", "encode_line"]

#: Longer strings go as literals (servers bound their line length; a quoted
#: string is part of the line, a literal is not).
MAX_QUOTED = 1000
#: RFC 7888 section 4: with LITERAL- only literals up to 4096 octets may be
#: non-synchronizing.
LITERAL_MINUS_MAX = 4096

# An atom as the lexer reads one (see _lexer._TOKEN), ASCII only.
_ATOM = re.compile(r'(?:[!#-\'*-Z\\^-z|}~\]]|\[[^\x00-\x1f\x7f\[\]]*\]|\[)+')
_QUOTABLE = re.compile(r"[^\x00\r\n]*")


def _is_utf8(text: str) -> bool:
    """No lone surrogates (``surrogateescape`` octets are not UTF-8)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_atom(text: str) -> str:
    """Check that ``text`` can be written as an atom and read back as one.

    Raises:
        LocalProtocolError: empty, non-ASCII, or holding SP, CTL, ``(``,
            ``)``, ``{`` or ``"`` outside a ``[...]`` section.
    """
    if not text or not text.isascii() or _ATOM.fullmatch(text) is None:
        raise LocalProtocolError(f"cannot be written as an IMAP atom: {text!r}")
    return text


@dataclass(frozen=True, slots=True)
class Encoding:
    """How to write literals and strings for one peer.

    Attributes:
        server: We are the server: literals are ``{n}`` and never wait.
        literal_plus: The server offers LITERAL+ (RFC 7888): every literal
            may be non-synchronizing.
        literal_minus: The server offers LITERAL-: literals up to 4096
            octets may be non-synchronizing.
        utf8: ``UTF8=ACCEPT`` is enabled (RFC 6855): quoted strings may
            hold UTF-8.
    """

    server: bool = False
    literal_plus: bool = False
    literal_minus: bool = False
    utf8: bool = False

    def synchronizing(self, size: int) -> bool:
        """Whether a literal of ``size`` octets must wait for ``+``."""
        if self.server or self.literal_plus:
            return False
        return not (self.literal_minus and size <= LITERAL_MINUS_MAX)


SERVER = Encoding(server=True)


class _Writer:
    __slots__ = ("current", "encoding", "parts")

    def __init__(self, encoding: Encoding) -> None:
        self.encoding = encoding
        self.parts: list[bytes] = []
        self.current: list[bytes] = []

    def literal(self, data: bytes) -> None:
        size = len(data)
        if self.encoding.server:
            self.current.append(b"{%d}\r\n" % size)
            self.current.append(data)
        elif self.encoding.synchronizing(size):
            self.current.append(b"{%d}\r\n" % size)
            self.parts.append(b"".join(self.current))
            self.current = [data]
        else:
            self.current.append(b"{%d+}\r\n" % size)
            self.current.append(data)

    def string(self, text: str) -> None:
        raw = text.encode("utf-8", "surrogateescape")
        if len(raw) <= MAX_QUOTED and _QUOTABLE.fullmatch(text) is not None and (
                text.isascii() or (self.encoding.utf8 and _is_utf8(text))):
            self.current.append(b'"' + raw.replace(b"\\", b"\\\\").replace(b'"', b'\\"')
                                + b'"')
        else:
            self.literal(raw)

    def value(self, value: object, depth: int = 0) -> None:
        if depth > 100:
            raise LocalProtocolError("lists nested too deeply")
        if value is None:
            self.current.append(b"NIL")
        elif isinstance(value, Atom):
            self.current.append(check_atom(value).encode("ascii"))
        elif isinstance(value, str):
            self.string(value)
        elif isinstance(value, bool):
            raise TypeError("IMAP has no booleans: write an Atom or a number")
        elif isinstance(value, int):
            if value < 0:
                raise LocalProtocolError(f"IMAP numbers are not negative: {value}")
            self.current.append(b"%d" % value)
        elif isinstance(value, bytes | bytearray | memoryview):
            self.literal(bytes(value))
        elif isinstance(value, tuple | list):
            self.current.append(b"(")
            self.values(value, depth + 1)
            self.current.append(b")")
        elif isinstance(value, datetime):
            self.current.append(f'"{format_datetime(value)}"'.encode("ascii"))
        elif isinstance(value, date):
            self.current.append(format_date(value).encode("ascii"))
        else:
            raise TypeError(f"cannot write a {type(value).__name__} as IMAP")

    def values(self, values: Iterable[object], depth: int = 0) -> None:
        first = True
        for item in values:
            if not first:
                self.current.append(b" ")
            first = False
            self.value(item, depth)

    def finish(self) -> list[bytes]:
        self.parts.append(b"".join(self.current))
        self.current = []
        return self.parts


def encode(values: Iterable[object], encoding: Encoding = SERVER) -> list[bytes]:
    """Write values separated by SP (no line ending).

    Returns:
        The parts (see the module docs): one part unless a synchronizing
        literal splits them.

    Raises:
        LocalProtocolError: an invalid atom or a negative number.
        TypeError: a value of a type IMAP cannot carry.
    """
    writer = _Writer(encoding)
    writer.values(values)
    return writer.finish()


def encode_line(head: str, values: Iterable[object], encoding: Encoding = SERVER) -> list[bytes]:
    """A whole line: ``head`` (already valid IMAP, such as ``"* 3 FETCH"``
    or ``"A1 LOGIN"``), the values, and CRLF.

    Returns:
        The parts, as :func:`encode`; the last one ends with CRLF.
    """
    writer = _Writer(encoding)
    writer.current.append(head.encode("ascii"))
    for item in values:
        writer.current.append(b" ")
        writer.value(item)
    writer.current.append(b"\r\n")
    return writer.finish()
