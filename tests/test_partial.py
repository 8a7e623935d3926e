"""message/partial reassembly (RFC 2046 section 5.2.2): MimeKit's fixtures, errors."""

from __future__ import annotations

import itertools
import re

import pytest
from conftest import CORPUS

import mimekit
from mimekit.tree._partial import PartialJoinError

PARTIAL = CORPUS / "mimekit" / "partial"


def _fragments(base: str, count: int) -> list[bytes]:
    return [(PARTIAL / f"{base}.{i}.eml").read_bytes() for i in range(count)]


def _crlf(data: bytes) -> bytes:
    return re.sub(rb"(?<!\r)\n", b"\r\n", data)


@pytest.mark.parametrize(("base", "count"), [("message-partial", 3), ("rfc2046", 2)])
def test_every_order_gives_mimekit_expected_bytes(base: str, count: int) -> None:
    expected = (PARTIAL / f"{base}.eml").read_bytes()
    fragments = _fragments(base, count)
    for order in itertools.permutations(fragments):
        assert bytes(mimekit.join_partial(order)) == expected
    # Parsed messages work the same as bytes, and so does CRLF input.
    parsed = [mimekit.parse(f) for f in reversed(fragments)]
    assert bytes(mimekit.join_partial(parsed)) == expected
    crlf = [_crlf(f) for f in fragments]
    assert bytes(mimekit.join_partial(crlf[::-1])) == _crlf(expected)


def test_joined_message_is_usable() -> None:
    msg = mimekit.join_partial(_fragments("message-partial", 3))
    assert msg.subject == "Photo of a girl with feather earrings"
    assert msg.message_id == "6MCVORPHW0U4.BCPTXD0EM9BT3@mit.edu"
    [jpeg] = msg.attachments
    assert jpeg.filename == "earrings.jpg" and jpeg.get_bytes()[:3] == b"\xff\xd8\xff"
    assert msg.all_defects() == []


def test_rfc2046_header_merging() -> None:
    msg = mimekit.join_partial(_fragments("rfc2046", 2))
    # Outer fields except Content-*/Subject/Message-ID/MIME-Version; the
    # enclosed ones of those names in their place, then the enclosed Content-*;
    # the enclosed X-Weird-Header-1/2 are dropped.
    assert [(h.name, h.text) for h in msg.headers] == [
        ("X-Weird-Header-1", "Foo"),
        ("From", "Bill@host.com"),
        ("To", "joe@otherhost.com"),
        ("Date", "Fri, 26 Mar 1993 12:59:38 -0500 (EST)"),
        ("Subject", "Audio mail"),
        ("Message-ID", "<anotherid@foo.com>"),
        ("MIME-Version", "1.0"),
        ("Content-type", "audio/basic"),
        ("Content-transfer-encoding", "base64"),
    ]


def _fragment(number: int, total: int | None, body: bytes, *, frag_id: str = "x@y",
              extra: bytes = b"") -> bytes:
    params = f'id="{frag_id}"; number={number}' + (f"; total={total}" if total else "")
    return (b"From: a@b.example\r\nSubject: part\r\n" + extra
            + f"Content-Type: message/partial; {params}\r\n\r\n".encode() + body)


INNER = b"Subject: whole\r\nX-Dropped: yes\r\nContent-Type: text/plain\r\n\r\nHello, world\r\n"


def test_enclosed_fields_without_enclosing_counterpart_are_appended() -> None:
    frags = [_fragment(1, None, INNER[:30]), _fragment(2, 2, INNER[30:])]
    msg = mimekit.join_partial(frags)
    assert bytes(msg) == (b"From: a@b.example\r\nSubject: whole\r\n"
                          b"Content-Type: text/plain\r\n\r\nHello, world\r\n")
    # The inner header block may straddle fragments.
    assert msg.get_text() == "Hello, world\r\n"


def test_duplicates_with_the_same_body_count_once() -> None:
    frags = [_fragment(2, 2, INNER[30:]), _fragment(1, 2, INNER[:30]),
             _fragment(2, 2, INNER[30:], extra=b"X-Resent: 1\r\n")]
    assert mimekit.join_partial(frags).get_text() == "Hello, world\r\n"


def test_a_fragment_with_an_encoded_body_is_decoded() -> None:
    body = INNER.replace(b"=", b"=3D")
    frag = _fragment(1, 1, body, extra=b"Content-Transfer-Encoding: quoted-printable\r\n")
    assert mimekit.join_partial([frag]).get_text() == "Hello, world\r\n"


@pytest.mark.parametrize(("fragments", "message"), [
    ([], "no fragments"),
    ([b"Subject: x\r\n\r\nbody"], "text/plain, not message/partial"),
    ([_fragment(1, 2, b"a", frag_id="one"), _fragment(2, 2, b"b", frag_id="two")],
     "different messages"),
    ([_fragment(1, None, b"a"), _fragment(2, None, b"b")], "no fragment says total"),
    ([_fragment(1, 3, b"a"), _fragment(3, 3, b"c")], "fragments missing: 2 (have 2 of 3)"),
    ([_fragment(2, 2, b"b")], "fragments missing: 1 (have 1 of 2)"),
    ([_fragment(1, 2, b"a"), _fragment(1, 2, b"A"), _fragment(2, 2, b"b")],
     "given twice, with different bodies"),
    ([_fragment(1, 2, b"a"), _fragment(2, 3, b"b")], "disagree on total"),
    ([_fragment(1, 1, b"a"), _fragment(2, None, b"b")], "beyond total=1"),
    ([_fragment(1, 999999999, b"a")], "fragments missing: 2, 3, 4"),
    ([b"Content-Type: message/partial; number=1; total=1\r\n\r\nx"], "no id"),
    ([b"Content-Type: message/partial; id=a; number=0; total=1\r\n\r\nx"], "valid number"),
    ([b"Content-Type: message/partial; id=a; number=x1; total=1\r\n\r\nx"], "valid number"),
    ([b"Content-Type: message/partial; id=a; number=1; total=-1\r\n\r\nx"], "invalid total"),
])
def test_caller_errors(fragments: list[bytes], message: str) -> None:
    with pytest.raises(PartialJoinError, match=re.escape(message)) as info:
        mimekit.join_partial(fragments)
    assert isinstance(info.value, ValueError)


def test_wrong_type() -> None:
    with pytest.raises(TypeError):
        mimekit.join_partial(["Subject: x\r\n\r\n"])  # type: ignore[list-item]


def test_large_message_is_spooled() -> None:
    # 12 MiB through the Parser's spool file: joined in bounded memory.
    inner = b"Content-Type: application/octet-stream\r\n\r\n" + b"x" * (12 << 20)
    step = 5 << 20
    pieces = [inner[i:i + step] for i in range(0, len(inner), step)]
    frags = [_fragment(n, len(pieces), p) for n, p in enumerate(pieces, 1)]
    with mimekit.join_partial(frags) as msg:
        assert msg.size == len(b"From: a@b.example\r\n") + len(inner)
        assert sum(map(len, msg.iter_bytes())) == 12 << 20
