"""RFC 5322 tokenizer shared by the structured field parsers.

The address, Message-ID and date parsers all start from the same lexical
layer of RFC 5322 section 3.2: atoms, quoted strings, comments, domain
literals and the specials. This module turns a field value into a flat list
of :data:`Token` tuples in **one linear pass**: every regular expression used
here is anchored at the current position and either consumes input or fails
at once, so adversarial input (unclosed quotes, ``((((`` nesting, ``;;;;``
runs, megabytes of atext) costs time proportional to its length.

ABNF (RFC 5322 section 3.2.1 to 3.2.4, with the section 4.1 obsolete forms)::

    quoted-pair     =   ("\\" (VCHAR / WSP)) / obs-qp
    FWS             =   ([*WSP CRLF] 1*WSP) /  obs-FWS
    ctext           =   %d33-39 / %d42-91 / %d93-126 / obs-ctext
    ccontent        =   ctext / quoted-pair / comment
    comment         =   "(" *([FWS] ccontent) [FWS] ")"
    CFWS            =   (1*([FWS] comment) [FWS]) / FWS
    atext           =   ALPHA / DIGIT / "!" / "#" / "$" / "%" / "&" / "'" / "*" /
                        "+" / "-" / "/" / "=" / "?" / "^" / "_" / "`" / "{" /
                        "|" / "}" / "~"
    dot-atom-text   =   1*atext *("." 1*atext)
    specials        =   "(" / ")" / "<" / ">" / "[" / "]" / ":" / ";" / "@" /
                        "\\" / "," / "." / DQUOTE
    qtext           =   %d33 / %d35-91 / %d93-126 / obs-qtext
    quoted-string   =   [CFWS] DQUOTE *([FWS] qcontent) [FWS] DQUOTE [CFWS]
    dtext           =   %d33-90 / %d94-126 / obs-dtext
    domain-literal  =   [CFWS] "[" *([FWS] dtext) [FWS] "]" [CFWS]

Deviations, each on purpose:

* ``.`` is not a token of its own: a *word* is a maximal run of atext **and
  dots**, so ``john.q.public`` and ``Q.`` are one token each. The parsers
  split or join dots where the grammar needs it (dot-atom versus obs-phrase).
* RFC 6532: every non-ASCII character is atext. Control characters other
  than the whitespace are accepted inside words too (obs-ctext/obs-qtext
  allow most of them); the parsers decide whether that is a defect.
* Comments nest without recursion (a depth counter), so nesting depth costs
  nothing; a comment nested deeper than :data:`MAX_COMMENT_DEPTH` is still
  read correctly but flagged.
* An unterminated quoted string or comment runs to the end of the text and
  its token is marked *bad*; an unterminated domain literal stops at the next
  ``[`` or the end. The parsers refuse an element holding a bad token, so an
  unbalanced delimiter can never hide (or reveal) a second address.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = [
    "ANGLE_CLOSE",
    "ANGLE_OPEN",
    "AT",
    "COLON",
    "COMMA",
    "COMMENT",
    "DOMAIN_LITERAL",
    "MAX_COMMENT_DEPTH",
    "QUOTED",
    "SEMICOLON",
    "STRAY",
    "Token",
    "WORD",
    "is_dot_atom",
    "quote_string",
    "scan_comment",
    "strip_comments",
    "tokenize",
    "unquote_pairs",
]

# Token kinds. One-character strings: cheap to compare and readable in a
# debugger. The specials that matter to the grammar are their own kind.
WORD: Final = "a"  #: run of atext and dots (RFC 6532: non-ASCII included)
QUOTED: Final = "q"  #: quoted-string; value is the content, quoted pairs undone
COMMENT: Final = "c"  #: comment; value is the content, nested parens kept
DOMAIN_LITERAL: Final = "d"  #: domain-literal; value is ``[...]`` verbatim
ANGLE_OPEN: Final = "<"
ANGLE_CLOSE: Final = ">"
AT: Final = "@"
COMMA: Final = ","
SEMICOLON: Final = ";"
COLON: Final = ":"
STRAY: Final = "x"  #: ``)``, ``]`` or ``\\`` where no construct expects one

#: Comments nested deeper than this are flagged (they are still parsed).
MAX_COMMENT_DEPTH: Final = 64

#: ``(kind, value, start, ws, bad)``: ``start`` is the character index of the
#: token in the text; ``ws`` is true when whitespace or a comment comes right
#: before it; ``bad`` marks an unterminated quoted string, comment or domain
#: literal (or a comment nested too deep).
Token = tuple[str, str, int, bool, bool]

_WSP = re.compile(r"[ \t\r\n]+")
# A word: anything but whitespace and the specials other than ".".
_WORD = re.compile(r'[^ \t\r\n()<>\[\]:;@\\,"]+')
# quoted-string body. The final ("?) always matches, so the engine never
# backtracks into the starred group: linear even when the quote is unclosed.
_QUOTED = re.compile(r'"((?:[^"\\]+|\\.)*)(\\?)("?)', re.DOTALL)
_DLIT = re.compile(r"\[((?:[^\[\]\\]+|\\.)*)(\\?)(\]?)", re.DOTALL)
_COMMENT_STOP = re.compile(r"[()\\]")
_STRIP_STOP = re.compile(r'["(\\]')
_STRIP_STOP_LITERALS = re.compile(r'["(\\\[]')
_QUOTED_PAIR = re.compile(r"\\(.)", re.DOTALL)
_SINGLE = frozenset("<>@,;:")

# RFC 5322 dot-atom-text, with RFC 6532 UTF-8 atext.
_DOT_ATOM = re.compile(
    r"[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~\x80-\U0010ffff]+"
    r"(?:\.[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~\x80-\U0010ffff]+)*"
)
# Characters that must be escaped inside a quoted-string.
_NEEDS_ESCAPE = re.compile(r'(["\\])')


def unquote_pairs(s: str) -> str:
    """Undo RFC 5322 quoted pairs (``\\x`` becomes ``x``)."""
    return _QUOTED_PAIR.sub(r"\1", s) if "\\" in s else s


def quote_string(s: str) -> str:
    """Return ``s`` as an RFC 5322 quoted-string (backslash and DQUOTE escaped)."""
    return '"' + _NEEDS_ESCAPE.sub(r"\\\1", s) + '"'


def is_dot_atom(s: str) -> bool:
    """True when ``s`` is an RFC 5322 ``dot-atom-text`` (RFC 6532 UTF-8 allowed)."""
    return _DOT_ATOM.fullmatch(s) is not None


def scan_comment(text: str, pos: int) -> tuple[int, bool, bool]:
    """Find the end of the comment opening at ``text[pos] == "("``.

    Returns:
        ``(end, closed, too_deep)``: the index just past the closing
        parenthesis (or the length of the text when it never closes), whether
        it closes, and whether it nests deeper than :data:`MAX_COMMENT_DEPTH`.
    """
    depth = 1
    deepest = 1
    i = pos + 1
    search = _COMMENT_STOP.search
    while True:
        m = search(text, i)
        if m is None:
            return len(text), False, deepest > MAX_COMMENT_DEPTH
        j = m.start()
        c = text[j]
        if c == "\\":
            i = j + 2
        elif c == "(":
            depth += 1
            if depth > deepest:
                deepest = depth
            i = j + 1
        else:
            depth -= 1
            i = j + 1
            if depth == 0:
                return i, True, deepest > MAX_COMMENT_DEPTH


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into RFC 5322 lexical tokens; whitespace is dropped.

    Args:
        text: An unfolded field value (CRLF may still be present; it counts
            as whitespace).

    Returns:
        The tokens in order. Never raises; an empty or all-whitespace text
        gives an empty list.
    """
    toks: list[Token] = []
    append = toks.append
    n = len(text)
    pos = 0
    ws = False
    wsp_match = _WSP.match
    word_match = _WORD.match
    while pos < n:
        c = text[pos]
        if c in " \t\r\n":
            pos = wsp_match(text, pos).end()  # type: ignore[union-attr]
            ws = True
            continue
        m = word_match(text, pos)
        if m is not None:
            append((WORD, m.group(), pos, ws, False))
            pos = m.end()
        elif c == '"':
            m = _QUOTED.match(text, pos)
            assert m is not None  # the pattern cannot fail after a DQUOTE
            bad = not m.group(3)
            append((QUOTED, unquote_pairs(m.group(1)), pos, ws, bad))
            # An unclosed quote swallows the rest of the text.
            pos = n if bad else m.end()
        elif c == "(":
            end, closed, too_deep = scan_comment(text, pos)
            body = text[pos + 1 : end - 1] if closed else text[pos + 1 :]
            append((COMMENT, unquote_pairs(body), pos, ws, too_deep or not closed))
            pos = end
            ws = True
            continue
        elif c == "[":
            m = _DLIT.match(text, pos)
            assert m is not None
            bad = not m.group(3)
            append((DOMAIN_LITERAL, m.group(), pos, ws, bad))
            pos = m.end()
        elif c in _SINGLE:
            append((c, c, pos, ws, False))
            pos += 1
        else:  # ")", "]" or "\\" out of place
            append((STRAY, c, pos, ws, True))
            pos += 1
        ws = False
    return toks


def strip_comments(text: str, *, literals: bool = False) -> tuple[str, bool]:
    """Replace every RFC 5322 comment in ``text`` by a space, in linear time.

    Quoted strings are respected (a ``(`` inside quotes is not a comment).
    With ``literals``, so are closed ``[...]`` domain literals right after
    ``@`` or ``<`` (a message identifier's ``no-fold-literal`` may hold
    parentheses: ``<x@[a(b)]>``, ``<[a(b)]@host>``).

    Returns:
        ``(text_without_comments, bad)`` where ``bad`` tells that a comment
        was unterminated or too deep (the rest of the text was dropped).
    """
    if "(" not in text:
        return text, False
    out: list[str] = []
    pos = 0
    n = len(text)
    bad = False
    start = 0
    search = (_STRIP_STOP_LITERALS if literals else _STRIP_STOP).search
    while pos < n:
        m = search(text, pos)
        if m is None:
            break
        pos = m.start()
        c = text[pos]
        if c == '"':
            q = _QUOTED.match(text, pos)
            assert q is not None
            pos = q.end() if q.group(3) else n
        elif c == "[":
            d = _DLIT.match(text, pos)
            assert d is not None
            # Only a closed literal in an identifier's place is opaque; any
            # other "[" is ordinary text (a "[PATCH]" subject in References).
            opaque = d.group(3) and pos > 0 and text[pos - 1] in "@<"
            pos = d.end() if opaque else pos + 1
        elif c == "(":
            out.append(text[start:pos])
            out.append(" ")
            pos, closed, too_deep = scan_comment(text, pos)
            bad = bad or too_deep or not closed
            start = pos
        else:  # a quoted pair outside quotes: skip the escaped character
            pos += 2
    out.append(text[start:])
    return "".join(out), bad
