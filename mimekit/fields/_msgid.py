"""Message identifiers: Message-ID, Content-ID, In-Reply-To, References.

ABNF (RFC 5322 section 3.6.4 and 4.5.4)::

    message-id      =   "Message-ID:" msg-id CRLF
    in-reply-to     =   "In-Reply-To:" 1*msg-id CRLF
    references      =   "References:" 1*msg-id CRLF
    msg-id          =   [CFWS] "<" id-left "@" id-right ">" [CFWS]
    id-left         =   dot-atom-text / obs-id-left
    id-right        =   dot-atom-text / no-fold-literal / obs-id-right
    no-fold-literal =   "[" *dtext "]"
    obs-id-left     =   local-part
    obs-id-right    =   domain
    obs-in-reply-to =   "In-Reply-To:" *(phrase / msg-id) CRLF
    obs-references  =   "References:" *(phrase / msg-id) CRLF

An identifier is returned without its angle brackets. Whitespace and
comments inside the brackets (obs-id-left/obs-id-right allow CFWS) are
removed, quoted strings and ``[...]`` literals are kept verbatim
(Microsoft writes ``<[abc]@host>``), so the same identifier written two ways
compares equal for threading.

Leniency (with defects): a missing ``<``/``>``; phrases, comments and
junk between identifiers (``<id> (from user)``, ``Your message of ...``);
an identifier without ``@``. ``<>`` is no identifier. In a list, bare words
are only used when there is no bracketed identifier at all.
"""

from __future__ import annotations

import re

from .._defects import Defect, DefectKind
from ._lexer import strip_comments

__all__ = [
    "format_message_id",
    "format_message_id_list",
    "parse_message_id",
    "parse_message_id_list",
    "parse_message_id_list_slow",
    "parse_message_id_slow",
    "scan_message_ids",
]

_INVALID = DefectKind.INVALID_MESSAGE_ID

_ID_CHARS = r"[^<>()\"\\\[\] \t\r\n@,;:]+"
_FAST_ONE = re.compile(rf"[ \t]*<({_ID_CHARS}@{_ID_CHARS})>[ \t]*\Z")
_FAST_ITEM = re.compile(rf"[ \t\r\n]*<({_ID_CHARS}@{_ID_CHARS})>[ \t\r\n]*")
# Scanner over comment-free text: a quoted string, an opening bracket, or a
# bare word.
_SCAN = re.compile(r'"(?:[^"\\]+|\\.)*"?|<|[^\s<"]+', re.DOTALL)
_BRACKET_STOP = re.compile(r"[<>]")
# Inside brackets: quoted strings and [literals] verbatim, whitespace dropped.
_ID_PART = re.compile(r'"(?:[^"\\]+|\\.)*"?|\[[^\]]*\]?|[^\s"\[]+', re.DOTALL)
_VALID_ID = re.compile(r"[^\s<>]+@[^\s<>]+")


def _clean_id(content: str, offset: int, defects: list[Defect]) -> str | None:
    if not content.strip():
        defects.append(Defect(kind=_INVALID, offset=offset, detail="empty message identifier '<>'"))
        return None
    if any(c in content for c in ' \t\r\n"'):
        cleaned = "".join(_ID_PART.findall(content))
        if cleaned != content:
            defects.append(
                Defect(
                    kind=DefectKind.OBSOLETE_SYNTAX,
                    offset=offset,
                    detail="whitespace inside a message identifier",
                )
            )
        content = cleaned
    if "@" not in content:
        defects.append(
            Defect(
                kind=_INVALID,
                offset=offset,
                detail=f"no '@' in message identifier {content[:40]!r}",
            )
        )
    return content


def scan_message_ids(text: str) -> tuple[list[str], list[str], list[Defect]]:
    """Find identifiers in ``text`` in one linear pass.

    Returns:
        ``(bracketed, bare, defects)``: the ``<...>`` identifiers, the bare
        words that might be identifiers (for callers to use when there is
        no bracketed one), and the defects met on the way.
    """
    defects: list[Defect] = []
    body, unclosed = strip_comments(text, literals=True)
    if unclosed:
        defects.append(Defect(kind=_INVALID, offset=0, detail="unterminated comment"))
    ids: list[str] = []
    bare: list[str] = []
    junk = False
    pos = 0
    n = len(body)
    while pos < n:
        m = _SCAN.search(body, pos)
        if m is None:
            break
        tok = m.group()
        if tok != "<":
            pos = m.end()
            if tok[0] != '"':
                word = tok.strip(",;")
                if word:
                    bare.append(word)
            junk = True
            continue
        stop = _BRACKET_STOP.search(body, m.end())
        if stop is None:
            # "<abc@def" at the end: take it, it hides nothing.
            defects.append(Defect(kind=_INVALID, offset=m.start(), detail="missing '>'"))
            found = _clean_id(body[m.end() :], m.start(), defects)
            if found is not None:
                ids.append(found)
            break
        if body[stop.start()] == "<":
            defects.append(Defect(kind=_INVALID, offset=m.start(), detail="'<' without '>'"))
            pos = stop.start()
            continue
        found = _clean_id(body[m.end() : stop.start()], m.start(), defects)
        if found is not None:
            ids.append(found)
        pos = stop.end()
    if junk and ids:
        defects.append(Defect(kind=_INVALID, offset=0, detail="text between message identifiers"))
    return ids, bare, defects


def parse_message_id(text: str) -> tuple[str | None, list[Defect]]:
    """Parse a Message-ID, Resent-Message-ID or Content-ID value.

    Returns:
        ``(identifier, defects)``, the identifier without ``<>``; ``None``
        when there is none. Never raises.
    """
    m = _FAST_ONE.match(text)
    if m is not None:
        return m.group(1), []
    return parse_message_id_slow(text)


def parse_message_id_slow(text: str) -> tuple[str | None, list[Defect]]:
    """The scanner-based parser behind :func:`parse_message_id`."""
    ids, bare, defects = scan_message_ids(text)
    if ids:
        if len(ids) > 1:
            defects.append(
                Defect(kind=_INVALID, offset=0, detail="more than one message identifier")
            )
        return ids[0], defects
    if bare:
        defects.append(Defect(kind=_INVALID, offset=0, detail="message identifier without '<>'"))
        return bare[0], defects
    if not defects:
        defects.append(Defect(kind=_INVALID, offset=0, detail="no message identifier"))
    return None, defects


def parse_message_id_list(text: str) -> tuple[list[str], list[Defect]]:
    """Parse In-Reply-To or References: a list of identifiers.

    Returns:
        ``(identifiers, defects)``; an empty list when there is none (no
        defect for an empty value). Never raises.
    """
    pos = 0
    ids: list[str] = []
    n = len(text)
    match = _FAST_ITEM.match
    while pos < n:
        m = match(text, pos)
        if m is None:
            break
        ids.append(m.group(1))
        pos = m.end()
    else:
        return ids, []
    return parse_message_id_list_slow(text)


def parse_message_id_list_slow(text: str) -> tuple[list[str], list[Defect]]:
    """The scanner-based parser behind :func:`parse_message_id_list`."""
    ids, bare, defects = scan_message_ids(text)
    if not ids:
        ids = [w for w in bare if "@" in w]
        if ids:
            defects.append(
                Defect(kind=_INVALID, offset=0, detail="message identifiers without '<>'")
            )
    return ids, defects


def format_message_id(value: str, *, utf8: bool = False) -> str:
    """``<id>`` for a Message-ID given with or without its brackets.

    Raises:
        ValueError: not of the form ``left@right`` (no whitespace, ``<``
            or ``>``), non-ASCII without ``utf8``, or too long.
    """
    v = value.strip(" \t")
    if v.startswith("<") and v.endswith(">"):
        v = v[1:-1]
    if _VALID_ID.fullmatch(v) is None or "\x00" in v:
        raise ValueError(f"not a valid message identifier: {value!r}")
    if not utf8 and not v.isascii():
        raise ValueError(f"non-ASCII message identifier needs utf8=True: {value!r}")
    if len(v) > 898:
        raise ValueError("message identifier too long to fold")
    out = f"<{v}>"
    if parse_message_id(out)[0] != v:
        # Quotes, brackets, parentheses or backslashes the lenient reader
        # would take apart: no form reads back as this identifier.
        raise ValueError(f"message identifier cannot be written exactly: {value!r}")
    return out


def format_message_id_list(values: list[str], *, utf8: bool = False) -> str:
    """``<a@b> <c@d>``; see :func:`format_message_id`."""
    return " ".join(format_message_id(v, utf8=utf8) for v in values)
