"""Address-list parsing (RFC 5322 section 3.4 and 4.4, RFC 6532, RFC 2047).

ABNF (RFC 5322 section 3.4, 3.4.1 and 4.4)::

    address-list    =   (address *("," address)) / obs-addr-list
    obs-addr-list   =   *([CFWS] ",") address *("," [address / CFWS])
    address         =   mailbox / group
    group           =   display-name ":" [group-list] ";" [CFWS]
    group-list      =   mailbox-list / CFWS / obs-group-list
    mailbox         =   name-addr / addr-spec
    name-addr       =   [display-name] angle-addr
    angle-addr      =   [CFWS] "<" addr-spec ">" [CFWS] / obs-angle-addr
    obs-angle-addr  =   [CFWS] "<" obs-route addr-spec ">" [CFWS]
    obs-route       =   obs-domain-list ":"
    obs-domain-list =   *(CFWS / ",") "@" domain *("," [CFWS] ["@" domain])
    display-name    =   phrase
    addr-spec       =   local-part "@" domain
    local-part      =   dot-atom / quoted-string / obs-local-part
    obs-local-part  =   word *("." word)
    domain          =   dot-atom / domain-literal / obs-domain
    obs-domain      =   atom *("." atom)

Leniency, each case recorded as a defect, and the security rule behind it:
**an element whose structure is ambiguous yields no address at all**. An
unclosed quote, comment, angle bracket or domain literal, a stray ``)``,
``>`` or ``]``, a second ``@`` (``alice@example.org@evil.test``) or junk
after an address drops that element (INVALID_ADDRESS) instead of guessing,
so a checker can never be shown an address that a strict reader (or the MTA
that delivers the message) would read differently. This is CVE-2023-27043's
lesson. What is *not* ambiguous is accepted with a defect:

* RFC 2047 encoded words inside quoted display names (Outlook, Gmail);
* unquoted specials in a display name: ``phil@example.com <phil@...>`` or
  ``J. Smith <...>`` (obs-phrase);
* a display name after the address: ``<a@b.c> Name``;
* ``;`` outside a group, taken as a separator (Outlook): every address is
  still returned, none is hidden;
* a missing ``>`` at the end of the element, but only when no ``>`` follows
  the ``,`` or ``;`` that ended it: in ``Alice <alice@example.org,
  bob@evil.test>`` the brackets enclose both addresses (CPython reads both,
  a strict reader neither), so the whole element up to that ``>`` is dropped;
* an address without a domain (``undisclosed-recipients``, ``<postmaster>``):
  a :class:`Mailbox` whose ``domain`` is ``""``.

Control characters (C0 and DEL) are never atext: in a domain (domain
literals included) or an unquoted local part they drop the element. In a
quoted local part they are obs-qtext, accepted with an OBSOLETE_SYNTAX defect,
except NUL, CR and LF, which drop it. A display name holding CR, LF or NUL
(typically decoded from an encoded word) is kept as decoded, with an
INVALID_ADDRESS defect, so that a checker knows the name is hostile.

When a mailbox has no display name, the text of the comment after it
becomes the name (``user@host (Real Name)``, the RFC 822 convention), else
that of a comment before ``<``.
"""

from __future__ import annotations

import re

from .._defects import Defect, DefectKind
from ..codecs import decode_encoded_words
from ._addrtypes import (
    AddressList,
    Group,
    Mailbox,
    make_address_list,
    make_mailbox,
    make_simple_mailbox,
)
from ._lexer import (
    ANGLE_CLOSE,
    ANGLE_OPEN,
    AT,
    COLON,
    COMMA,
    COMMENT,
    DOMAIN_LITERAL,
    QUOTED,
    SEMICOLON,
    WORD,
    Token,
    is_dot_atom,
    tokenize,
)

__all__ = ["parse_address_list", "parse_address_list_slow", "parse_mailbox"]

_INVALID = DefectKind.INVALID_ADDRESS
_OBSOLETE = DefectKind.OBSOLETE_SYNTAX
_PHRASE_KINDS = frozenset((WORD, QUOTED, COMMENT))
_STOP = frozenset((COMMA, SEMICOLON))
_ANGLES = frozenset((ANGLE_OPEN, ANGLE_CLOSE))
# C0 controls and DEL, tab excepted (WSP, allowed as FWS in quoted strings
# and literals; it never reaches a word). Not atext: the lexer lets them into
# words so that the parser can decide (see _lexer's module doc).
_CTL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
# In a quoted string, obs-qtext allows the other controls; never these.
_BREAKING = re.compile(r"[\r\n\x00]")

# --- fast path --------------------------------------------------------------
# The common shapes, one item at a time: ``a@b.c``, ``Name Words <a@b.c>``,
# ``"Quoted Name" <a@b.c>``, separated by commas. Every construct here is one
# the full parser reads the same way without a defect (the Hypothesis test
# ``test_fast_path_agrees`` checks it); anything else falls through.
_AT = r"[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~\x80-\U0010ffff]"
_DA = rf"{_AT}+(?:\.{_AT}+)*"
_FAST_ITEM = re.compile(
    rf'[ \t]*(?:(?:({_AT}+(?: {_AT}+)*)|"([^"\\\x00-\x1f\x7f]*)")?[ \t]*<({_DA})@({_DA})>'
    rf"|({_DA})@({_DA}))[ \t]*(?:(,)|\Z)"
)


def _check_name(name: str, offset: int, defects: list[Defect]) -> None:
    """Flag a display name holding CR, LF or NUL.

    The name is kept (it is what the sender encoded), but a program that
    prints it or copies it into another header must be warned.
    """
    m = _BREAKING.search(name)
    if m is not None:
        detail = f"display name holds U+{ord(m.group()):04X} (a line break or NUL)"
        defects.append(Defect(kind=_INVALID, offset=offset, detail=detail))


def _decode(text: str, offset: int, defects: list[Defect]) -> str:
    """RFC 2047-decode a display name; defects are placed at ``offset``."""
    decoded, found = decode_encoded_words(text)
    for d in found:
        defects.append(Defect(kind=d.kind, offset=offset, detail=d.detail))
    _check_name(decoded, offset, defects)
    return decoded


def _fast(text: str) -> tuple[AddressList, list[Defect]] | None:
    items: list[Mailbox | Group] = []
    defects: list[Defect] = []
    pos = 0
    match = _FAST_ITEM.match
    while True:
        m = match(text, pos)
        if m is None:
            return None
        local = m.group(3)
        if local is not None:
            name = m.group(1)
            if name is None:
                name = m.group(2)
                if name is None:
                    name = ""
                elif "=?" in name:
                    name = _decode(name, m.start(2) - 1, defects)
            elif "=?" in name:
                name = _decode(name, m.start(1), defects)
            items.append(make_simple_mailbox(name, local, m.group(4)))
        else:
            items.append(make_simple_mailbox("", m.group(5), m.group(6)))
        if m.group(7) is None:
            return make_address_list(items), defects
        pos = m.end()


def parse_address_list(text: str) -> tuple[AddressList, list[Defect]]:
    """Parse the value of an address field (From, To, Cc, Reply-To...).

    Args:
        text: The unfolded field value; surrounding whitespace is fine.

    Returns:
        ``(addresses, defects)``. Never raises: malformed elements are left
        out and recorded as INVALID_ADDRESS defects (see the module doc for
        what is tolerated). Empty or all-CFWS text gives an empty list.
    """
    fast = _fast(text)
    if fast is not None:
        return fast
    return parse_address_list_slow(text)


def parse_address_list_slow(text: str) -> tuple[AddressList, list[Defect]]:
    """The full tokenizer-based parser behind :func:`parse_address_list`."""
    parser = _Parser(text)
    return make_address_list(parser.address_list()), parser.defects


def parse_mailbox(text: str) -> tuple[Mailbox | None, list[Defect]]:
    """Parse a field holding one mailbox (RFC 5322 ``mailbox``, e.g. Sender).

    Returns:
        ``(mailbox, defects)``: the first mailbox found (a group's first
        member if need be, with a defect), ``None`` when there is none.
        More than one address also gives a defect.
    """
    addrs, defects = parse_address_list(text)
    if not addrs:
        return None, defects
    first = addrs[0]
    if len(addrs) > 1:
        defects.append(
            Defect(
                kind=_INVALID,
                offset=-1,
                detail="more than one address where one mailbox is expected",
            )
        )
    if isinstance(first, Group):
        defects.append(Defect(kind=_INVALID, offset=-1, detail="group where a mailbox is expected"))
        return (first.mailboxes[0] if first.mailboxes else None), defects
    return first, defects


class _Fail(Exception):
    """Internal: the current element is malformed (never escapes the parser)."""

    def __init__(self, index: int, detail: str) -> None:
        self.index = index
        self.detail = detail


class _Parser:
    """Recursive-descent parser over the token list; one instance per field."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.toks: list[Token] = tokenize(text)
        self.n = len(self.toks)
        self.i = 0
        self.defects: list[Defect] = []

    # --- helpers ---------------------------------------------------------
    def _kind(self, j: int) -> str:
        return self.toks[j][0] if j < self.n else ""

    def _offset(self, j: int) -> int:
        return self.toks[j][2] if j < self.n else len(self.text)

    def _defect(self, kind: DefectKind, j: int, detail: str) -> None:
        self.defects.append(Defect(kind=kind, offset=self._offset(j), detail=detail))

    def _skip_comments(self, j: int, into: list[str] | None = None) -> int:
        toks, n = self.toks, self.n
        while j < n and toks[j][0] == COMMENT:
            if toks[j][4]:
                raise _Fail(j, "unterminated or too deeply nested comment")
            if into is not None:
                into.append(toks[j][1])
            j += 1
        return j

    def _phrase(self, lo: int, hi: int) -> str:
        """Join the words of ``toks[lo:hi]`` into a display name (RFC 5322 3.2.5).

        Words are joined with one space where the source had whitespace or a
        comment between them, and RFC 2047 words are decoded (also inside
        quoted strings: a deviation every mail client makes).
        """
        parts: list[str] = []
        gap = False
        obsolete = False
        for j in range(lo, hi):
            kind, value, _start, ws, _bad = self.toks[j]
            if kind == COMMENT:
                gap = True
                continue
            if parts and (gap or ws):
                parts.append(" ")
            if kind == WORD and "." in value:
                obsolete = True
            parts.append(value)
            gap = False
        name = "".join(parts)
        if obsolete:
            self._defect(_OBSOLETE, lo, "unquoted '.' in a display name (obs-phrase)")
        if "=?" in name:
            name = _decode(name, self._offset(lo), self.defects)
        else:
            _check_name(name, self._offset(lo), self.defects)
        return name

    def _comment_name(self, comments: list[str], at: int) -> str:
        name = " ".join(c.strip(" \t") for c in comments if c.strip(" \t"))
        if "=?" in name:
            name = _decode(name, self._offset(at), self.defects)
        else:
            _check_name(name, self._offset(at), self.defects)
        return name

    def _angle_close_after(self, j: int) -> int:
        """Index of a ``>`` after ``toks[j]`` (a ``,`` or ``;``) before any ``<``, else -1.

        Linear overall: a scan starts only at an element whose ``<`` is
        unclosed and stops at the next ``<`` or ``>``, so the token ranges
        scanned for different elements do not overlap.
        """
        toks, n = self.toks, self.n
        k = j + 1
        while k < n and toks[k][0] not in _ANGLES:
            k += 1
        return k if k < n and toks[k][0] == ANGLE_CLOSE else -1

    def _recover(self, j: int) -> int:
        """Skip to the next ``,`` or ``;`` (the end of a malformed element)."""
        toks, n = self.toks, self.n
        while j < n and toks[j][0] not in _STOP:
            j += 1
        return j

    # --- grammar ---------------------------------------------------------
    def address_list(self) -> list[Mailbox | Group]:
        items: list[Mailbox | Group] = []
        toks, n = self.toks, self.n
        expect_item = True  # at the start, or right after a separator
        while self.i < n:
            kind = toks[self.i][0]
            if kind in (COMMA, SEMICOLON):
                if kind == SEMICOLON:
                    self._defect(_INVALID, self.i, "';' outside a group, read as ','")
                elif expect_item:
                    self._defect(_OBSOLETE, self.i, "empty element in address list")
                self.i += 1
                expect_item = True
                continue
            if not expect_item:
                self._defect(_INVALID, self.i, "missing ',' between addresses")
            item = self._element(in_group=False)
            if item is not None:
                items.append(item)
            expect_item = False
        if expect_item and items:
            self._defect(_OBSOLETE, n - 1, "trailing ',' in address list")
        return items

    def _element(self, in_group: bool) -> Mailbox | Group | None:
        """Parse one address; leave ``self.i`` at ``,``/``;``/end (or after a group)."""
        start = self.i
        try:
            return self._element_inner(start, in_group)
        except _Fail as exc:
            self._defect(_INVALID, exc.index, exc.detail)
            self.i = self._recover(max(exc.index, start))
            return None

    def _element_inner(self, start: int, in_group: bool) -> Mailbox | Group | None:
        toks, n = self.toks, self.n
        j = start
        while j < n and toks[j][0] in _PHRASE_KINDS and not toks[j][4]:
            j += 1
        kind = self._kind(j)
        if kind == ANGLE_OPEN:
            return self._name_addr(start, j)
        if kind == AT:
            return self._bare_addr_spec(start, j)
        if kind == COLON:
            if in_group:
                raise _Fail(j, "group inside a group")
            return self._group(start, j)
        if kind in _STOP or kind == "":
            return self._no_address(start, j, in_group)
        if j < n and toks[j][4]:
            raise _Fail(j, "unterminated quoted string, comment or domain literal")
        raise _Fail(j, f"unexpected {toks[j][1][:20]!r}")

    def _no_address(self, lo: int, hi: int, in_group: bool) -> Mailbox | None:
        """An element without ``@``, ``<`` or ``:``."""
        self.i = hi
        words = [t for t in self.toks[lo:hi] if t[0] != COMMENT]
        if not words:
            # group-list = mailbox-list / CFWS: comments alone are fine there.
            if not in_group:
                self._defect(_OBSOLETE, lo, "empty element (only comments) in address list")
            return None
        if len(words) == 1 and words[0][0] == WORD:
            # A bare local part: "undisclosed-recipients", "postmaster".
            comments = [t[1] for t in self.toks[lo:hi] if t[0] == COMMENT]
            self._defect(_INVALID, lo, f"address {words[0][1]!r} has no domain")
            return make_mailbox(self._comment_name(comments, lo), words[0][1], "")
        self._defect(_INVALID, lo, "display name without an address")
        return None

    def _local_part(self, lo: int, hi: int) -> str:
        """Join ``toks[lo:hi]`` (words, quoted strings, comments) as a local part."""
        parts: list[str] = []
        prev_dot = True  # a word may start the local part
        obsolete = False
        toks = self.toks
        for j in range(lo, hi):
            kind, value, _start, ws, bad = toks[j]
            if kind == COMMENT:
                if bad:
                    raise _Fail(j, "unterminated comment")
                continue
            if parts:
                # obs-local-part = word *("." word): two words must meet at a dot.
                if not prev_dot and not (kind == WORD and value.startswith(".")):
                    raise _Fail(j, "words without '.' between them in a local part")
                if ws or kind == QUOTED or toks[j - 1][0] != kind:
                    obsolete = True
            elif kind == QUOTED and bad:
                raise _Fail(j, "unterminated quoted string")
            ctl = _CTL.search(value)
            if ctl is not None:
                code = f"U+{ord(ctl.group()):04X}"
                if kind == WORD or _BREAKING.search(value) is not None:
                    raise _Fail(j, f"control character {code} in a local part")
                self._defect(_OBSOLETE, j, f"control character {code} in a quoted local part")
            parts.append(value)
            prev_dot = kind == WORD and value.endswith(".")
        if not parts:
            raise _Fail(lo, "empty local part")
        local = "".join(parts)
        if not obsolete and toks[lo][0] == WORD and not is_dot_atom(local):
            self._defect(_INVALID, lo, f"local part {local!r} is not a dot-atom")
        if obsolete:
            self._defect(_OBSOLETE, lo, "local part with CFWS or mixed quoting (obs-local-part)")
        return local

    def _no_ctl(self, value: str, j: int) -> None:
        """Refuse a control character in a domain (never atext, nor dtext to
        a strict reader; and nothing can deliver to such a name)."""
        ctl = _CTL.search(value)
        if ctl is not None:
            raise _Fail(j, f"control character U+{ord(ctl.group()):04X} in a domain")

    def _domain(self, j: int, comments: list[str]) -> tuple[str, int]:
        """Parse a domain starting at ``toks[j]``; return it and the next index."""
        toks, n = self.toks, self.n
        j = self._skip_comments(j)
        if j < n and toks[j][0] == DOMAIN_LITERAL:
            if toks[j][4]:
                raise _Fail(j, "unterminated domain literal")
            dlit = toks[j][1]
            self._no_ctl(dlit, j)
            return dlit, self._skip_comments(j + 1, comments)
        parts: list[str] = []
        obsolete = False
        while j < n:
            kind, value, _start, _ws, bad = toks[j]
            if kind == COMMENT:
                if bad:
                    raise _Fail(j, "unterminated comment")
                comments.append(value)
                j += 1
                continue
            if kind != WORD:
                break
            if parts:
                if not (parts[-1].endswith(".") or value.startswith(".")):
                    break  # the next word does not continue this domain
                obsolete = True
                comments.clear()  # a comment inside the domain is not a name
            self._no_ctl(value, j)
            parts.append(value)
            j += 1
        if not parts:
            raise _Fail(j, "missing domain after '@'")
        domain = "".join(parts)
        if obsolete:
            self._defect(_OBSOLETE, j - 1, "domain with CFWS around '.' (obs-domain)")
        if domain.startswith(".") or domain.endswith(".") or ".." in domain:
            self._defect(_INVALID, j - 1, f"empty label in domain {domain!r}")
        return domain, j

    def _addr_spec(self, lo: int, at: int, comments: list[str]) -> tuple[str, str, int]:
        local = self._local_part(lo, at)
        domain, j = self._domain(at + 1, comments)
        if self._kind(j) == AT:
            raise _Fail(j, "more than one '@' in an address")
        return local, domain, j

    def _bare_addr_spec(self, lo: int, at: int) -> Mailbox | None:
        trailing: list[str] = []
        local, domain, j = self._addr_spec(lo, at, trailing)
        kind = self._kind(j)
        if kind == ANGLE_OPEN:
            # "phil@example.com <phil@example.com>": specials in an unquoted
            # display name. The angle address is unambiguous; take it.
            self._defect(_INVALID, lo, "unquoted '@' in a display name")
            return self._name_addr(lo, j, raw_name=True)
        if kind not in _STOP and kind != "":
            raise _Fail(j, "unexpected text after an address")
        self.i = j
        return make_mailbox(self._comment_name(trailing, lo), local, domain)

    def _route(self, j: int) -> tuple[tuple[str, ...], int]:
        """obs-route: ``@a,@b:`` right after ``<``."""
        toks, n = self.toks, self.n
        route: list[str] = []
        while True:
            j = self._skip_comments(j)
            kind = self._kind(j)
            if kind == COMMA:
                j += 1
            elif kind == AT:
                domain, j = self._domain(j + 1, [])
                route.append(domain)
            elif kind == COLON and route:
                break
            else:
                raise _Fail(j, "malformed source route")
        self._defect(_OBSOLETE, j, "source route in address (obs-route)")
        assert j < n and toks[j][0] == COLON
        return tuple(route), j + 1

    def _name_addr(self, lo: int, lt: int, raw_name: bool = False) -> Mailbox | None:
        toks = self.toks
        leading: list[str] = []
        trailing: list[str] = []
        if raw_name:
            name = self.text[toks[lo][2] : toks[lt][2]].strip(" \t\r\n")
            _check_name(name, self._offset(lo), self.defects)
        else:
            name = self._phrase(lo, lt)
            leading = [t[1] for t in toks[lo:lt] if t[0] == COMMENT]
        j = self._skip_comments(lt + 1)
        route: tuple[str, ...] = ()
        if self._kind(j) in (AT, COMMA):
            route, j = self._route(j)
            j = self._skip_comments(j)
        if self._kind(j) == ANGLE_CLOSE:
            raise _Fail(j, "empty address '<>'")
        k = j
        while k < self.n and toks[k][0] in _PHRASE_KINDS and not toks[k][4]:
            k += 1
        kind = self._kind(k)
        if kind == AT:
            local, domain, j = self._addr_spec(j, k, [])
        elif kind == ANGLE_CLOSE:
            local, domain, j = self._local_part(j, k), "", k
            self._defect(_INVALID, j, f"address {local!r} has no domain")
        else:
            raise _Fail(k, "malformed address inside '<...>'")
        kind = self._kind(j)
        if kind == ANGLE_CLOSE:
            j += 1
        elif kind == "" or (kind in _STOP and not route):
            if kind in _STOP:
                close = self._angle_close_after(j)
                if close >= 0:
                    # "<a@b.c, d@e.f>": the "<" is closed after the
                    # separator, so the brackets hold more than this address
                    # (CPython reads both, a strict reader neither). Guessing
                    # would show one and hide the other: drop it all.
                    raise _Fail(close, f"{toks[j][1]!r} before the '>' closing '<'")
            self._defect(_INVALID, j, "missing '>'")
        else:
            raise _Fail(j, "unexpected text inside '<...>'")
        j = self._skip_comments(j, trailing)
        # "<a@b.c> Name": a display name after the address (seen in the wild).
        k = j
        while k < self.n and toks[k][0] in _PHRASE_KINDS and not toks[k][4]:
            k += 1
        if k > j:
            if name:
                raise _Fail(j, "text after an address")
            self._defect(_INVALID, j, "display name after the address")
            name = self._phrase(j, k)
            j = k
        kind = self._kind(j)
        if kind not in _STOP and kind != "":
            raise _Fail(j, "unexpected text after an address")
        self.i = j
        if not name:
            name = self._comment_name(trailing or leading, lo)
        return make_mailbox(name, local, domain, route)

    def _group(self, lo: int, colon: int) -> Group:
        name = self._phrase(lo, colon)
        if not name:
            self._defect(_INVALID, lo, "group without a display name")
        toks, n = self.toks, self.n
        self.i = colon + 1
        members: list[Mailbox] = []
        expect_item = True
        while True:
            if self.i >= n:
                self._defect(_INVALID, n - 1, "group not terminated by ';'")
                break
            kind = toks[self.i][0]
            if kind == SEMICOLON:
                self.i += 1
                break
            if kind == COMMA:
                if expect_item:
                    self._defect(_OBSOLETE, self.i, "empty element in group")
                self.i += 1
                expect_item = True
                continue
            if not expect_item:
                self._defect(_INVALID, self.i, "missing ',' between addresses")
            item = self._element(in_group=True)
            if isinstance(item, Mailbox):
                members.append(item)
            expect_item = False
        # group = display-name ":" [group-list] ";" [CFWS]
        try:
            self.i = self._skip_comments(self.i)
        except _Fail as exc:
            self._defect(_INVALID, exc.index, exc.detail)
            self.i = n
        return Group._make(name, tuple(members))
