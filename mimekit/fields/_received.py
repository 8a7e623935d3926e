"""Received trace fields: RFC 5321 section 4.4 and RFC 5322 section 3.6.7.

ABNF (RFC 5321 section 4.4)::

    Time-stamp-line  = "Received:" FWS Stamp <CRLF>
    Stamp            = From-domain By-domain Opt-info [CFWS] ";"
                       FWS date-time
    From-domain      = "FROM" FWS Extended-Domain
    By-domain        = CFWS "BY" FWS Extended-Domain
    Extended-Domain  = Domain /
                       ( Domain FWS "(" TCP-info ")" ) /
                       ( address-literal FWS "(" TCP-info ")" )
    TCP-info         = address-literal / ( Domain FWS address-literal )
    Opt-info         = [Via] [With] [ID] [For]
                       [Additional-Registered-Clauses]
    Via              = CFWS "VIA" FWS Link
    With             = CFWS "WITH" FWS Protocol
    ID               = CFWS "ID" FWS ( Atom / msg-id )
    For              = CFWS "FOR" FWS ( Path / Mailbox )
    Protocol         = "ESMTP" / "SMTP" / Attdl-Protocol

RFC 5322 section 3.6.7 is looser, and it is what a reader must accept::

    received        =   "Received:" *received-token ";" date-time CRLF
    received-token  =   word / angle-addr / addr-spec / domain

Real MTAs follow neither grammar closely: clauses come in any order, the
``FROM`` clause can sit in a comment (sendmail's ``(from user@localhost)``),
comments carry the HELO name (``(HELO x)``, ``helo=x``), the ident user
(``(user@1.2.3.4)``, ``IDENT:user@host``) and the TLS parameters, the
``;`` may be missing, the date may be in asctime order. So the parser is a
tolerant clause scanner (see :func:`parse_received`); what it cannot place
is ignored, and the exact text stays in :attr:`Received.raw`.

Every function here runs in time linear in the input: the tokenizer looks at
each character a bounded number of times (its forward searches are cached),
and every later pass walks the token list once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from .._defects import Defect, DefectKind
from ._date import format_date, parse_date
from ._received_info import (
    PROTOCOL_WORD,
    Comment,
    TcpInfo,
    address_literal,
    find_tls,
    host_token,
    id_token,
    normalize_ip,
    normalize_protocol,
    path_token,
    read_tcp_info,
    word_token,
)

__all__ = ["Received", "parse_received"]

_INVALID = DefectKind.INVALID_HEADER_VALUE


@dataclass(frozen=True, slots=True, kw_only=True)
class Received:
    """The typed value of a ``Received:`` field (RFC 5321 section 4.4 ``Stamp``).

    Every attribute is ``None`` when the field does not say. Names and
    identifiers are kept as written; IP addresses are normalised
    (:mod:`ipaddress` text form, IPv6 compressed, without ``IPv6:``, brackets
    or port).

    Attributes:
        from_: The ``FROM`` domain: the name the client gave in HELO/EHLO,
            or an address literal's IP (``from [1.2.3.4]``).
        from_ip: The client's IP address from the TCP-info comment
            (``(host [1.2.3.4])``, ``([1.2.3.4])``, ``(1.2.3.4)``).
        from_iprev: The client's reverse-DNS name from the TCP-info comment
            (``(host.example [1.2.3.4])``); Postfix's ``unknown`` is ``None``.
        helo: The HELO/EHLO/LHLO argument when the MTA reports it apart from
            the ``FROM`` domain (qmail ``(HELO x)``, Exim ``(helo=x)``).
        ident: The remote user reported by ident (RFC 1413) or qmail
            (``(user@1.2.3.4)``, ``IDENT:user``, ``ident=user``).
        by: The ``BY`` domain: the receiving host.
        via: The ``VIA`` link (RFC 5321: ``TCP`` or a registered link).
        with_: The ``WITH`` protocol: the registered name upper-cased when it
            is one (RFC 5321 ``SMTP``/``ESMTP``, RFC 3848 ``ESMTPS``,
            ``ESMTPA``, ``LMTP``..., also read from vendor forms such as
            ``Microsoft SMTPSVC`` or Exim's ``local-esmtp``), else the words
            as written (``mapi``).
        id: The ``ID`` clause, without ``<>``.
        for_: The ``FOR`` recipient, without ``<>``.
        tls_version: The TLS version from a comment, as ``"TLSv1.3"``,
            ``"TLSv1.0"``, ``"SSLv3"``.
        tls_cipher: The cipher suite from a comment or the ``WITH`` clause
            (``TLS_AES_256_GCM_SHA384``, ``ECDHE-RSA-AES256-GCM-SHA384``).
        date: The time stamp after the ``;``, timezone-aware.
        raw: The field value the parser was given, trimmed.
    """

    from_: str | None = None
    from_ip: str | None = None
    from_iprev: str | None = None
    helo: str | None = None
    ident: str | None = None
    by: str | None = None
    via: str | None = None
    with_: str | None = None
    id: str | None = None
    for_: str | None = None
    tls_version: str | None = None
    tls_cipher: str | None = None
    date: datetime | None = None
    raw: str = ""

    def format(self) -> str:
        """Write the field value in RFC 5321 section 4.4 ``Stamp`` form.

        ``from X (rev [ip]) by Y via V with W id I for <F>; date``, leaving
        out what is ``None``; ``raw``, ``helo``, ``ident`` and the TLS
        details are not written (they have no RFC 5321 syntax).

        Raises:
            ValueError: no ``date`` (RFC 5322 section 3.6.7 requires one),
                or a part that is not one RFC 5321 token (it contains
                whitespace, parentheses, ``;`` or ``<>``, CR or LF).
        """
        if self.date is None:
            raise ValueError("a Received field needs a date")
        parts: list[str] = []
        if self.from_ is not None:
            parts += ["from", host_token(self.from_)]
            info = [word_token(self.from_iprev)] if self.from_iprev is not None else []
            if self.from_ip is not None:
                info.append(address_literal(self.from_ip))
            if info:
                parts.append("(" + " ".join(info) + ")")
        for keyword, value in (("by", self.by), ("via", self.via), ("with", self.with_)):
            if value is not None:
                parts += [keyword, host_token(value) if keyword == "by" else
                          id_token(value) if keyword == "via" else word_token(value)]
        if self.id is not None:
            parts += ["id", id_token(self.id)]
        if self.for_ is not None:
            parts += ["for", path_token(self.for_)]
        return " ".join(parts) + "; " + format_date(self.date)


# --- tokenizer ------------------------------------------------------------

#: Token kinds.
WORD, LIT, ANGLE, QUOTE, OPEN, CLOSE, SEMI, PUNCT = range(8)
#: (kind, text, start, depth): ``text`` is the content for LIT/ANGLE/QUOTE;
#: ``depth`` is the comment depth the token sits at (OPEN/CLOSE: outside).
Token = tuple[int, str, int, int]

# Whitespace, then a word, an <angle> token or one other character. ":"
# and "/" stay inside words ("TLS-1.0:RSA_AES_256_CBC_SHA:32",
# "ESMTP/TLS/...", "1.2.3.4:25", "2001:db8::1"); "=" and "," do not
# ("helo=x", "version=TLS1_2, cipher=...").
_NEXT = re.compile(r"[ \t\r\n]*+(?:([^ \t\r\n()\[\]<>\";,=]++)|<([^<>\s()\[\]]*+)>|(\S))")
# A domain or address literal ends at the next "]" unless one of these comes
# first (then the "[" is a lone punctuation token).
_LIT_BREAK = re.compile(r"[\[()<>;]")
_PARENS = re.compile(r"[()]")
_KEYWORDS: Final = frozenset({"from", "by", "via", "with", "id", "for"})


def _unmatched_opens(text: str) -> set[int]:
    """Positions of "(" that never close: they are read as plain text."""
    stack: list[int] = []
    for m in _PARENS.finditer(text):
        if m.group() == "(":
            stack.append(m.start())
        elif stack:
            stack.pop()
    return set(stack)


def tokenize(text: str) -> tuple[list[Token], bool]:
    """Split a Received value into tokens; return ``(tokens, unbalanced)``.

    Comments nest; a ``)`` without its ``(`` is dropped and a ``(`` without
    its ``)`` is plain text, so one stray parenthesis cannot swallow the
    rest of the field. ``"..."`` is a quoted string outside comments only
    (RFC 5322 ``ctext`` gives quotes no meaning inside a comment).
    """
    unmatched = _unmatched_opens(text) if "(" in text or ")" in text else set()
    unbalanced = bool(unmatched)
    toks: list[Token] = []
    append = toks.append
    match = _NEXT.match
    pos = 0
    depth = 0
    # Forward-only caches: the query position only grows, so a cached hit at
    # or after it is still the next one, and the searches never overlap.
    close_at = brk_at = quote_at = -2
    while True:
        m = match(text, pos)
        if m is None:
            break  # only whitespace is left
        pos = m.end()
        group = m.lastindex
        if group == 1:
            append((WORD, m.group(1), m.start(1), depth))
            continue
        if group == 2:
            append((ANGLE, m.group(2), m.start(2) - 1, depth))
            continue
        c = m.group(3)
        at = pos - 1
        if c == "(":
            if at in unmatched:
                append((WORD, c, at, depth))
            else:
                append((OPEN, c, at, depth))
                depth += 1
        elif c == ")":
            if depth:
                depth -= 1
                append((CLOSE, c, at, depth))
            else:
                unbalanced = True
        elif c == "[":
            if close_at != -1 and close_at < pos:
                close_at = text.find("]", pos)
            if brk_at != -1 and brk_at < pos:
                b = _LIT_BREAK.search(text, pos)
                brk_at = b.start() if b is not None else -1
            if close_at != -1 and (brk_at == -1 or close_at < brk_at):
                append((LIT, text[pos:close_at], at, depth))
                pos = close_at + 1
            else:
                append((PUNCT, c, at, depth))
        elif c == '"' and depth == 0:
            if quote_at != -1 and quote_at < pos:
                quote_at = text.find('"', pos)
            if quote_at != -1:
                append((QUOTE, text[pos:quote_at], at, depth))
                pos = quote_at + 1
            else:
                append((PUNCT, c, at, depth))
        elif c == ";":
            append((SEMI, c, at, depth))
        else:  # "," "=" "<" "]" ">" and a '"' inside a comment
            append((PUNCT, c, at, depth))
    return toks, unbalanced


# --- the clause scanner ----------------------------------------------------

_VALUE_KINDS: Final = frozenset({WORD, LIT, ANGLE, QUOTE})
_DATE_START = re.compile(r"[A-Za-z0-9]")
_PATH = re.compile(r"[^\s<>@]+@[^\s<>@]+|postmaster", re.IGNORECASE)


def parse_received(text: str) -> tuple[Received, list[Defect]]:
    """Parse the value of a Received field.

    The value is scanned once for the clause keywords ``FROM``, ``BY``,
    ``VIA``, ``WITH``, ``ID`` and ``FOR`` (any case, outside comments; a
    keyword counts the first time only, so Sendmail's ``via smail from
    stdin`` keeps the first ``FROM``). The token after a keyword is the
    clause's value. Comments that follow the ``FROM`` value are read as
    TCP-info (RFC 5321 section 4.4): IP, reverse name, HELO name, ident.
    Every comment, the ``WITH`` clause and unplaced words are searched for
    TLS parameters. The date-time follows the last ``;`` outside comments;
    a clause keyword after it ends it (``; <date> for <x@y>``).

    Leniency, each with an INVALID_HEADER_VALUE defect: no ``;`` (a date
    is still looked for in the words after the last clause), no date at
    all, unbalanced parentheses. Date defects come from
    :func:`~mimekit.fields.parse_date`.

    Args:
        text: The unfolded field value.

    Returns:
        ``(Received, defects)``; defect offsets are indexes into ``text``.
        Never raises.
    """
    fast = _parse_fast(text)
    if fast is not None:
        return fast
    return parse_received_slow(text)


def parse_received_slow(text: str) -> tuple[Received, list[Defect]]:
    """The full scanner behind :func:`parse_received` (see there)."""
    toks, unbalanced = tokenize(text)
    defects: list[Defect] = []
    if unbalanced:
        defects.append(Defect(kind=_INVALID, offset=0, detail="unbalanced parentheses"))
    found: dict[str, str] = {}
    seen: set[str] = set()
    tcp = TcpInfo()
    tls_tokens: list[Token] = []
    with_words: list[str] = []
    clause: str | None = None
    pending = False  # the current clause still waits for its value
    collecting = False  # still reading "WITH" words
    after_from = False  # the FROM value was read: a literal now is the IP
    date_start = date_end = -1
    orphan_start = -1  # start of the trailing run of unplaced words
    comment: list[Token] = []
    comment_owner: str | None = None
    for index, tok in enumerate(toks):
        kind, value, start, depth = tok
        if depth or kind == CLOSE:
            if kind == CLOSE and depth == 0:
                _close_comment(comment, comment_owner, found, seen, tcp, tls_tokens)
            else:
                comment.append(tok)
            continue
        if kind == OPEN:
            comment = []
            comment_owner = clause if index else "lead"
            pending = collecting = False
            continue
        if kind == WORD and value.lower() in _KEYWORDS:
            if clause == "date":
                date_end = start
            clause = value.lower()
            pending = clause not in seen
            seen.add(clause)
            collecting = after_from = False
            orphan_start = -1
            continue
        if kind == SEMI:
            clause = "date"
            date_start, date_end = start + 1, len(text)
            pending = collecting = after_from = False
            orphan_start = -1
            continue
        if clause == "date":
            continue
        if collecting and kind in (WORD, LIT) and len(with_words) < 4:
            with_words.append(value)
            tls_tokens.append(tok)
            continue
        collecting = False
        if pending and kind in _VALUE_KINDS:
            pending = False
            assert clause is not None
            if clause == "with":
                with_words.append(value)
                tls_tokens.append(tok)
                collecting = kind in (WORD, LIT)
            else:
                _take_value(clause, kind, value, found)
                after_from = clause == "from"
            continue
        if after_from and kind == LIT and tcp.ip is None:
            # "from host [1.2.3.4] by ...": TCP-info without the parentheses.
            tcp.ip = normalize_ip(value)
            continue
        if orphan_start < 0:
            orphan_start = start
        if kind == WORD:
            tls_tokens.append(tok)

    version, cipher = find_tls(tls_tokens)
    date, date_defects = _find_date(text, date_start, date_end, orphan_start)
    defects.extend(date_defects)
    protocol = normalize_protocol(with_words) if with_words else None
    received = Received(
        from_=found.get("from"),
        from_ip=tcp.ip,
        from_iprev=tcp.iprev,
        helo=tcp.helo,
        ident=tcp.ident,
        by=found.get("by"),
        via=found.get("via"),
        with_=protocol if protocol is not None else (" ".join(with_words) or None),
        id=found.get("id"),
        for_=found.get("for"),
        tls_version=version,
        tls_cipher=cipher,
        date=date,
        raw=text.strip(" \t\r\n"),
    )
    return received, defects


def _take_value(clause: str, kind: int, value: str, found: dict[str, str]) -> None:
    """Store the value token of a FROM/BY/VIA/ID/FOR clause."""
    if clause in ("from", "by") and kind == LIT:
        ip = normalize_ip(value)
        if ip is not None:
            found[clause] = ip
        elif clause == "by" and value:
            found[clause] = value
    elif clause == "from":
        if kind == WORD:
            found[clause] = value
    elif clause == "for":
        if _PATH.fullmatch(value) is not None:
            found[clause] = value
    elif value and (kind in (WORD, ANGLE) or (clause == "id" and kind == LIT)):
        found[clause] = value


def _close_comment(
    comment: list[Token],
    owner: str | None,
    found: dict[str, str],
    seen: set[str],
    tcp: TcpInfo,
    tls_tokens: list[Token],
) -> None:
    """A top-level comment ended: read TCP-info and TLS details from it."""
    if owner == "date":
        return
    tls_tokens.extend(comment)
    items: Comment = [(k, v) for k, v, _s, d in comment if d == 1 and _is_item(k, v)]
    if owner == "lead" and items and items[0][0] == WORD and items[0][1].lower() == "from":
        # Sendmail's "(from user@localhost) by host ..." and NAVGW's
        # "(from host [ip]) by ...": the FROM clause itself is a comment.
        seen.add("from")
        if len(items) > 1:
            _take_value("from", items[1][0], items[1][1], found)
            read_tcp_info(items[2:], tcp)
        return
    if owner == "from":
        read_tcp_info(items, tcp)


def _is_item(kind: int, value: str) -> bool:
    """Whether a comment token matters for TCP-info (words, literals, "=")."""
    return kind in (WORD, LIT, ANGLE) or (kind == PUNCT and value == "=")


# Where a date may start inside unplaced words: a day name or "4 Sep".
_DAY_OR_NUMBER = re.compile(r"\b(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun|[0-9]{1,2} [A-Za-z]{3})", re.I)


def _find_date(
    text: str, start: int, end: int, orphan_start: int
) -> tuple[datetime | None, list[Defect]]:
    """Parse the date-time after the ``;``, or look for one without it."""
    if start < 0:
        if orphan_start < 0:
            return None, [Defect(kind=_INVALID, offset=0, detail="no '; date-time'")]
        # No ";" (RFC 5322 requires it): try the words after the last clause.
        tail = text[orphan_start:]
        dt, _ = parse_date(tail)
        if dt is None:
            day = _DAY_OR_NUMBER.search(tail)
            if day is not None and day.start() > 0:
                dt, _ = parse_date(tail[day.start() :])
        if dt is None:
            return None, [Defect(kind=_INVALID, offset=0, detail="no '; date-time'")]
        return dt, [Defect(kind=_INVALID, offset=orphan_start, detail="no ';' before the date")]
    segment = text[start:end]
    first = _DATE_START.search(segment)
    if first is None:
        return None, [Defect(kind=DefectKind.INVALID_DATE, offset=start, detail="empty date")]
    dt, found = parse_date(segment[first.start() :])
    shift = start + first.start()
    return dt, [Defect(kind=d.kind, offset=d.offset + shift, detail=d.detail) for d in found]


# --- fast path ----------------------------------------------------------------

# The shape Postfix, sendmail and Gmail write for an SMTP hand-off:
#   [from HOST (REV [IP]) [(comment)...]] by HOST [(comment)] with PROTO
#   [(comment)...] id ID [for <ADDR>] [(comment)...]; DATE
# (Gmail's internal hops start at "by"). Comments hold at most one nested
# level (Postfix's "(256/256 bits)"). Possessive quantifiers: a failed
# match never backtracks into a group, so a miss costs one pass.
_HOST = r"[A-Za-z0-9][A-Za-z0-9.\-_]*+"
_CMT = r"\((?:[^()]++|\([^()]*+\))*+\)"
_SP = r"[ \t]++"
# The FOR address: no brackets, quotes or backslashes either (the slow
# path reads "[", '"' and "\\" as literal and quoting syntax).
_FOR_CHARS = r'[^<>\s()@\[\]"\\]'
_FAST = re.compile(
    rf"[ \t]*+(?:from{_SP}(?P<from>{_HOST}|\[[0-9.]++\]){_SP}"
    rf"\((?:(?P<rev>{_HOST}){_SP})?\[(?:IPv6:)?(?P<ip>[0-9A-Fa-f:.]++)\]\)"
    rf"(?P<c1>(?:{_SP}{_CMT})*+){_SP})?"
    rf"by{_SP}(?P<by>{_HOST}|[0-9A-Fa-f:]++)(?P<c0>(?:{_SP}\([A-Za-z0-9 .,/\-]*+\))?)"
    rf"{_SP}with{_SP}(?P<with>{PROTOCOL_WORD})(?P<c2>(?:{_SP}{_CMT})*+)"
    rf"{_SP}id{_SP}(?P<id>[A-Za-z0-9.\-_]++)"
    rf"(?:{_SP}for{_SP}<(?P<for>{_FOR_CHARS}++@{_FOR_CHARS}++)>)?(?P<c3>(?:{_SP}{_CMT})*+)"
    rf"[ \t]*+;[ \t]*+(?P<date>[A-Za-z0-9][^;()]*+(?:\([A-Za-z ]*+\))?)[ \t]*+\Z"
)


def _parse_fast(text: str) -> tuple[Received, list[Defect]] | None:
    """Parse the common Postfix/sendmail/Gmail shape, or return None.

    Gives exactly what :func:`parse_received_slow` gives for the same text
    (tested on the corpus and on generated fields); anything else goes to
    the slow path.
    """
    m = _FAST.match(text)
    if m is None:
        return None
    if any((m.group(g) or "").lower() in _KEYWORDS for g in ("from", "by", "with", "id")):
        return None  # "by id with ...": the slow path reads keywords as keywords
    date, defects = parse_date(m.group("date"))
    if date is None or defects:
        return None
    tcp = TcpInfo()
    from_ = m.group("from")
    if from_ is not None:
        ip_text = m.group("ip")
        if normalize_ip(ip_text) is None:
            return None
        if from_[0] == "[":
            from_ = normalize_ip(from_[1:-1])
            if from_ is None:
                return None
        rev = m.group("rev")
        read_tcp_info([(WORD, rev), (LIT, ip_text)] if rev else [(LIT, ip_text)], tcp)
    # TLS details and more TCP-info sit in the comments: read them as the
    # slow path does, in the same order.
    tls_tokens: list[Token] = []
    for group in ("c1", "c0", "with", "c2", "c3"):
        part = m.group(group)
        if not part:
            continue
        if group == "with":
            tls_tokens.append((WORD, part, 0, 0))
            continue
        toks, _ = tokenize(part)
        inner = [t for t in toks if t[3]]
        tls_tokens.extend(inner)
        if group == "c1":
            for items in _top_comments(toks):
                read_tcp_info(items, tcp)
    version, cipher = find_tls(tls_tokens)
    with_ = m.group("with")
    return (
        Received(
            from_=from_,
            from_ip=tcp.ip,
            from_iprev=tcp.iprev,
            helo=tcp.helo,
            ident=tcp.ident,
            by=m.group("by"),
            with_=normalize_protocol([with_]) or with_,
            id=m.group("id"),
            for_=m.group("for"),
            tls_version=version,
            tls_cipher=cipher,
            date=date,
            raw=text.strip(" \t\r\n"),
        ),
        [],
    )


def _top_comments(toks: list[Token]) -> list[Comment]:
    """The depth-1 items of each top-level comment in ``toks``."""
    out: list[Comment] = []
    for kind, value, _start, depth in toks:
        if kind == OPEN and depth == 0:
            out.append([])
        elif depth == 1 and out and _is_item(kind, value):
            out[-1].append((kind, value))
    return out
