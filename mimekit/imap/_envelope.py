"""IMAP ENVELOPE (RFC 3501 section 7.4.2) from a message's raw header bytes.

RFC 3501 section 9::

    envelope        = "(" env-date SP env-subject SP env-from SP
                      env-sender SP env-reply-to SP env-to SP env-cc SP
                      env-bcc SP env-in-reply-to SP env-message-id ")"
    env-from        = "(" 1*address ")" / nil      ; likewise sender ... bcc
    address         = "(" addr-name SP addr-adl SP addr-mailbox SP
                      addr-host ")"

The result is a nested tuple of ``None | str | int | tuple`` (None is NIL).
Strings are the header's *raw* text (RFC 2047 words stay encoded, as the RFC
intends: the client decodes them), decoded from bytes as UTF-8 with
``surrogateescape`` so that 8-bit bytes survive: the protocol encoder must
write them back with ``s.encode("utf-8", "surrogateescape")``.

Dovecot's output is the reference (the server's FETCH data must match it),
so this module follows Dovecot 2.3's header and address parsing rather than
mimekit's own typed fields (which decode and normalize):

* a header field is everything up to the first colon (trailing blanks
  dropped); a line without a colon is a field without a value, and the
  header block ends only at an empty line (so a junk line does not start
  the body, as it does in :mod:`mimekit.tree`);
* Date, Message-ID and In-Reply-To are the unfolded value with leading
  blanks dropped; Subject and display names are "for humans": line breaks
  removed, runs of blanks collapsed to one space, trimmed;
* string fields take the *last* occurrence, address fields are the
  concatenation of *all* occurrences; Sender and Reply-To default to From
  (RFC 3501: "the server MUST default ... to the value of the from field");
* address syntax (RFC 5322 section 3.4, with the obsolete forms of section
  4.4) is parsed leniently: a missing local part or domain becomes
  ``MISSING_MAILBOX`` / ``MISSING_DOMAIN``, a broken angle address gets the
  domain ``SYNTAX_ERROR``, a comment after a bare addr-spec is its display
  name, and a group is ``(NIL NIL "name" NIL)`` ... ``(NIL NIL NIL NIL)``.

Everything here runs in time linear in the header size: every loop advances
the position, and nothing backtracks further than one address.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = [
    "HeaderFields",
    "envelope_from_fields",
    "for_humans",
    "nolf",
    "parse_address_list",
    "split_header_fields",
]

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


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def nolf(raw: bytes) -> str:
    """The value with every CR and LF removed (Dovecot's
    ``imap_append_nstring_nolf``); other bytes, blanks included, are kept."""
    if b"\r" in raw or b"\n" in raw:
        raw = raw.replace(b"\r", b"").replace(b"\n", b"")
    return _text(raw)


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
    return _text(raw)


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


# -- addresses -------------------------------------------------------------------------

#: One envelope address: ``(name, adl, mailbox, host)`` as raw bytes or None.
RawAddress = tuple[bytes | None, bytes | None, bytes | None, bytes | None]


class _Addr:
    __slots__ = ("domain", "invalid", "mailbox", "name", "route")

    def __init__(self) -> None:
        self.name: bytes | None = None
        self.route: bytes | None = None
        self.mailbox: bytes | None = None
        self.domain: bytes | None = None
        self.invalid = False


class _AddressParser:
    """Dovecot's ``message-address.c`` grammar, with ``fill_missing`` on."""

    def __init__(self, data: bytes) -> None:
        self.lex = Lexer(data)
        self.out: list[RawAddress] = []
        self.addr = _Addr()

    def _add(self) -> None:
        a = self.addr
        self.out.append((a.name, a.route, a.mailbox, a.domain))
        self.addr = _Addr()

    def _add_fixed(self) -> None:
        a = self.addr
        if a.mailbox is None:
            a.mailbox = b"MISSING_MAILBOX"
        if not a.domain:
            a.domain = b"MISSING_DOMAIN"
        self._add()

    def _local_part(self) -> int:
        lex = self.lex
        buf: list[bytes] = []
        ret = lex.quoted_string(buf) if lex.peek() == 0x22 else lex.dot_atom(buf)
        if ret < 0:
            return -1
        self.addr.mailbox = b"".join(buf)
        return ret

    def _domain(self) -> int:
        buf: list[bytes] = []
        ret = self.lex.domain(buf)
        if ret < 0:
            return -1
        self.addr.domain = b"".join(buf)
        return ret

    def _domain_list(self) -> int:
        # obs-domain-list = "@" domain *(*(CFWS / ",") [CFWS] "@" domain)
        lex = self.lex
        buf: list[bytes] = []
        while True:
            if lex.pos >= lex.end:
                return 0
            if lex.peek() != 0x40:
                break
            if buf:
                buf.append(b",")
            buf.append(b"@")
            ret = lex.domain(buf)
            if ret <= 0:
                return ret
            while lex.skip_lwsp() > 0 and lex.peek() == 0x2C:
                lex.pos += 1
        self.addr.route = b"".join(buf)
        return 1

    def _angle_addr(self) -> int:
        # angle-addr = "<" [ "@" route ":" ] local-part "@" domain ">"
        lex = self.lex
        lex.pos += 1
        if lex.skip_lwsp() <= 0:
            return -1
        if lex.peek() == 0x40:
            if self._domain_list() > 0 and lex.peek() == 0x3A:
                lex.pos += 1
            else:
                self.addr.route = b"INVALID_ROUTE"
                if lex.pos >= lex.end:
                    return -1
            if lex.skip_lwsp() <= 0:
                return -1
        if lex.peek() != 0x3E:
            if self._local_part() <= 0:
                return -1
            if lex.peek() == 0x40 and self._domain() <= 0:
                return -1
        if lex.peek() != 0x3E:
            return -1
        lex.pos += 1
        return lex.skip_lwsp()

    def _name_addr(self) -> int:
        lex = self.lex
        buf: list[bytes] = []
        if lex.phrase(buf) <= 0 or lex.peek() != 0x3C:
            return -1
        name = b"".join(buf)
        self.addr.name = name if name else None
        if self._angle_addr() < 0:
            self.addr.domain = b"SYNTAX_ERROR"
            self.addr.invalid = True
        return 1 if lex.pos < lex.end else 0

    def _addr_spec(self) -> int:
        lex = self.lex
        lex.last_comment = b""
        quoted = lex.peek() == 0x22
        buf: list[bytes] = []
        ret = lex.quoted_string(buf) if quoted else lex.dot_atom(buf)
        if ret >= 0:
            self.addr.mailbox = b"".join(buf)
        else:
            ret = -1
        if ret <= 0:
            self.addr.invalid = True
        ret2 = -2
        if ret != 0 and lex.pos < lex.end and lex.peek() == 0x40:
            ret2 = self._domain()
            if ret2 <= 0:
                ret = ret2
        if lex.last_comment:
            self.addr.name = lex.last_comment
        elif ret2 == -2:
            # A word without "@domain" and without a comment: a lone word
            # is a local part, but more words make it a display name.
            buf.append(b" ")
            before = len(b"".join(buf))
            lex.phrase(buf)
            joined = b"".join(buf)
            if len(joined) != before:
                self.addr.mailbox = None
                self.addr.name = joined
            elif not quoted:
                self.addr.domain = b""
            self.addr.invalid = True
            ret = -1
        return ret

    def _mailbox(self) -> int:
        lex = self.lex
        start = lex.pos
        ret = self._name_addr()
        if ret < 0:
            lex.pos = start
            self.addr = _Addr()
            ret = self._addr_spec()
            a = self.addr
            if a.invalid and a.name is None and a.mailbox is not None and a.domain is None:
                a.name, a.mailbox = a.mailbox, None
        self._add_fixed()
        return ret

    def _group(self) -> int:
        lex = self.lex
        buf: list[bytes] = []
        if lex.phrase(buf) <= 0 or lex.peek() != 0x3A:
            return -1
        lex.pos += 1
        ret = lex.skip_lwsp()
        self.addr.mailbox = b"".join(buf)
        self._add()
        if ret > 0 and lex.peek() != 0x3B:
            while True:
                self._mailbox()
                if lex.pos >= lex.end or lex.peek() != 0x2C:
                    break
                lex.pos += 1
                if lex.skip_lwsp() <= 0:
                    ret = -1
                    break
        if ret >= 0:
            if lex.pos >= lex.end or lex.peek() != 0x3B:
                ret = -1
            else:
                lex.pos += 1
                ret = lex.skip_lwsp()
        self._add()
        return 0 if ret == 0 else 1

    def _address(self) -> int:
        lex = self.lex
        start = lex.pos
        ret = self._group()
        if ret < 0:
            lex.pos = start
            self.addr = _Addr()
            ret = self._mailbox()
        return ret

    def parse(self) -> list[RawAddress]:
        lex = self.lex
        if lex.skip_lwsp() <= 0:
            return self.out
        while True:
            if self._address() == 0:
                break
            if lex.pos >= lex.end or lex.peek() != 0x2C:
                break
            lex.pos += 1
            ret = lex.skip_lwsp()
            if ret <= 0:
                if ret < 0:
                    self._add_fixed()  # ends with garbage
                break
        return self.out


def parse_address_list(value: bytes) -> list[RawAddress]:
    """Parse an address header value into envelope addresses (raw bytes).

    Groups appear as ``(None, None, name, None)`` ... ``(None, None, None,
    None)``; see the module docstring for the error recovery.
    """
    return _AddressParser(value).parse()


# -- the envelope --------------------------------------------------------------------

_STRING_FIELDS = {b"date": 0, b"subject": 1, b"in-reply-to": 8, b"message-id": 9}
_ADDRESS_FIELDS = {b"from": 2, b"sender": 3, b"reply-to": 4, b"to": 5, b"cc": 6, b"bcc": 7}

#: The value of one envelope slot: a str, NIL, or a list of addresses.
EnvelopeItem = str | None | tuple[tuple[str | None, ...], ...]


def _address_tuple(addr: RawAddress) -> tuple[str | None, ...]:
    name, route, mailbox, domain = addr
    return (None if name is None else for_humans(name),
            None if route is None else _text(route),
            None if mailbox is None else _text(mailbox),
            None if domain is None else _text(domain))


def envelope_from_fields(fields: Iterable[tuple[bytes, bytes]]) -> tuple[EnvelopeItem, ...]:
    """The ENVELOPE of one message from its header fields
    (:func:`split_header_fields`).

    Returns:
        A 10-tuple: date, subject, from, sender, reply-to, to, cc, bcc,
        in-reply-to, message-id; NIL as None, address lists as tuples of
        4-tuples.
    """
    strings: list[bytes | None] = [None] * 10
    addresses: list[list[RawAddress] | None] = [None] * 10
    for name, value in fields:
        lname = name.lower()
        slot = _STRING_FIELDS.get(lname)
        if slot is not None:
            strings[slot] = value
            continue
        slot = _ADDRESS_FIELDS.get(lname)
        if slot is not None:
            found = parse_address_list(value)
            if found:
                have = addresses[slot]
                if have is None:
                    addresses[slot] = found
                else:
                    have.extend(found)
    if addresses[3] is None:
        addresses[3] = addresses[2]
    if addresses[4] is None:
        addresses[4] = addresses[2]
    out: list[EnvelopeItem] = []
    for i in range(10):
        if 2 <= i <= 7:
            addrs = addresses[i]
            out.append(None if not addrs else tuple(_address_tuple(a) for a in addrs))
            continue
        raw = strings[i]
        if raw is None:
            out.append(None)
        elif i == 1:
            out.append(for_humans(raw))
        else:
            out.append(nolf(raw))
    return tuple(out)
