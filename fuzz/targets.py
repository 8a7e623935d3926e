"""Fuzz targets: each takes bytes and checks mimekit's invariants.

A target raises ``AssertionError`` when an invariant breaks; any other
exception is a crash (parsers must never raise on input).
"""

from __future__ import annotations

from collections.abc import Callable

import mimekit
from mimekit import codecs, fields


def _read_everything(msg: mimekit.Message) -> None:
    for part in msg.walk():
        for h in part.headers:
            _ = (h.text, h.value, h.defects)
        _ = (part.content_type, part.filename, part.disposition, part.content_id)
        part.get_bytes()
        part.get_text()
        _ = part.defects
    _ = (msg.subject, msg.from_, msg.to, msg.date, msg.message_id, msg.references)
    _ = (msg.text_body, msg.html_body, msg.attachments)


def parse(data: bytes) -> None:
    """Whole messages: never raises; bytes(parse(x)) == x before and after reading."""
    msg = mimekit.parse(data)
    assert bytes(msg) == data, "round trip changed the bytes"
    _read_everything(msg)
    assert bytes(msg) == data, "reading the tree changed the bytes"
    # Chunked feeding gives the same bytes (and so the same tree).
    p = mimekit.Parser()
    for i in range(0, len(data), 7):
        p.feed(data[i:i + 7])
    assert bytes(p.close()) == data


def edit(data: bytes) -> None:
    """Re-serializing an edited header re-parses to the same value."""
    msg = mimekit.parse(data)
    msg.headers.set("Subject", "fuzz \u00e9\u20ac subject")
    again = mimekit.parse(bytes(msg))
    assert again.subject == "fuzz \u00e9\u20ac subject"
    assert [p.content_type.mime_type for p in again.walk()] == \
        [p.content_type.mime_type for p in msg.walk()]


def _text(fn: Callable[[str], object]) -> Callable[[bytes], None]:
    def target(data: bytes) -> None:
        fn(data.decode("utf-8", "surrogateescape"))
    target.__doc__ = f"{fn.__name__} on arbitrary text: never raises."
    return target


def base64(data: bytes) -> None:
    """base64: never raises; chunked decoding equals one-shot decoding."""
    whole, defects = codecs.decode_base64(data)
    dec = codecs.Base64Decoder()
    out = b"".join(dec.feed(data[i:i + 5]) for i in range(0, len(data), 5)) + dec.close()
    assert out == whole and dec.defects == defects


def qp(data: bytes) -> None:
    """quoted-printable: never raises; chunked decoding equals one-shot decoding."""
    whole, defects = codecs.decode_qp(data)
    dec = codecs.QPDecoder()
    out = b"".join(dec.feed(data[i:i + 3]) for i in range(0, len(data), 3)) + dec.close()
    assert out == whole and dec.defects == defects


TARGETS: dict[str, Callable[[bytes], None]] = {
    "parse": parse,
    "edit": edit,
    "address": _text(fields.parse_address_list),
    "date": _text(fields.parse_date),
    "content-type": _text(fields.parse_content_type),
    "content-disposition": _text(fields.parse_content_disposition),
    "message-id": _text(fields.parse_message_id_list),
    "rfc2047": _text(codecs.decode_encoded_words),
    "base64": base64,
    "qp": qp,
}
