"""Header field targets: each parser never raises, its fast path agrees with
the full parser, and a parsed value written back (``format_field``) parses
to the same value. A value the formatter refuses raises ``ValueError``
(the documented caller-error regime); anything else is a failure."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Mapping

from mimekit import codecs
from mimekit.fields import (
    AddressList,
    Group,
    Received,
    format_date,
    format_field,
    parse_address_list,
    parse_content_disposition,
    parse_content_type,
    parse_date,
    parse_mailbox,
    parse_message_id,
    parse_message_id_list,
    parse_received,
)
from mimekit.fields._address import parse_address_list_slow
from mimekit.fields._content_type import parse_content_type_slow
from mimekit.fields._date import parse_date_slow
from mimekit.fields._msgid import parse_message_id_list_slow, parse_message_id_slow
from mimekit.fields._received import parse_received_slow

from ._common import same_domain, text

__all__ = ["FIELD_TARGETS"]


def _short(*values: object) -> str:
    """Values for an assertion message, each cut to a readable length."""
    return " -> ".join(r if len(r := repr(v)) <= 200 else r[:200] + "..." for v in values)


def _literal_words(params: Mapping[str, str]) -> bool:
    """Known, tracked by an xfail in tests/test_compose.py: a name or
    filename that holds RFC 2047 words literally is written as a quoted
    string, and reads back decoded (compose relies on that for Outlook)."""
    return any(k in ("name", "filename") and "=?" in v for k, v in params.items())


def _kinds(defects: Iterable[object]) -> set[object]:
    return {getattr(d, "kind", d) for d in defects}


def _mailbox_key(al: AddressList) -> list[tuple[str, str, str]]:
    # A non-ASCII domain goes out as its IDNA A-label: the same domain.
    return [(m.name, m.local_part, same_domain(m.domain)) for m in al.mailboxes]


def _spaced(key: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    return [(" ".join(name.split()), local, domain) for name, local, domain in key]


def _list_key(al: AddressList) -> list[object]:
    return [(item.name, _mailbox_key(AddressList(item.mailboxes))) if isinstance(item, Group)
            else _mailbox_key(AddressList([item])) for item in al]


def address(data: bytes) -> set[object]:
    """Address lists: fast == full parser; the typed value and the text
    written with format_field read back as the same mailboxes."""
    t = text(data)
    al, defects = parse_address_list(t)
    assert (al, defects) == parse_address_list_slow(t), "fast path disagrees"
    parse_mailbox(t)
    if al:
        try:
            out = format_field("To", al)
        except ValueError:
            pass
        else:
            back, _ = parse_address_list(out)
            assert _list_key(back) == _list_key(al), \
                "typed round trip: " + _short(al, out, back)
    try:
        out = format_field("To", t)
    except ValueError:
        pass
    else:
        back, _ = parse_address_list(out)
        # Known: a tab in a display-name word that needs encoding is kept in
        # the encoded word, while plain reading turns it into a space.
        assert _spaced(_mailbox_key(back)) == _spaced(_mailbox_key(al)), \
            "text round trip: " + _short(t, out)
    return _kinds(defects) | {("n", min(len(al), 5))}


def date(data: bytes) -> set[object]:
    """Dates: fast == full parser; a parsed date written back reads back equal."""
    t = text(data)
    dt, defects = parse_date(t)
    assert (dt, defects) == parse_date_slow(t), "fast path disagrees"
    if dt is not None:
        out = format_date(dt)
        back, _ = parse_date(out)
        assert back == dt and back is not None and back.utcoffset() == dt.utcoffset(), \
            _short(dt, out, back)
    return _kinds(defects) | {dt is None}


def content_type(data: bytes) -> set[object]:
    """Content-Type with RFC 2231 parameters: fast == full parser; the typed
    value written back reads back equal."""
    t = text(data)
    ct, defects = parse_content_type(t)
    assert (ct, defects) == parse_content_type_slow(t), "fast path disagrees"
    _ = (ct.mime_type, ct.charset, ct.boundary, dict(ct.params))
    try:
        out = format_field("Content-Type", ct)
    except ValueError:
        pass
    else:
        back, _ = parse_content_type(out)
        assert back == ct or _literal_words(ct.params), _short(ct, out, back)
    return _kinds(defects) | {("params", min(len(ct.params), 5))}


def content_disposition(data: bytes) -> set[object]:
    """Content-Disposition: never raises; the typed value written back reads back equal."""
    t = text(data)
    cd, defects = parse_content_disposition(t)
    _ = (cd.filename, dict(cd.params))
    try:
        out = format_field("Content-Disposition", cd)
    except ValueError:
        pass
    else:
        back, _ = parse_content_disposition(out)
        assert back == cd or _literal_words(cd.params), _short(cd, out, back)
    return _kinds(defects)


def message_id(data: bytes) -> set[object]:
    """Message-ID and References: fast == full parser; identifiers written
    back read back equal."""
    t = text(data)
    one = parse_message_id(t)
    assert one == parse_message_id_slow(t), "fast path disagrees (one id)"
    ids, defects = parse_message_id_list(t)
    assert (ids, defects) == parse_message_id_list_slow(t), "fast path disagrees (list)"
    if ids:
        try:
            out = format_field("References", ids)
        except ValueError:
            pass
        else:
            # Known: format_message_id strips whitespace around an
            # identifier, and the lenient reader may keep some inside the
            # brackets ("<a@b >"); compare without it.
            back = parse_message_id_list(out)[0]
            assert back == [i.strip(" \t") for i in ids], _short(ids, out)
    return _kinds(defects) | _kinds(one[1]) | {("n", min(len(ids), 3))}


def received_key(r: Received) -> tuple[object, ...]:
    """What Received.format writes: the RFC 5321 clauses (not helo, ident,
    TLS details); TCP-info only as "(name [ip])" after a FROM domain."""
    key: tuple[object, ...] = (r.by, r.via, r.with_, r.id, r.for_, r.date, r.from_)
    if r.from_ is not None and r.from_ip is not None:
        key += (r.from_ip, r.from_iprev)
    return key


def received(data: bytes) -> set[object]:
    """Received: fast == full parser; the RFC 5321 clauses written back read back equal."""
    t = text(data)
    r, defects = parse_received(t)
    assert (r, defects) == parse_received_slow(t), "fast path disagrees"
    if r.date is not None:
        try:
            out = r.format()
        except ValueError:
            pass
        else:
            back, _ = parse_received(out)
            assert received_key(back) == received_key(r), _short(r, out, back)
    return _kinds(defects) | {(k, getattr(r, k) is None) for k in ("from_", "by", "with_")}


def rfc2047(data: bytes) -> set[object]:
    """RFC 2047 text: decoding never raises; decoded text encoded again
    (encode_words) decodes to itself; raw header bytes decode."""
    t = text(data)
    decoded, defects = codecs.decode_encoded_words(t)
    codecs.needs_encoding(t)
    codecs.decode_header_bytes(data)
    clean = "".join(c for c in decoded if c not in "\r\n" and not 0xD800 <= ord(c) <= 0xDFFF)
    words = codecs.encode_words(clean)
    back, more = codecs.decode_encoded_words(" ".join(words))
    assert back == clean, _short(clean, words, back)
    assert not more, more
    return _kinds(defects)


FIELD_SEEDS: tuple[bytes, ...] = (
    b"John Doe <jdoe@example.org>", b"\"a b\" <a@b.c>, (c) d@e.f", b"undisclosed-recipients:;",
    b"=?utf-8?q?J=C3=B6rg?= <j@b\xc3\xbccher.de>, g: a@b, c@d;",
    b"Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>",
    b"<@route,@x:a@b>, a.b.@c, \"\\\"\"@[1.2.3.4]",
    b"Tue, 1 Jul 2003 10:52:37 +0200", b"1 Jul 03 10:52 EST", b"Thu, 13 Feb 1969 23:32 -0330 (x)",
    b"text/plain; charset=\"utf-8\"; format=flowed",
    b"multipart/mixed; boundary=\"=_a b\"; x*=utf-8'en'%E2%82%AC",
    b"attachment; filename*0*=utf-8''%E2%82; filename*1*=%AC.txt; size=10",
    b"inline; filename=\"=?utf-8?q?a=C3=A9?=.txt\"; creation-date=\"x\"",
    b"<a@b> <c@d>", b"<a@b>, junk <c@[d]> (comment) <e>",
    b"=?utf-8?q?caf=C3=A9?= =?utf-8?b?4oKs?=", b"=?iso-8859-1*fr?q?=E9?= a =?x?q?y?=",
    b"from mail.example (mail.example [192.0.2.1]) by mx.example (Postfix) with ESMTPS id ABC "
    b"for <u@example.org>; Tue, 1 Jul 2003 10:52:37 +0200",
    b"from [IPv6:2001:db8::1] (helo=x) by y with esmtpsa (TLS1.3:ECDHE_RSA_AES_256_GCM_SHA384:256)"
    b" id 1a; Tue, 1 Jul 2003 10:52:37 +0200",
)


def generate_field(rng: random.Random) -> bytes:
    """A field value spliced from the seeds and the special characters."""
    pieces = [rng.choice(FIELD_SEEDS)]
    for _ in range(rng.randint(0, 4)):
        seed = rng.choice(FIELD_SEEDS)
        a = rng.randint(0, len(seed))
        pieces.append(seed[a:a + rng.randint(1, 30)])
        pieces.append(rng.choice((b" ", b", ", b"; ", b"(", b")", b'"', b"\r\n ", b"")))
    return b"".join(pieces)


FIELD_TARGETS: dict[str, Callable[[bytes], object]] = {
    "address": address,
    "date": date,
    "content-type": content_type,
    "content-disposition": content_disposition,
    "message-id": message_id,
    "received": received,
    "rfc2047": rfc2047,
}
