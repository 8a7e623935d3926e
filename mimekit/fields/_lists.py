"""List fields: RFC 2369 ``List-*`` URL lists and RFC 5322 Keywords.

ABNF (RFC 2369 section 2, RFC 5322 section 3.6.5)::

    List-Help: <mailto:list@host.com?subject=help> (List Instructions)
    List-Post: NO (posting not allowed on this list)
    ; "A list of multiple, alternate, URLs MAY be specified by a
    ; comma-separated list of angle-bracket enclosed URLs."

    keywords        =   "Keywords:" phrase *("," phrase) CRLF

RFC 2369 section 2: whitespace inside the angle brackets is ignored (long
URLs may be folded), comments are ignored, and ``NO`` in List-Post means
"posting not allowed". A bare URL without brackets is accepted with a
defect; any other text is skipped with a defect.
"""

from __future__ import annotations

import re

from .._defects import Defect, DefectKind
from ..codecs import decode_encoded_words
from ._encode import check_injection, format_phrase
from ._lexer import COMMA, COMMENT, QUOTED, WORD, scan_comment, tokenize

__all__ = ["format_keywords", "format_url_list", "parse_keywords", "parse_url_list"]

_INVALID = DefectKind.INVALID_HEADER_VALUE
_SCAN = re.compile(r"[^ \t\r\n,]")
_BRACKET_END = re.compile(r"[<>]")
_BARE = re.compile(r"[^ \t\r\n<(,]+")
_WS = re.compile(r"[ \t\r\n]+")
_URL = re.compile(r"[^\s<>\"]+")


def parse_url_list(text: str) -> tuple[list[str], list[Defect]]:
    """Parse an RFC 2369 field (List-Help, List-Unsubscribe, List-Post...).

    Returns:
        ``(urls, defects)``: the URLs without their brackets, in order
        (``["NO"]`` for a List-Post that forbids posting). Never raises.
    """
    urls: list[str] = []
    defects: list[Defect] = []
    pos = 0
    n = len(text)
    while pos < n:
        m = _SCAN.search(text, pos)
        if m is None:
            break
        pos = m.start()
        c = text[pos]
        if c == "<":
            stop = _BRACKET_END.search(text, pos + 1)
            if stop is None or text[stop.start()] == "<":
                defects.append(Defect(kind=_INVALID, offset=pos, detail="'<' without '>'"))
                end = n if stop is None else stop.start()
                url = _WS.sub("", text[pos + 1 : end])
                if url:
                    urls.append(url)
                pos = end
                continue
            url = _WS.sub("", text[pos + 1 : stop.start()])
            if url:
                urls.append(url)
            else:
                defects.append(Defect(kind=_INVALID, offset=pos, detail="empty '<>'"))
            pos = stop.end()
        elif c == "(":
            end, closed, _deep = scan_comment(text, pos)
            if not closed:
                defects.append(Defect(kind=_INVALID, offset=pos, detail="unterminated comment"))
            pos = end
        else:
            b = _BARE.match(text, pos)
            if b is None:  # a lone ">"
                defects.append(Defect(kind=_INVALID, offset=pos, detail="stray '>'"))
                pos += 1
                continue
            word = b.group()
            if word.upper() == "NO":
                urls.append("NO")
            elif ":" in word:
                defects.append(Defect(kind=_INVALID, offset=pos, detail="URL without '<>'"))
                urls.append(word)
            else:
                defects.append(
                    Defect(kind=_INVALID, offset=pos, detail=f"unexpected {word[:40]!r}")
                )
            pos = b.end()
    return urls, defects


def format_url_list(urls: list[str]) -> str:
    """``<url>, <url>`` (``NO`` is written bare).

    Raises:
        ValueError: a URL with whitespace, ``<``, ``>`` or ``"`` in it, or
            non-ASCII (RFC 2369 URLs are ASCII; percent-encode first).
    """
    out: list[str] = []
    for url in urls:
        check_injection(url, "URL")
        if url == "NO":
            out.append("NO")
            continue
        if _URL.fullmatch(url) is None or not url.isascii() or len(url) > 896:
            raise ValueError(f"not a URL that can be written in a List-* field: {url!r}")
        out.append(f"<{url}>")
    return ", ".join(out)


def parse_keywords(text: str) -> tuple[list[str], list[Defect]]:
    """Parse Keywords: comma-separated phrases, RFC 2047-decoded.

    Empty elements are skipped; comments are dropped. Never raises.
    """
    defects: list[Defect] = []
    out: list[str] = []
    parts: list[str] = []
    gap = False
    for kind, value, _start, ws, _bad in tokenize(text):
        if kind == COMMA:
            _flush_keyword(parts, out, defects)
            gap = False
            continue
        if kind == COMMENT:
            gap = True
            continue
        if parts and (ws or gap):
            parts.append(" ")
        gap = False
        parts.append(value)
        if kind not in (WORD, QUOTED):
            defects.append(Defect(kind=_INVALID, offset=_start, detail=f"{value!r} in a keyword"))
    _flush_keyword(parts, out, defects)
    return out, defects


def _flush_keyword(parts: list[str], out: list[str], defects: list[Defect]) -> None:
    if not parts:
        return
    word = "".join(parts)
    parts.clear()
    if "=?" in word:
        word, found = decode_encoded_words(word)
        defects.extend(found)
    out.append(word)


def format_keywords(keywords: list[str], *, utf8: bool = False) -> str:
    """``kw1, kw2``: each keyword written as a phrase (quoted or encoded as needed).

    Raises:
        HeaderInjectionError: CR, LF or NUL in a keyword.
    """
    for k in keywords:
        check_injection(k, "keyword")
    return ", ".join(format_phrase(k, utf8=utf8) for k in keywords)
