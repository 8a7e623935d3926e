"""Reading IMAP: line framing with literals, and the value tokenizer.

One reader serves both roles: server responses (client side) and client
commands (server side) are written in the same grammar, RFC 3501 section 9::

    literal         = "{" number "}" CRLF *CHAR8
                        ; Number represents the number of CHAR8s
    quoted          = DQUOTE *QUOTED-CHAR DQUOTE
    QUOTED-CHAR     = <any TEXT-CHAR except quoted-specials> /
                      "\\" quoted-specials
    quoted-specials = DQUOTE / "\\"
    atom            = 1*ATOM-CHAR
    ATOM-CHAR       = <any CHAR except atom-specials>
    atom-specials   = "(" / ")" / "{" / SP / CTL / list-wildcards /
                      quoted-specials / resp-specials
    list-wildcards  = "%" / "*"
    resp-specials   = "]"
    astring         = 1*ASTRING-CHAR / string
    ASTRING-CHAR    = ATOM-CHAR / resp-specials
    nil             = "NIL"
    number          = 1*DIGIT

RFC 7888 (LITERAL+/LITERAL-) adds the non-synchronizing literal
``"{" number "+}" CRLF``; RFC 3516 (BINARY) ``literal8 = "~{" number "}"``.

**Framing.** A command or response is a line, except that a literal's
octets may contain anything: a line "fragment" ends at CRLF, and when it
ends with a literal header ``{n}`` exactly ``n`` octets follow, then the
line goes on with another fragment. :class:`Reader` cuts fragments and
literals out of the received bytes; it searches each byte for LF once
(the search resumes where it stopped), so any chunking, byte-at-a-time
included, costs linear time. A literal is collected as the chunks that
arrive and joined once at its end; a chunk that holds only literal octets
is kept as it came, not copied into the line buffer first.

**Tokens.** :class:`ValueParser` turns fragments into the values of
:mod:`._values`, keeping its stack of open lists across literals. The
tokenizer is deliberately more lenient than the ABNF, as servers and
clients in the field are:

* Atoms may contain ``%``, ``*`` and ``]`` (list patterns, sequence sets
  such as ``1:*``, mailbox names like ``[Gmail]``), and start with ``\\``
  (flags such as ``\\Seen`` and ``\\*``). 8-bit octets are accepted in atoms
  (servers with ``UTF8=ACCEPT`` send UTF-8 names unquoted).
* A ``[...]`` inside an atom may hold spaces and parentheses, so
  ``BODY[HEADER.FIELDS (SUBJECT FROM)]<0.100>`` is one atom, as the FETCH
  grammar needs (``section`` and ``partial``). Deviation: a literal or a
  ``]`` inside such a section is not supported (nobody sends one).
* More than one SP between tokens, and none between ``)`` and the next
  token, are accepted. A bare LF ends a line like CRLF does.
* Any escaped character in a quoted string is taken as itself (RFC 3501
  allows only ``\\"`` and ``\\\\``).

Limits: the non-literal octets of one line (all its fragments together)
are bounded by ``max_line`` (None for no bound) and list nesting by
``max_depth``; literals are bounded by the connection, which knows their
size before the first octet.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from ._values import Atom, Value

__all__ = [
    "LineTooLong",
    "LiteralHeader",
    "ParseError",
    "Reader",
    "ValueParser",
    "parse_values",
]


class ParseError(ValueError):
    """Bytes that do not follow the IMAP grammar (the connection decides
    what that means: a protocol error for a client, a ``BAD`` for a server)."""


class LineTooLong(ParseError):
    """The non-literal part of a line passed ``max_line``."""


class LiteralHeader(NamedTuple):
    """A literal announced at the end of a fragment."""

    #: The number of octets that follow.
    size: int
    #: ``{n}``: the sender waits for a ``+`` (only client to server);
    #: ``{n+}`` (RFC 7888) does not.
    synchronizing: bool
    #: ``~{n}`` (RFC 3516 literal8): may contain NUL.
    binary: bool


# The tokens, for findall: groups 1 "(", 2 ")", 3 quoted content, 4 a
# literal header, 5 an atom (exactly one is non-empty, except for an empty
# quoted string). The "[...]" run stops at the next "[" or "]", so a line
# full of "[" costs one pass, and the quoted run has one way to match each
# octet.
_ATOM = rb'(?:[^\x00-\x20\x7f(){"\[]|\[[^\x00\[\]\r\n]*+\]|\[)++'
_QUOTED = rb'"((?:[^"\\\r\n]|\\[^\r\n])*+)"'
_LITERAL = rb"~?\{[0-9]{1,19}\+?\}"
_TOKENS = re.compile(rb" *+(?:(\()|(\))|" + _QUOTED + rb"|(" + _LITERAL + rb")|(" + _ATOM + rb"))")
# A whole fragment, checked in one pass before the tokens are read (findall
# skips what matches no token). Possessive quantifiers (Python 3.11) leave
# nothing to backtrack into: linear on any input. A literal header may only
# end the fragment.
_FRAGMENT = re.compile(
    rb"(?: *+(?:[()]|" + _QUOTED.replace(b"(", b"(?:", 1) + rb"|" + _ATOM + rb"))*+"
    rb"(?: *+" + _LITERAL + rb")? *+")
_LITERAL_PARTS = re.compile(rb"(~?)\{([0-9]+)(\+?)\}")
_SPACES = re.compile(rb" *")
_ESCAPE = re.compile(rb"\\(.)")


#: Atoms seen before, shared (they are immutable): FETCH item names and
#: flags repeat on every line. Bounded so odd input cannot grow it.
_ATOM_CACHE: dict[bytes, Value] = {}
_ATOM_CACHE_MAX = 4096


def _atom_value(raw: bytes) -> Value:
    """An atom token as a value: NIL, a number, or an :class:`Atom`."""
    cached = _ATOM_CACHE.get(raw)
    if cached is not None or raw in _ATOM_CACHE:
        return cached
    value: Value
    if raw.isdigit() and len(raw) <= 19:  # bytes.isdigit: ASCII digits only
        return int(raw)
    if len(raw) == 3 and raw.upper() == b"NIL":
        value = None
    else:
        value = Atom(raw.decode("utf-8", "surrogateescape"))
    if len(raw) <= 64 and len(_ATOM_CACHE) < _ATOM_CACHE_MAX:
        _ATOM_CACHE[raw] = value
    return value


def _quoted_value(raw: bytes) -> str:
    if b"\\" in raw:
        raw = _ESCAPE.sub(rb"\1", raw)
    return raw.decode("utf-8", "surrogateescape")


class ValueParser:
    """Values from line fragments, lists kept open across literals.

    Feed each fragment with :meth:`feed`; when it returns a
    :class:`LiteralHeader`, give the literal's octets to
    :meth:`add_literal`, then feed the next fragment. :meth:`finish` gives
    the top-level values once a fragment ends without a literal.

    Args:
        max_depth: How deeply lists may nest (BODYSTRUCTURE of nested
            messages is the deepest real data).
    """

    __slots__ = ("_max_depth", "_stack")

    def __init__(self, max_depth: int = 100) -> None:
        self._stack: list[list[Value]] = [[]]
        self._max_depth = max_depth

    @property
    def items(self) -> list[Value]:
        """The top-level values so far (lists still open are not in it yet)."""
        return self._stack[0]

    @property
    def depth(self) -> int:
        """How many lists are open."""
        return len(self._stack) - 1

    def feed(self, data: bytes, pos: int = 0, end: int | None = None) -> LiteralHeader | None:
        """Tokenize ``data[pos:end]``, a fragment without its CRLF.

        Returns:
            The literal header that ends the fragment, or None.

        Raises:
            ParseError: a token that is not IMAP, an unbalanced ``)``, too
                deep nesting, or a literal header that is not at the end.
        """
        end = len(data) if end is None else end
        if _FRAGMENT.fullmatch(data, pos, end) is None:
            raise ParseError(_what_is_wrong(data, pos, end))
        stack = self._stack
        top = stack[-1]
        for opening, closing, quoted, literal, atom in _TOKENS.findall(data, pos, end):
            if atom:
                top.append(_atom_value(atom))
            elif opening:
                if len(stack) > self._max_depth:
                    raise ParseError(f"lists nested deeper than {self._max_depth}")
                top = []
                stack.append(top)
            elif closing:
                if len(stack) == 1:
                    raise ParseError("')' without '('")
                done = tuple(stack.pop())
                top = stack[-1]
                top.append(done)
            elif literal:  # the last token (see _FRAGMENT)
                m = _LITERAL_PARTS.fullmatch(literal)
                assert m is not None
                return LiteralHeader(int(m.group(2)), not m.group(3), bool(m.group(1)))
            else:
                top.append(_quoted_value(quoted))
        return None

    def add_literal(self, data: bytes) -> None:
        """The octets of the literal the last fragment announced."""
        self._stack[-1].append(data)

    def finish(self) -> list[Value]:
        """The top-level values of a complete line.

        Raises:
            ParseError: a list is still open.
        """
        if len(self._stack) != 1:
            raise ParseError("unclosed '('")
        return self._stack[0]


def _what_is_wrong(data: bytes, pos: int, end: int) -> str:
    """Name the first octets no token explains (only on the error path)."""
    expected = pos
    for m in _TOKENS.finditer(data, pos, end):
        if m.start() != expected:
            break
        if m.group(4) and _SPACES.match(data, m.end(), end).end() != end:  # type: ignore[union-attr]
            return "a literal header must end the line"
        expected = m.end()
    return f"unexpected {data[expected:expected + 20]!r}"


def parse_values(data: bytes, max_depth: int = 100) -> list[Value]:
    """The values of one complete fragment without literals (response
    codes, test input).

    Raises:
        ParseError: not IMAP values, or a literal header in it.
    """
    parser = ValueParser(max_depth)
    if parser.feed(data) is not None:
        raise ParseError("a literal is not allowed here")
    return parser.finish()


#: The reader compacts its buffer only when this much has been consumed
#: (and at least half of it), so consuming many small lines from one big
#: chunk does not move the rest each time.
_COMPACT = 1 << 16
#: How much of a discarded over-long fragment is kept to find a literal
#: header at its end.
_TAIL = 32


class Reader:
    """Cuts received bytes into line fragments and literals.

    Args:
        max_line: The most non-literal octets one line may have, all its
            fragments together (:meth:`new_line` starts a count); None for
            no bound.
    """

    def __init__(self, max_line: int | None) -> None:
        self.max_line = max_line
        self._buf = bytearray()
        self._pos = 0
        self._scan = 0
        #: The peer closed its side (``receive_data(b"")``).
        self.eof = False
        #: Non-literal octets of the current line so far.
        self.line_bytes = 0
        self._lit_left = 0
        self._lit_store = True
        self._lit_chunks: list[bytes] = []
        self._in_literal = False
        self._discard_tail = b""

    # -- input ----------------------------------------------------------------------

    def feed(self, data: bytes) -> None:
        """Add received bytes; ``b""`` means end of input."""
        if not data:
            self.eof = True
            return
        if not isinstance(data, bytes):
            data = bytes(data)
        if self._in_literal and self._lit_left and self._pos == len(self._buf):
            # Literal octets straight from the wire: keep the chunk itself.
            take = min(self._lit_left, len(data))
            if self._lit_store:
                self._lit_chunks.append(data if take == len(data) else data[:take])
            self._lit_left -= take
            if take == len(data):
                return
            data = data[take:]
        if self._pos == len(self._buf) and self._buf:
            self._buf.clear()
            self._pos = self._scan = 0
        self._buf += data

    @property
    def buffered(self) -> int:
        """Octets received and not consumed."""
        return len(self._buf) - self._pos

    def peek(self, size: int) -> bytes:
        """Up to ``size`` buffered octets, not consumed (to name the tag of
        a line that is too long to read)."""
        return bytes(self._buf[self._pos:self._pos + size])

    def clear(self) -> None:
        """Drop everything buffered (STARTTLS: plaintext sent before the
        handshake must not be read as if it came over TLS)."""
        self._buf.clear()
        self._pos = self._scan = 0

    def _compact(self) -> None:
        pos = self._pos
        if pos == len(self._buf):
            self._buf.clear()
            self._pos = self._scan = 0
        elif pos > _COMPACT and pos * 2 > len(self._buf):
            del self._buf[:pos]
            self._scan -= pos
            self._pos = 0

    # -- lines ----------------------------------------------------------------------

    def new_line(self) -> None:
        """Start counting a new line's octets against ``max_line``."""
        self.line_bytes = 0

    def take_fragment(self) -> bytes | None:
        """The next fragment without its line ending, or None when it is
        not complete yet.

        Raises:
            LineTooLong: the line passed ``max_line`` (the octets stay
                buffered; call :meth:`discard_fragment` to skip them).
        """
        buf = self._buf
        nl = buf.find(b"\n", self._scan)
        limit = self.max_line
        if nl < 0:
            self._scan = len(buf)
            if limit is not None and self.line_bytes + len(buf) - self._pos > limit:
                raise LineTooLong(f"line longer than {limit} octets")
            return None
        start = self._pos
        if limit is not None and self.line_bytes + nl + 1 - start > limit:
            raise LineTooLong(f"line longer than {limit} octets")
        end = nl - 1 if nl > start and buf[nl - 1] == 0x0D else nl
        fragment = bytes(buf[start:end])
        self.line_bytes += nl + 1 - start
        self._pos = self._scan = nl + 1
        self._compact()
        return fragment

    def discard_fragment(self) -> bytes | None:
        """Skip the rest of the current fragment (after :class:`LineTooLong`
        or a refused command) without keeping it.

        Returns:
            The last few octets of the fragment (to find a literal header
            that ends it), or None when its end has not arrived yet.
        """
        buf = self._buf
        nl = buf.find(b"\n", self._pos)
        if nl < 0:
            self._discard_tail = (self._discard_tail + bytes(buf[self._pos:]))[-_TAIL:]
            self._pos = len(buf)
            self._compact()
            return None
        start = max(self._pos, nl - _TAIL - 1)
        tail = (self._discard_tail if start == self._pos else b"") + bytes(buf[start:nl])
        # The CR of the CRLF may have come in an earlier chunk, and so be at
        # the end of _discard_tail: strip it after the join (found by fuzz/:
        # a literal header then went unseen, depending on the chunking).
        if tail.endswith(b"\r"):
            tail = tail[:-1]
        tail = tail[-_TAIL:]
        self._discard_tail = b""
        self._pos = self._scan = nl + 1
        self._compact()
        return tail

    # -- literals -------------------------------------------------------------------

    def start_literal(self, size: int, *, store: bool = True) -> None:
        """The next ``size`` octets are a literal (``store=False``: skip them)."""
        self._in_literal = True
        self._lit_left = size
        self._lit_store = store
        self._lit_chunks = []

    @property
    def in_literal(self) -> bool:
        """A literal was started and not yet taken."""
        return self._in_literal

    def take_literal(self) -> bytes | None:
        """The whole literal once all its octets are in (``b""`` when it was
        skipped), else None."""
        left = self._lit_left
        if left:
            take = min(left, len(self._buf) - self._pos)
            if take:
                if self._lit_store:
                    self._lit_chunks.append(bytes(self._buf[self._pos:self._pos + take]))
                self._pos += take
                self._scan = self._pos
                self._lit_left = left = left - take
                self._compact()
            if left:
                return None
        self._in_literal = False
        chunks, self._lit_chunks = self._lit_chunks, []
        if len(chunks) == 1:
            return chunks[0]
        return b"".join(chunks)
