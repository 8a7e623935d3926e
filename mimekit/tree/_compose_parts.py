"""Building the MIME entities of a new message: leaves, encodings, multiparts.

This module turns Python values into the *bytes* of MIME entities; the
public :func:`mimekit.compose` assembles them and parses the result, so a
composed message is backed by bytes like any parsed one.

Every header field goes through :meth:`Header.create` (that is
:func:`mimekit.fields.format_field` plus the tree's folding at 78), every
body through the :mod:`mimekit.codecs` encoders; nothing here escapes text
by hand.

Transfer encodings (RFC 2045 section 2.7 to 2.9 and 6):

* text bodies (``text=``, ``html=``): line breaks become the message's line
  ending; then ``7bit`` when the result is ASCII with lines of at most 998
  octets and no NUL; ``8bit`` under the same conditions for non-ASCII text
  when ``utf8=True`` (RFC 6532 messages travel with SMTPUTF8, which implies
  8BITMIME); otherwise ``quoted-printable`` or ``base64``, whichever is
  shorter (QP for mostly-ASCII text, base64 for mostly non-ASCII text);
* attachments: ``7bit`` when the bytes already are canonical 7-bit lines
  (ASCII, no NUL, every line break is the message's line ending, lines of
  at most 998 octets), so the bytes read back identical; ``base64``
  otherwise;
* ``message/rfc822`` attachments: ``7bit``, ``8bit`` or ``binary`` (RFC 2046
  section 5.2.1 forbids any other), so the attached message stays
  byte-identical and readable by every parser.
"""

from __future__ import annotations

import mimetypes
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from ..codecs import encode_base64, encode_qp
from ..fields import ContentDisposition, ContentType, parse_content_type
from ._folding import check_name, fold
from ._headers import Header

__all__ = [
    "Entity",
    "attachment_entity",
    "guess_type",
    "multipart",
    "serialize",
    "text_entity",
]

#: RFC 5322 section 2.1.1: a line MUST be at most 998 octets (CRLF excluded).
MAX_LINE: Final = 998

_LINE_BREAK = re.compile(r"\r\n|\r|\n")

#: What a compressed file's ``mimetypes`` "encoding" means as a MIME type:
#: ``a.tar.gz`` is gzip data, not ``application/x-tar``.
_COMPRESSED: Final[Mapping[str, str]] = {
    "gzip": "application/gzip",
    "bzip2": "application/x-bzip2",
    "xz": "application/x-xz",
    "compress": "application/x-compress",
    "br": "application/x-brotli",
}

_MESSAGE_TYPES: Final = frozenset({"message/rfc822", "message/global"})


@dataclass(slots=True)
class Entity:
    """One MIME entity to write.

    Attributes:
        fields: Its header fields as ``(name, value)``; values are anything
            :meth:`Header.create` accepts.
        body: The body, transfer encoding already applied (leaves only).
        subtype: ``"mixed"``, ``"alternative"``... for a multipart; empty
            for a leaf.
        children: The parts of a multipart.
        params: Content-Type parameters of a multipart besides ``boundary``
            (``type`` for ``multipart/related``, RFC 2387 section 3.1).
    """

    fields: list[tuple[str, object]] = field(default_factory=list)
    body: bytes = b""
    subtype: str = ""
    children: list[Entity] = field(default_factory=list)
    params: dict[str, str] = field(default_factory=dict)


# -- encodings ---------------------------------------------------------------


def _longest_line(data: bytes, linesep: bytes) -> int:
    if len(data) <= MAX_LINE:
        return len(data)  # cheap upper bound, enough below the limit
    return max(len(line) for line in data.split(linesep))


def _is_7bit_clean(data: bytes, linesep: bytes) -> bool:
    """ASCII, no NUL, every line break is ``linesep``, lines <= 998 octets.

    Such bytes read back identical through any MIME reader (RFC 2045
    section 2.7 "7bit data"), so they need no transfer encoding.
    """
    if not data.isascii() or b"\x00" in data:
        return False
    if linesep == b"\r\n":
        if data.count(b"\r") != data.count(b"\r\n") or data.count(b"\n") != data.count(b"\r\n"):
            return False
    elif b"\r" in data:
        return False
    return _longest_line(data, linesep) <= MAX_LINE


def encode_text(text: str, linesep: bytes, *, allow_8bit: bool) -> tuple[bytes, str, bool]:
    """Encode body text: returns ``(body, transfer_encoding, is_ascii)``.

    Every line break (CRLF, LF or a lone CR) becomes ``linesep``: text is
    line-oriented (RFC 2046 section 4.1.1) and a bare CR or LF is not
    allowed in a 7bit or 8bit body. A final line break is neither added nor
    removed, so :meth:`Part.get_text` gives the text back (with ``linesep``
    line endings).

    Raises:
        TypeError: ``text`` is not a ``str``.
        ValueError: ``text`` contains a lone surrogate.
    """
    if not isinstance(text, str):
        raise TypeError(f"body text must be str, not {type(text).__name__}")
    sep = linesep.decode("ascii")
    if "\r" in text or (sep != "\n" and "\n" in text):
        text = _LINE_BREAK.sub(sep, text)
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(f"body text contains a lone surrogate at index {exc.start}") from None
    ascii_ = data.isascii()
    if b"\x00" not in data and _longest_line(data, linesep) <= MAX_LINE:
        if ascii_:
            return data, "7bit", True
        if allow_8bit:
            return data, "8bit", False
    qp = encode_qp(data, linesep=linesep)
    b64 = encode_base64(data, linesep=linesep)
    # QP keeps mostly-ASCII text readable; for mostly non-ASCII text (each
    # octet "=XX") base64 is far smaller. Ties go to QP.
    if len(qp) <= len(b64):
        return qp, "quoted-printable", ascii_
    return b64, "base64", ascii_


def _message_encoding(data: bytes, linesep: bytes) -> str:
    """The identity encoding (RFC 2046 section 5.2.1) that fits ``data``."""
    if b"\x00" in data:
        return "binary"
    if len(data) > MAX_LINE and any(
            len(line) - line.endswith(b"\r") > MAX_LINE for line in data.split(b"\n")):
        return "binary"  # RFC 5322 2.1.1: not even 8bit allows such lines
    cr = data.count(b"\r")
    if cr and cr != data.count(b"\r\n"):
        return "binary"  # a bare CR is neither 7bit nor 8bit (RFC 2045 2.7)
    return "7bit" if data.isascii() else "8bit"


# -- leaves ------------------------------------------------------------------


def text_entity(text: str, subtype: str, linesep: bytes, *, utf8: bool) -> Entity:
    """A ``text/plain`` or ``text/html`` body part.

    ``charset=us-ascii`` for ASCII text, else ``charset=utf-8``.
    """
    body, cte, ascii_ = encode_text(text, linesep, allow_8bit=utf8)
    ctype = ContentType(f"text/{subtype}", charset="us-ascii" if ascii_ else "utf-8")
    return Entity(fields=[("Content-Type", ctype), ("Content-Transfer-Encoding", cte)],
                  body=body)


def guess_type(filename: str) -> str:
    """The MIME type for ``filename`` by its extension (``mimetypes``).

    A compressed file (``.gz``, ``.bz2``, ``.xz``...) is typed as the
    compression, not as what is inside; an unknown extension gives
    ``application/octet-stream`` (RFC 2046 section 4.5.1).
    """
    mime, encoding = mimetypes.guess_type(filename, strict=False)
    if encoding is not None:
        return _COMPRESSED.get(encoding, "application/octet-stream")
    return mime or "application/octet-stream"


def attachment_entity(
    filename: str | None,
    data: bytes | str,
    mime_type: str | ContentType,
    linesep: bytes,
    *,
    utf8: bool,
    disposition: str = "attachment",
    content_id: str | None = None,
) -> Entity:
    """A file part: Content-Type (with ``name``), Content-Disposition (with
    ``filename``), Content-ID for inline parts, and an encoded body.

    Args:
        filename: The file name, or None for none.
        data: The file's bytes (for ``message/rfc822``: the whole message),
            or text: encoded as UTF-8 like a body (line breaks become
            ``linesep``, 7bit/8bit/QP/base64 as for body text) and, for a
            ``text/*`` type, declared with a charset.
        mime_type: ``"type/subtype"``, optionally with parameters, or a
            :class:`ContentType`.
        linesep: The message's line ending.
        utf8: Write RFC 6532 raw UTF-8 parameters instead of RFC 2231/2047.
        disposition: ``"attachment"`` or ``"inline"`` (RFC 2183).
        content_id: The Content-ID (without ``<>``), for ``cid:`` references.

    Raises:
        ValueError: an invalid MIME type, a ``multipart/*`` type, or an
            empty file name.
        HeaderInjectionError: CR, LF or NUL in the file name.
    """
    ctype = _content_type(mime_type)
    if ctype.maintype == "multipart":
        raise ValueError(f"cannot attach data as {ctype.mime_type}: attach a Message instead")
    params = {k: v for k, v in ctype.params.items() if k not in ("name", "boundary")}
    text_cte: str | None = None
    if isinstance(data, str):
        if ctype.mime_type in _MESSAGE_TYPES:
            raise TypeError("give an attached message as bytes or a Message, not str")
        data, text_cte, ascii_ = encode_text(data, linesep, allow_8bit=utf8)
        if ctype.maintype == "text" and "charset" not in params:
            params["charset"] = "us-ascii" if ascii_ else "utf-8"
    disp_params: dict[str, str] = {}
    if filename is not None:
        if not isinstance(filename, str):
            raise TypeError(f"file name must be str, not {type(filename).__name__}")
        if not filename:
            raise ValueError("empty file name (give None for no file name)")
        params["name"] = filename  # written the way Outlook reads it
        disp_params["filename"] = filename
    fields: list[tuple[str, object]] = [
        ("Content-Type", ContentType(ctype.mime_type, params)),
        ("Content-Disposition", ContentDisposition(disposition, disp_params)),
    ]
    if content_id is not None:
        fields.append(("Content-ID", content_id))
    if text_cte is not None:
        cte, body = text_cte, data
    elif ctype.mime_type in _MESSAGE_TYPES:
        cte = _message_encoding(data, linesep)
        body = data
    elif _is_7bit_clean(data, linesep):
        cte, body = "7bit", data
    else:
        cte, body = "base64", encode_base64(data, linesep=linesep)
    fields.append(("Content-Transfer-Encoding", cte))
    return Entity(fields=fields, body=body)


def _content_type(mime_type: str | ContentType) -> ContentType:
    if isinstance(mime_type, ContentType):
        return mime_type
    if not isinstance(mime_type, str):
        raise TypeError(f"MIME type must be str, not {type(mime_type).__name__}")
    ctype, defects = parse_content_type(mime_type)
    if defects or "/" not in mime_type:
        raise ValueError(f"invalid MIME type: {mime_type!r}")
    return ctype


def multipart(subtype: str, children: list[Entity], **params: str) -> Entity:
    """A ``multipart/<subtype>`` of ``children`` (its boundary is chosen when
    written).

    Raises:
        ValueError: no children (RFC 2046 section 5.1.1 requires at least
            one body part).
    """
    if not children:
        raise ValueError(f"multipart/{subtype} needs at least one part")
    return Entity(subtype=subtype, children=children, params=params)


# -- writing -----------------------------------------------------------------


def _new_boundary() -> str:
    # "=_" cannot occur in base64 or quoted-printable output, and 96 random
    # bits make an accidental match in other bodies negligible (it is
    # checked anyway, RFC 2046 section 5.1.1).
    return "=_mimekit_" + secrets.token_hex(12)


def _boundary_for(bodies: list[bytes]) -> str:
    while True:
        boundary = _new_boundary()
        marker = b"--" + boundary.encode("ascii")
        if not any(marker in body for body in bodies):
            return boundary


# A parameter written as a token that holds "'", "*" or "%". RFC 2045 allows
# them in a token, but RFC 2231 section 7 gives them meaning (its
# attribute-char excludes them) and readers trip: CPython reads
# ``filename=it's.pdf`` as no file name at all, and ``name=a*b`` as "a".
# Names never contain "*" here (that is the RFC 2231 form, already quoted or
# percent-encoded), and a token never contains a DQUOTE, a backslash, ";" or
# whitespace, so wrapping it in quotes is the whole of quoting it.
_RISKY_TOKEN = re.compile(r"(; [A-Za-z0-9!#$&+\-.^_`|~]+=)([^\";\s]*['*%][^\";\s]*)(?=;|$)")


def _field(name: str, value: object, linesep: bytes, utf8: bool) -> bytes:
    if isinstance(value, (ContentType, ContentDisposition)):
        # Work-around until format_params quotes such tokens itself (to be
        # done in mimekit.fields): same text, quoted tokens, same folding.
        text = _RISKY_TOKEN.sub(r'\1"\2"', value.format(utf8=utf8))
        return fold(check_name(name), text, linesep, utf8=utf8)
    return Header.create(name, value, linesep, utf8=utf8).raw


def _field_bytes(fields: list[tuple[str, object]], linesep: bytes, utf8: bool) -> list[bytes]:
    return [_field(name, value, linesep, utf8) for name, value in fields]


def serialize(
    entity: Entity,
    linesep: bytes,
    *,
    utf8: bool,
    top_fields: list[bytes] | None = None,
) -> bytes:
    """The bytes of ``entity``: header block, empty line, body.

    Args:
        entity: What to write.
        linesep: ``b"\\r\\n"`` or ``b"\\n"``.
        utf8: Allow raw UTF-8 in header fields (RFC 6532).
        top_fields: Already formatted fields to write first (the message's
            own fields, for the root entity).

    A multipart is written with no preamble and no epilogue: each part is
    preceded by ``linesep--boundary linesep`` (the first without the
    leading line break, at the start of the body) and the close delimiter
    ends with ``linesep`` (RFC 2046 section 5.1.1).
    """
    head = list(top_fields or [])
    if entity.subtype:
        bodies = [serialize(child, linesep, utf8=utf8) for child in entity.children]
        boundary = _boundary_for(bodies)
        ctype = ContentType(f"multipart/{entity.subtype}", entity.params, boundary=boundary)
        head.extend(_field_bytes([("Content-Type", ctype), *entity.fields], linesep, utf8))
        dash = b"--" + boundary.encode("ascii")
        out = [*head, linesep]
        for i, body in enumerate(bodies):
            out.append(dash + linesep if i == 0 else linesep + dash + linesep)
            out.append(body)
        out.append(linesep + dash + b"--" + linesep)
        return b"".join(out)
    head.extend(_field_bytes(entity.fields, linesep, utf8))
    return b"".join([*head, linesep, entity.body])
