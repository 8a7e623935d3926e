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

from collections.abc import Iterable

from ._header_lexer import Lexer, for_humans, nolf, text

__all__ = ["envelope_from_fields", "parse_address_list"]

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
            None if route is None else text(route),
            None if mailbox is None else text(mailbox),
            None if domain is None else text(domain))


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
