"""Whole-message targets: ``parse`` and ``edit``."""

from __future__ import annotations

import os
import random
import tempfile
from collections.abc import Iterator

import mimekit
from mimekit.fields import AddressList, Group, Mailbox, Received

from ._common import chunkings, corpus_messages, same_domain
from ._fields import received_key

__all__ = ["edit", "generate_message", "parse"]

_TMP = os.path.join(tempfile.gettempdir(), f"mimekit-fuzz-{os.getpid()}.eml")


def _read_everything(msg: mimekit.Message) -> Iterator[object]:
    """Touch every lazy value (each may parse or decode); yield features."""
    for part in msg.walk():
        for h in part.headers:
            _ = (h.text, h.value, h.defects)
        _ = (part.content_type, part.filename, part.disposition, part.content_id)
        part.get_bytes()
        part.get_text()
        for d in part.defects:
            yield d.kind
        yield part.content_type.mime_type
    _ = (msg.subject, msg.from_, msg.to, msg.cc, msg.date, msg.message_id, msg.references,
         msg.in_reply_to, msg.sender, msg.reply_to)
    _ = (msg.text_body, msg.html_body, msg.attachments)
    for d in msg.all_defects():
        yield d.kind


def _shape(msg: mimekit.Message) -> list[tuple[str, int, int]]:
    return [(p.content_type.mime_type, p.offset, len(p.defects)) for p in msg.walk()]


def parse(data: bytes) -> set[object]:
    """Whole messages: never raises; ``bytes(parse(x)) == x`` before and after
    reading every value; the incremental Parser (any chunking) and parse_file
    give the same tree."""
    msg = mimekit.parse(data)
    assert bytes(msg) == data, "round trip changed the bytes"
    features = set(_read_everything(msg))
    assert bytes(msg) == data, "reading the tree changed the bytes"
    shape = _shape(msg)
    features.add(("parts", min(len(shape), 20)))
    for pieces in chunkings(data)[:1]:
        p = mimekit.Parser()
        for piece in pieces:
            p.feed(piece)
        again = p.close()
        assert bytes(again) == data and _shape(again) == shape, "chunked feeding differs"
    # parse_file reads by offsets through file windows: other code, same tree.
    with open(_TMP, "wb") as f:
        f.write(data)
    try:
        with mimekit.parse_file(_TMP) as from_file:
            assert _shape(from_file) == shape, "parse_file gives another tree"
            assert bytes(from_file) == data
            for a, b in zip(from_file.walk(), msg.walk(), strict=True):
                assert a.get_bytes() == b.get_bytes(), "parse_file decodes another body"
    finally:
        os.unlink(_TMP)
    return features


def _norm(value: object) -> object:
    """A typed value with the representation choices taken out: a non-ASCII
    domain is written as its IDNA A-label (the same domain)."""
    if isinstance(value, Received):
        return received_key(value)
    if isinstance(value, Mailbox):
        return (value.name, value.local_part, same_domain(value.domain))
    if isinstance(value, Group):
        return (value.name, [_norm(m) for m in value.mailboxes])
    if isinstance(value, AddressList):
        return [_norm(item) for item in value]
    return value


def _same_value(name: str, a: object, b: object) -> bool:
    if name.lower() == "return-path" and isinstance(a, AddressList) \
            and isinstance(b, AddressList):
        # A path has no display name: format_field drops it, by design.
        return [_norm(m)[1:] for m in a.mailboxes] == [_norm(m)[1:] for m in b.mailboxes]
    return _norm(a) == _norm(b)


def edit(data: bytes) -> set[object]:
    """Re-serializing an edited header re-parses to the same value: each
    field's typed value set back (a refusal is a ValueError), a new Subject,
    an added and a removed field; the other fields keep their bytes."""
    features: set[object] = set()
    msg = mimekit.parse(data)
    msg.headers.set("Subject", "fuzz \u00e9\u20ac subject")
    again = mimekit.parse(bytes(msg))
    assert again.subject == "fuzz \u00e9\u20ac subject"
    assert [p.content_type.mime_type for p in again.walk()] == \
        [p.content_type.mime_type for p in msg.walk()]
    original = mimekit.parse(data)
    for h in list(original.headers)[:12]:
        value = h.value
        if value is None:
            continue  # nothing parsed (an unreadable date): nothing to set
        m = mimekit.parse(data)
        others = [(x.name, x.raw) for x in m.headers if x.name.lower() != h.name.lower()]
        try:
            m.headers.set(h.name, value)
        except ValueError as exc:  # refused: documented (HeaderInjectionError is one)
            features.add(("refused", h.name.lower(), type(exc).__name__))
            continue
        out = bytes(m)
        back = mimekit.parse(out)
        got = back.headers.get(h.name)
        assert got is not None, f"{h.name} lost after set()"
        assert _same_value(h.name, got.value, value), \
            f"{h.name}: set {value!r:.200}, read back {got.value!r:.200} from {got.raw!r:.200}"
        kept = [(x.name, x.raw) for x in back.headers if x.name.lower() != h.name.lower()]
        assert kept == others, f"setting {h.name} changed other fields"
        features.add(("set", h.name.lower()))
    m = mimekit.parse(data)
    m.headers.add("X-Fuzz", "added \u00e9", prepend=True)
    m.headers.remove("Received")
    back = mimekit.parse(bytes(m))
    assert back.headers.text("X-Fuzz") == "added \u00e9"
    assert back.headers.get("Received") is None
    return features


# -- generation ---------------------------------------------------------------------------

_CTES = (b"7bit", b"8bit", b"base64", b"quoted-printable", b"x-uuencode", b"binary", b"bogus")
_TYPES = (b"text/plain", b"text/html", b"application/octet-stream", b"image/png",
          b"message/rfc822", b"message/partial; id=x; number=1; total=2",
          b"message/delivery-status", b"text/plain; charset=iso-8859-1",
          b"text/plain; charset=utf-8; format=flowed", b"text/plain; charset=bogus")


def _entity(rng: random.Random, depth: int, nl: bytes) -> bytes:
    headers = []
    if rng.random() < 0.3:
        headers.append(b"Content-Disposition: attachment; filename*0*=utf-8''%E2%82; "
                       b"filename*1*=%AC.txt")
    if depth < 4 and rng.random() < 0.35:
        boundary = rng.choice((b"b", b"bb", b"=_x", b"a" * 70, b"b" + str(depth).encode()))
        headers.append(b"Content-Type: multipart/" + rng.choice((b"mixed", b"alternative",
                       b"related", b"digest")) + b"; boundary=\"" + boundary + b"\"")
        parts = [_entity(rng, depth + 1, nl) for _ in range(rng.randint(0, 3))]
        body = rng.choice((b"", b"preamble" + nl))
        for part in parts:
            body += b"--" + boundary + rng.choice((b"", b"  ", b"\t")) + nl + part + nl
        if rng.random() < 0.8:
            body += b"--" + boundary + b"--" + nl + rng.choice((b"", b"epilogue" + nl))
        return nl.join(headers) + nl + nl + body
    ctype = rng.choice(_TYPES)
    headers.append(b"Content-Type: " + ctype)
    cte = rng.choice(_CTES)
    headers.append(b"Content-Transfer-Encoding: " + cte)
    if ctype.startswith(b"message/rfc822") and depth < 4:
        body = _message(rng, depth + 1, nl)
    elif cte == b"base64":
        import base64

        body = base64.encodebytes(rng.randbytes(rng.randint(0, 200))).replace(b"\n", nl)
    elif cte == b"quoted-printable":
        body = b"caf=C3=A9 =" + nl + b"soft break=3D" + nl
    elif cte == b"x-uuencode":
        body = b"begin 644 f.bin" + nl + b"#86)C" + nl + b"`" + nl + b"end" + nl
    else:
        body = b"hello" + nl + b"\xc3\xa9t\xc3\xa9" + nl
    return nl.join(headers) + nl + nl + body


def _message(rng: random.Random, depth: int, nl: bytes) -> bytes:
    head = [b"From: =?utf-8?q?J=C3=B6rg?= <j@example.org>", b"To: a@b.example, \"C, D\" <c@d>",
            b"Subject: =?utf-8?b?R3LDvMOfZQ==?= hello", b"Date: Tue, 1 Jul 2003 10:52:37 +0200",
            b"Message-ID: <m1@example.org>", b"MIME-Version: 1.0",
            b"Received: from a (b [192.0.2.1]) by c with ESMTPS id x; 1 Jul 2003 10:52 +0200"]
    rng.shuffle(head)
    head = head[:rng.randint(0, len(head))]
    return nl.join(head) + (nl if head else b"") + _entity(rng, depth, nl)


def generate_message(rng: random.Random) -> bytes:
    """A MIME message from a small grammar (nesting, every transfer
    encoding, RFC 2047/2231 values), or a corpus message."""
    if rng.random() < 0.3:
        return rng.choice(corpus_messages())
    return _message(rng, 0, rng.choice((b"\r\n", b"\r\n", b"\n")))
