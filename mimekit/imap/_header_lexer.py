"""Dovecot's reading of a raw header block, shared by ENVELOPE and
BODYSTRUCTURE: the fields of a block (:func:`split_header_fields`), the
unfolded and "for humans" forms of a value, and the RFC 5322 token
:class:`Lexer` the address and Content-* parsers read with.

As :mod:`._envelope` explains, these follow Dovecot 2.3 rather than
mimekit's typed fields: a header field is everything up to the first colon
(trailing blanks dropped), a line without a colon is a field without a
value, and the block ends only at an empty line. Everything runs in time
linear in the header size.
"""

from __future__ import annotations

import re

__all__ = ["HeaderFields", "Lexer", "for_humans", "nolf", "split_header_fields", "text"]

#: ``(name, value)`` pairs in order; both raw bytes, the value unfolded as
#: Dovecot keeps it (continuation lines joined with LF).
HeaderFields = list[tuple[bytes, bytes]]

# -- the header block --------------------------------------------------------------

_LWSP = b" \t"
#: One field: the first line up to its first colon (the name), the colon,
#: the rest of that line, then every continuation line (starting with SP
#: or HTAB). Each piece stops at a different byte, so matching is linear.
_FIELD = re.compile(rb"([^:\n]*)(:?)([^\n]*)((?:\n[ \t][^\n]*)*)(\n|\Z)")


def split_header_fields(block: bytes) -> HeaderFields:
    """Split a header block (up to and including its empty line, if any) into
    fields the way Dovecot's ``message-header-parser`` does.

    A field is a line plus the lines after it that start with SP or HTAB. Its
    name is what comes before the first colon of its first line, blanks before
    the colon dropped; a line without a colon is a field with an empty value
    whose name is the whole line. The value is what follows the colon with the
    leading blanks skipped (all of them, unless the line holds nothing else,
    then only one), and each continuation line is appended after an LF.
    """
    fields: HeaderFields = []
    pos = 0
    end = len(block)
    match = _FIELD.match
    while pos < end:
        if block.startswith(b"\n", pos) or block.startswith(b"\r\n", pos):
            break  # the empty line: end of the header block
        m = match(block, pos)
        assert m is not None  # every piece may be empty
        name, colon, first, more, nl = m.groups()
        if nl and more == b"" and first.endswith(b"\r"):
            first = first[:-1]
        if not colon:
            fields.append(((name + first).rstrip(b"\r"), b""))
        else:
            stripped = first.lstrip(_LWSP)
            first = stripped if stripped else first[1:]
            if more:
                value = (first + more).replace(b"\r\n", b"\n")
                if nl and value.endswith(b"\r"):
                    value = value[:-1]
            else:
                value = first
            fields.append((name.rstrip(_LWSP), value))
        if m.end() == pos:  # pragma: no cover - the pattern always advances here
            break
        pos = m.end()
    return fields


# -- strings as Dovecot writes them --------------------------------------------------


def text(raw: bytes) -> str:
    """Raw header bytes as a str, 8-bit bytes kept as surrogate escapes."""
    return raw.decode("utf-8", "surrogateescape")


def nolf(raw: bytes) -> str:
    """The value with every CR and LF removed (Dovecot's
    ``imap_append_nstring_nolf``); other bytes, blanks included, are kept."""
    if b"\r" in raw or b"\n" in raw:
        raw = raw.replace(b"\r", b"").replace(b"\n", b"")
    return text(raw)


_BLANKS = re.compile(rb"[ \t]+")


def for_humans(raw: bytes) -> str:
    """Dovecot's ``imap_append_string_for_humans``: CR and LF removed, each
    run of SP/HTAB made one space, leading and trailing blanks dropped, and
    NUL shown as byte 0x80 (an IMAP string cannot hold NUL)."""
    if b"\r" in raw or b"\n" in raw:
        raw = raw.replace(b"\r", b"").replace(b"\n", b"")
    raw = _BLANKS.sub(b" ", raw).strip(b" ")
    if b"\x00" in raw:
        raw = raw.replace(b"\x00", b"\x80")
    return text(raw)


# -- RFC 5322 lexical tokens, Dovecot's rfc822-parser ---------------------------------------

#: atext (RFC 5322 section 3.2.3) plus every 8-bit byte; "/", "=" and "?" are
#: atext but MIME tspecials (RFC 2045 section 5.1), so not token characters.
_ATEXT = frozenset(
    b"!#$%&'*+-/=?^_`{|}~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
) | frozenset(range(0x80, 0x100))
_TOKEN = _ATEXT - frozenset(b"/=?")
_SKIPPED = frozenset(b" \t\r\n")


class Lexer:
    """A cursor over a header value with Dovecot's RFC 822 token rules.

    Methods return 1 when input is left after the token (and the blanks and
    comments after it), 0 at the end of the input, -1 on a syntax error,
    like Dovecot's ``rfc822_*`` functions, so that the address grammar below
    can follow Dovecot's error recovery exactly.
    """

    __slots__ = ("data", "end", "last_comment", "pos")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0
        self.end = len(data)
        self.last_comment = b""

    def peek(self) -> int:
        """The current byte, or -1 at the end."""
        return self.data[self.pos] if self.pos < self.end else -1

    def skip_comment(self) -> int:
        """Skip a ``(comment)`` (nested, with quoted pairs); remember its text."""
        data, end = self.data, self.end
        level = 1
        self.pos += 1
        start = self.pos
        out: list[bytes] = []
        while self.pos < end:
            c = data[self.pos]
            if c == 0x28:
                level += 1
            elif c == 0x29:
                level -= 1
                if level == 0:
                    out.append(data[start:self.pos])
                    self.last_comment = b"".join(out)
                    self.pos += 1
                    return 1 if self.pos < end else 0
            elif c == 0x5C:
                out.append(data[start:self.pos])
                start = self.pos + 1
                self.pos += 1
                if self.pos >= end:
                    return -1
            self.pos += 1
        return -1

    def skip_lwsp(self) -> int:
        """Skip blanks, line breaks and comments (CFWS)."""
        data, end = self.data, self.end
        while self.pos < end:
            c = data[self.pos]
            if c in _SKIPPED:
                self.pos += 1
                continue
            if c != 0x28:
                break
            if self.skip_comment() < 0:
                return -1
        return 1 if self.pos < end else 0

    def _run(self, chars: frozenset[int], extra: int = -2) -> bytes:
        data, end, pos = self.data, self.end, self.pos
        start = pos
        while pos < end and (data[pos] in chars or data[pos] == extra):
            pos += 1
        self.pos = pos
        return data[start:pos]

    def atom(self, out: list[bytes]) -> int:
        """``atom = [CFWS] 1*atext [CFWS]``."""
        if self.pos >= self.end or self.data[self.pos] not in _ATEXT:
            return -1
        out.append(self._run(_ATEXT))
        return 0 if self.pos >= self.end else self.skip_lwsp()

    def dot_atom(self, out: list[bytes]) -> int:
        """``dot-atom = [CFWS] 1*atext *("." 1*atext) [CFWS]``, allowing CFWS
        around the dots (RFC 822) and empty atoms between them."""
        if self.pos >= self.end or self.data[self.pos] not in _ATEXT:
            return -1
        while True:
            out.append(self._run(_ATEXT))
            if self.pos >= self.end:
                return 0
            ret = self.skip_lwsp()
            if ret <= 0:
                return ret
            if self.data[self.pos] != 0x2E:
                return 1
            self.pos += 1
            out.append(b".")
            ret = self.skip_lwsp()
            if ret <= 0:
                return ret

    def mime_token(self, out: list[bytes]) -> int:
        """A MIME token (RFC 2045 section 5.1), dots allowed; may be empty."""
        out.append(self._run(_TOKEN, 0x2E))
        return 0 if self.pos >= self.end else self.skip_lwsp()

    def quoted_string(self, out: list[bytes]) -> int:
        """``quoted-string``: quoted pairs undone, folding line breaks removed."""
        data, end = self.data, self.end
        self.pos += 1
        start = self.pos
        while self.pos < end:
            c = data[self.pos]
            if c == 0x22:
                out.append(data[start:self.pos])
                self.pos += 1
                return self.skip_lwsp()
            if c == 0x0A:
                stop = self.pos
                if stop > start and data[stop - 1] == 0x0D:
                    stop -= 1
                out.append(data[start:stop])
                start = self.pos + 1
            elif c == 0x5C:
                self.pos += 1
                if self.pos >= end:
                    return -1
                out.append(data[start:self.pos - 1])
                start = self.pos
            self.pos += 1
        return -1

    def phrase(self, out: list[bytes]) -> int:
        """``phrase = 1*word / obs-phrase``: words joined by one space."""
        if self.pos >= self.end:
            return 0
        if self.data[self.pos] == 0x2E:
            return -1
        while True:
            if self.data[self.pos] == 0x22:
                ret = self.quoted_string(out)
            else:
                out.append(self._run(_ATEXT, 0x2E))
                ret = 0 if self.pos >= self.end else self.skip_lwsp()
            if ret <= 0:
                return ret
            c = self.data[self.pos]
            if c not in _ATEXT and c != 0x22 and c != 0x2E:
                break
            out.append(b" ")
        return self.skip_lwsp()

    def domain(self, out: list[bytes]) -> int:
        """``"@" domain``: a dot-atom or a ``[domain-literal]`` kept as written."""
        self.pos += 1
        if self.skip_lwsp() <= 0:
            return -1
        if self.data[self.pos] != 0x5B:
            return self.dot_atom(out)
        data, end = self.data, self.end
        start = self.pos
        while self.pos < end:
            c = data[self.pos]
            if c == 0x5C:
                self.pos += 1
                if self.pos >= end:
                    break
            elif c == 0x5D:
                self.pos += 1
                out.append(data[start:self.pos])
                return self.skip_lwsp()
            self.pos += 1
        return -1
