"""Hypothesis properties of the parser, on arbitrary and on message-shaped bytes.

* parse never raises, whatever is read from the tree afterwards;
* bytes(parse(x)) == x;
* any chunking (one byte at a time included) and parse_file give the same tree;
* corpus messages with boundary or header noise inserted still hold the above.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from corpus_files import message_files
from hypothesis import given
from hypothesis import strategies as st
from treeinfo import read_everything, signature

import mimekit

# -- message-shaped input: a grammar of the pieces parsers trip on --------------------

_NL = st.sampled_from([b"\r\n", b"\n", b"\r", b""])
_BOUNDARIES = [b"b", b"bb", b"b-", b"=_x", b"a b"]
_TOKENS = st.sampled_from([
    b"Content-Type: multipart/mixed; boundary=b",
    b"Content-Type: multipart/alternative; boundary=\"bb\"",
    b"Content-Type: multipart/digest; boundary=b-",
    b"Content-Type: message/rfc822",
    b"Content-Type: message/global",
    b"Content-Type: text/plain; charset=utf-8",
    b"Content-Type: text/plain; charset=bogus-charset",
    b"Content-Type: multipart/related; boundary=",
    b"Content-Transfer-Encoding: base64",
    b"Content-Transfer-Encoding: quoted-printable",
    b"Content-Transfer-Encoding: x-unknown",
    b"Content-Disposition: attachment; filename*0*=utf-8''%E2%82; filename*1*=%AC.txt",
    b"Subject: =?utf-8?B?4oKs?= =?utf-8?q?=E2=82?= =?x?q?y?=",
    b"From: \"Joe\" <joe@example.org>, (comment) broken <@,",
    b"Date: Mon, 31 Feb 2024 25:61:61 +9999",
    b"Message-ID: <a@b> junk <c@d",
    b"From sender@example.org Mon Jan  1 00:00:00 2024",
    b"  continuation",
    b": empty name",
    b"not a header",
    b"",
    b"--b", b"--b--", b"--bb", b"--bb--", b"--b-", b"--b---", b"--=_x", b"--b  ",
    b"aGVsbG8=", b"=41=4", b"=\r", b"\x00\xff\xfe", "Grüße €".encode(), b"=?utf-8?q?",
])


@st.composite
def message_like(draw: st.DrawFn) -> bytes:
    pieces = draw(st.lists(st.tuples(_TOKENS, _NL), max_size=40))
    return b"".join(tok + nl for tok, nl in pieces)


any_input = st.one_of(st.binary(max_size=2000), message_like())


@given(any_input)
def test_parse_never_raises_and_round_trips(raw: bytes) -> None:
    msg = mimekit.parse(raw)
    assert bytes(msg) == raw
    read_everything(msg)
    assert bytes(msg) == raw


@given(any_input, st.data())
def test_any_chunking_gives_the_same_tree(raw: bytes, data: st.DataObject) -> None:
    expected = signature(mimekit.parse(raw))
    cuts = sorted(data.draw(st.lists(st.integers(0, len(raw)), max_size=12)))
    p = mimekit.Parser()
    last = 0
    for cut in [*cuts, len(raw)]:
        p.feed(raw[last:cut])
        last = cut
    msg = p.close()
    assert bytes(msg) == raw
    assert signature(msg) == expected


@given(message_like())
def test_byte_at_a_time_and_spooled(raw: bytes) -> None:
    expected = signature(mimekit.parse(raw))
    p = mimekit.Parser(spool_threshold=16)  # spills to a temporary file early
    for i in range(len(raw)):
        p.feed(raw[i:i + 1])
    with p.close() as msg:
        assert bytes(msg) == raw
        assert signature(msg) == expected


@given(message_like())
def test_parse_file_gives_the_same_tree(raw: bytes) -> None:
    expected = signature(mimekit.parse(raw))
    fd, name = tempfile.mkstemp()
    try:
        # Pad past the small-file threshold so the lazy file path is used.
        padded = raw + b"\n" * 70000 if raw.endswith(b"\n") else raw
        os.write(fd, padded)
        os.close(fd)
        with mimekit.parse_file(name) as msg:
            assert bytes(msg) == padded
            if padded is raw:
                assert signature(msg) == expected
            else:
                assert signature(msg) == signature(mimekit.parse(padded))
    finally:
        os.unlink(name)


# -- corpus messages with noise ----------------------------------------------------------

_CORPUS = [p for p in message_files() if p.stat().st_size < 200_000]
_NOISE = st.sampled_from([
    b"\r\n--", b"--\r\n", b"\r\n\r\n", b"\n", b"\r", b":", b" ", b"\t", b"=?", b"?=",
    b"\r\nContent-Type: multipart/mixed; boundary=x\r\n", b"\r\n--x\r\n", b"\r\n--x--\r\n",
    b"\r\nContent-Transfer-Encoding: base64\r\n", b"\x00", b"\xff", b"\"", b"(", b"<", b";",
])


@given(st.sampled_from(_CORPUS), st.lists(st.tuples(st.floats(0, 1), _NOISE), max_size=8))
def test_mutated_corpus_messages(path: Path, edits: list[tuple[float, bytes]]) -> None:
    raw = path.read_bytes()
    for where, noise in edits:
        i = int(where * len(raw))
        raw = raw[:i] + noise + raw[i:]
    msg = mimekit.parse(raw)
    assert bytes(msg) == raw
    read_everything(msg)
    assert bytes(msg) == raw
