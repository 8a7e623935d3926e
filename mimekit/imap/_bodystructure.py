"""IMAP BODY and BODYSTRUCTURE (RFC 3501 section 7.4.2) from the message tree.

RFC 3501 section 9 (abridged)::

    body            = "(" (body-type-1part / body-type-mpart) ")"
    body-type-1part = (body-type-basic / body-type-msg / body-type-text)
                      [SP body-ext-1part]
    body-type-basic = media-basic SP body-fields
    body-type-msg   = media-message SP body-fields SP envelope SP body SP
                      body-fld-lines
    body-type-text  = media-text SP body-fields SP body-fld-lines
    body-fields     = body-fld-param SP body-fld-id SP body-fld-desc SP
                      body-fld-enc SP body-fld-octets
    body-ext-1part  = body-fld-md5 [SP body-fld-dsp [SP body-fld-lang
                      [SP body-fld-loc *(SP body-extension)]]]
    body-type-mpart = 1*body SP media-subtype [SP body-ext-mpart]
    body-ext-mpart  = body-fld-param [SP body-fld-dsp [SP body-fld-lang
                      [SP body-fld-loc *(SP body-extension)]]]

Values are nested tuples of ``None | str | int | tuple`` as in
:mod:`._envelope`. The structure (which entity is a multipart, where each
part starts and ends) comes from the mimekit tree; what is *said* about each
entity follows Dovecot 2.3, whose output ours must match:

* Content-* fields count only in a MIME entity: a body part of a multipart,
  or a message with a MIME-Version or Content-Type field. Elsewhere the part
  is ``text/plain`` (``message/rfc822`` inside ``multipart/digest``).
* The first Content-Type (and Content-ID, -Description, -MD5, -Location)
  counts; the first *valid* Content-Transfer-Encoding and Content-Language.
* Parameters are Dovecot's ``rfc2231_parse``: RFC 2231 continuations are
  joined but not decoded (``name*`` = ``utf-8''a%20b``), other parameters
  come first in their order; a text part without ``charset`` gets
  ``("charset" "us-ascii")`` added (RFC 2045 section 5.2).
* Sizes and line counts are those of the *encoded* body in CRLF terms: a
  bare LF counts as two octets (RFC 3501: "size of the body in octets",
  as the message is sent, with CRLF line ends).
* Only ``message/rfc822`` has the envelope, body and line count; a
  ``message/rfc822`` body is read as a message even when it is (wrongly)
  base64 or quoted-printable encoded, without decoding it, as Dovecot does.
* A ``multipart/*`` entity without parts (no boundary, or the boundary is
  never found) has one empty ``text/plain`` part.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._envelope import envelope_from_fields
from ._header_lexer import HeaderFields, Lexer, nolf

if TYPE_CHECKING:
    from ._fetch_data import Node

__all__ = ["LEAF", "MAX_DEPTH", "MULTIPART", "RFC822", "MimeData", "body_structure",
           "crlf_size", "parse_mime_fields", "strip_extensions"]

#: Nesting deeper than this (multiparts and attached messages together) is
#: reported as a leaf, like the tree's own ``Limits.max_depth``; it also keeps
#: re-parsed encoded ``message/rfc822`` bodies from recursing without end.
MAX_DEPTH = 100

#: What a node is: a leaf, a multipart (with child nodes) or a message/rfc822
#: part (with one message node).
LEAF, MULTIPART, RFC822 = 0, 1, 2

#: RFC 2045 section 5.2: the default charset of text.
_DEFAULT_CHARSET = ("charset", "us-ascii")
_EMPTY_BASIC = ("text", "plain", _DEFAULT_CHARSET, None, None, "7bit", 0, 0)
_EMPTY_EXT = (None, None, None, None)


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def crlf_size(data: bytes) -> tuple[int, int]:
    """``(octets, lines)`` of ``data`` sent with CRLF line ends: each bare LF
    counts twice; lines is the number of LFs."""
    lf = data.count(b"\n")
    if b"\r" not in data:  # a memchr: spares the slower two-octet count
        return len(data) + lf, lf
    return len(data) + lf - data.count(b"\r\n"), lf


# -- Content-* fields, Dovecot's message-part-data ----------------------------------

class MimeData:
    """The Content-* fields of one entity, parsed as Dovecot parses them."""

    __slots__ = ("ctype", "description", "disposition", "disposition_params", "encoding",
                 "id", "language", "location", "md5", "params", "seen_type", "subtype")

    def __init__(self) -> None:
        self.seen_type = False
        self.ctype: bytes | None = None
        self.subtype: bytes | None = None
        self.params: list[tuple[bytes, bytes]] = []
        self.encoding: bytes | None = None
        self.id: bytes | None = None
        self.description: bytes | None = None
        self.disposition: bytes | None = None
        self.disposition_params: list[tuple[bytes, bytes]] = []
        self.md5: bytes | None = None
        self.language: list[bytes] | None = None
        self.location: bytes | None = None

    @property
    def type_string(self) -> bytes:
        """``type/subtype`` as the parser saw it (for the structure flags)."""
        t = self.ctype or b""
        return t if self.subtype is None else t + b"/" + self.subtype

    @property
    def ctype_lower(self) -> bytes:
        return (self.ctype or b"").lower()


def parse_mime_fields(fields: HeaderFields) -> MimeData:
    """Collect the Content-* fields (RFC 2045, 2183, 3282, 1864, 2557)."""
    data = MimeData()
    for name, value in fields:
        lname = name.lower()
        if not lname.startswith(b"content-"):
            continue
        rest = lname[8:]
        if rest == b"type":
            if not data.seen_type:
                data.seen_type = True
                _parse_content_type(data, value)
        elif rest == b"transfer-encoding":
            if data.encoding is None:
                lex = Lexer(value)
                lex.skip_lwsp()
                buf: list[bytes] = []
                if lex.mime_token(buf) >= 0 and lex.skip_lwsp() == 0 and buf[0]:
                    data.encoding = buf[0]
        elif rest == b"id":
            if data.id is None:
                data.id = value
        elif rest == b"md5":
            if data.md5 is None:
                data.md5 = value
        elif rest == b"language":
            if data.language is None:
                data.language = _parse_language(value)
        elif rest == b"location":
            if data.location is None:
                data.location = value
        elif rest == b"description":
            if data.description is None:
                data.description = value
        elif rest == b"disposition" and not data.disposition_params:
            # Dovecot checks for earlier *parameters*, so a second field
            # replaces a first one that had none.
            lex = Lexer(value)
            lex.skip_lwsp()
            buf = []
            if lex.mime_token(buf) >= 0:
                data.disposition = buf[0]
                data.disposition_params = _rfc2231(lex)
    return data


def _parse_content_type(data: MimeData, value: bytes) -> None:
    # RFC 2045 section 5.1: content := "Content-Type" ":" type "/" subtype
    # *(";" parameter). Dovecot 2.3 keeps a lone type at the end of the
    # value ("text"), but anything else that is not type "/" subtype
    # followed by ";" or the end makes the whole type empty.
    lex = Lexer(value)
    data.ctype, data.subtype = b"", None
    if lex.skip_lwsp() <= 0:
        return
    tbuf: list[bytes] = []
    if lex.mime_token(tbuf) <= 0:
        data.ctype = tbuf[0]
        return
    if not tbuf[0] or lex.peek() != 0x2F:
        return
    lex.pos += 1
    if lex.skip_lwsp() <= 0:
        return
    sbuf: list[bytes] = []
    ret = lex.mime_token(sbuf)
    if ret < 0 or not sbuf[0] or (ret > 0 and lex.peek() != 0x3B):
        return
    data.ctype, data.subtype = tbuf[0], sbuf[0]
    data.params = _rfc2231(lex)


def _parse_language(value: bytes) -> list[bytes] | None:
    # RFC 3282: Content-Language = 1#Language-tag
    lex = Lexer(value)
    lex.skip_lwsp()
    langs: list[bytes] = []
    while True:
        buf: list[bytes] = []
        if lex.atom(buf) < 0:
            break
        langs.append(buf[0])
        if lex.pos >= lex.end or lex.peek() != 0x2C:
            break
        lex.pos += 1
        lex.skip_lwsp()
    return langs or None


def _content_param(lex: Lexer) -> tuple[int, bytes, bytes]:
    """One ``";" attribute "=" value`` (RFC 2045 section 5.1)."""
    if lex.pos >= lex.end:
        return 0, b"", b""
    if lex.peek() != 0x3B:
        return -1, b"", b""
    lex.pos += 1
    if lex.skip_lwsp() <= 0:
        return -1, b"", b""
    kbuf: list[bytes] = []
    if lex.mime_token(kbuf) <= 0 or lex.peek() != 0x3D:
        return -1, b"", b""
    lex.pos += 1
    vbuf: list[bytes] = []
    ret = lex.skip_lwsp()
    if ret <= 0:
        pass  # no value
    elif lex.peek() == 0x22:
        ret = lex.quoted_string(vbuf)
    elif lex.peek() == 0x3D:
        # Broken input seen in the wild: name==?utf-8?b?...?=
        data, end = lex.data, lex.end
        start = lex.pos
        while lex.pos < end and data[lex.pos] not in b"; \t\r\n":
            lex.pos += 1
        vbuf.append(data[start:lex.pos])
    else:
        ret = lex.mime_token(vbuf)
    return (-1 if ret < 0 else 1), kbuf[0], b"".join(vbuf)


def _rfc2231(lex: Lexer) -> list[tuple[bytes, bytes]]:
    """Parameters, with RFC 2231 section 3 continuations joined (undecoded).

    Mirrors Dovecot's ``rfc2231_parse`` exactly, including its quirk that a
    ``name*`` without an index inherits the index of the previous
    continuation parameter of the same field.
    """
    plain: list[tuple[bytes, bytes]] = []
    ext: list[tuple[bytes, int, bool, bytes]] = []
    idx = 0
    while True:
        ret, key, value = _content_param(lex)
        if ret == 0:
            break
        if ret < 0:
            if lex.pos >= lex.end:
                break
            lex.pos += 1
            continue
        star = key.find(b"*")
        if star < 0:
            plain.append((key, value))
            continue
        p = star
        n = len(key)
        if p + 1 < n:
            p += 1
            idx = 0
            while p < n and 0x30 <= key[p] <= 0x39:
                idx = idx * 10 + key[p] - 0x30
                p += 1
        extended = p < n and key[p] == 0x2A
        if extended:
            p += 1
        if p < n:
            plain.append((key, value))
        else:
            ext.append((key[:star], idx, extended, value))
    if not ext:
        return plain
    ext.sort(key=lambda e: (e[0], e[1]))
    i = 0
    while i < len(ext):
        name = ext[i][0].lower()
        j = i
        ok = True
        have_ext = False
        while j < len(ext) and ext[j][0].lower() == name:
            if ext[j][1] != j - i:
                ok = False
            have_ext = have_ext or ext[j][2]
            j += 1
        group = ext[i:j]
        if not ok:
            for key, n_idx, is_ext, value in group:
                plain.append((key + b"*" + str(n_idx).encode() + (b"*" if is_ext else b""),
                              value))
        else:
            pieces = [b"''"] if have_ext and not group[0][2] else []
            for _key, _n, is_ext, value in group:
                pieces.append(value.replace(b"%", b"%25") if have_ext and not is_ext
                              else value)
            plain.append((group[0][0] + (b"*" if have_ext else b""), b"".join(pieces)))
        i = j
    return plain


# -- BODY and BODYSTRUCTURE -----------------------------------------------------------------

def _params(params: list[tuple[bytes, bytes]], default_charset: bool) -> tuple[str, ...] | None:
    if not params and not default_charset:
        return None
    out: list[str] = []
    seen = False
    for key, value in params:
        if default_charset and key.lower() == b"charset":
            seen = True
        out.append(_text(key))
        out.append(_text(value))
    if default_charset and not seen:
        out.extend(_DEFAULT_CHARSET)
    return tuple(out)


def _extension(data: MimeData) -> tuple[Any, ...]:
    disposition = None
    if data.disposition is not None:
        disposition = (_text(data.disposition), _params(data.disposition_params, False))
    language = None if data.language is None else tuple(_text(x) for x in data.language)
    location = None if data.location is None else nolf(data.location)
    return (disposition, language, location)


def body_structure(node: Node, *, extended: bool = True) -> tuple[Any, ...]:
    """BODYSTRUCTURE (``extended=True``) or BODY of a node
    (:func:`message_node` for a whole message).

    Returns:
        The parenthesized list as a tuple (see the module docstring).
        Never raises on malformed input.
    """
    data = node.mime
    if node.kind == MULTIPART:
        children = [body_structure(c, extended=extended) for c in node.children]
        if not children:
            children = [_EMPTY_BASIC + _EMPTY_EXT if extended else _EMPTY_BASIC]
        out: list[Any] = [*children, _text(data.subtype or b"")]
        if extended:
            out.append(_params(data.params, False))
            out.extend(_extension(data))
        return tuple(out)

    if node.kind == RFC822:
        head: list[Any] = ["message", "rfc822"]
    elif data.ctype is None:
        head = ["text", "plain"]
    else:
        head = [_text(data.ctype), _text(data.subtype or b"")]
    octets, lines = node.size()
    out = [*head, _params(data.params, node.text),
           None if data.id is None else nolf(data.id),
           None if data.description is None else nolf(data.description),
           "7bit" if data.encoding is None else _text(data.encoding),
           octets]
    if node.text:
        out.append(lines)
    elif node.kind == RFC822:
        inner = node.children[0]
        out.append(envelope_from_fields(inner.fields))
        out.append(body_structure(inner, extended=extended))
        out.append(lines)
    if extended:
        out.append(None if data.md5 is None else nolf(data.md5))
        out.extend(_extension(data))
    return tuple(out)


def strip_extensions(structure: tuple[Any, ...]) -> tuple[Any, ...]:
    """BODY from BODYSTRUCTURE: the same list without the extension data
    (a cached BODYSTRUCTURE answers a FETCH BODY without parsing again)."""
    if isinstance(structure[0], tuple):  # multipart: parts, subtype, 4 extensions
        parts: list[tuple[Any, ...]] = []
        i = 0
        while i < len(structure) and isinstance(structure[i], tuple):
            parts.append(strip_extensions(structure[i]))
            i += 1
        return (*parts, structure[i])
    out = list(structure[:-4])
    if len(out) == 10:  # message/rfc822: envelope, body, lines
        out[8] = strip_extensions(out[8])
    return tuple(out)
