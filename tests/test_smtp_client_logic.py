"""The clients' I/O-free parts: envelope, Bcc removal, content facts, chunks."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

import mimekit
from mimekit.smtp import DSN
from mimekit.smtp._client_logic import ehlo_name, is_loopback, make_dsn
from mimekit.smtp._outgoing import (
    canonical_chunks,
    envelope_from_headers,
    normalize_options,
    prepare,
    xtext,
)


def canonical(data: bytes) -> bytes:
    out = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").replace(b"\n", b"\r\n")
    return out if not out or out.endswith(b"\r\n") else out + b"\r\n"


def test_envelope_from_headers() -> None:
    raw = (b"From: A <a@x.example>, b@x.example\r\nSender: s@x.example\r\n"
           b"To: t1@y.example, Group: g1@y.example, g2@y.example;\r\n"
           b"Cc: t1@Y.EXAMPLE, c@y.example\r\nBcc: hidden@z.example\r\n"
           b"Bcc: more@z.example\r\n\r\nbody\r\n")
    sender, rcpts = envelope_from_headers(mimekit.parse(raw))
    assert sender == "s@x.example"
    assert rcpts == ["t1@y.example", "g1@y.example", "g2@y.example", "c@y.example",
                     "hidden@z.example", "more@z.example"]
    sender, _ = envelope_from_headers(mimekit.parse(b"From: A <a@x.example>, b@x\r\n\r\n"))
    assert sender == "a@x.example"


def test_resent_block_wins() -> None:
    # RFC 5322 3.6.6: the latest (topmost) Resent block is the envelope.
    raw = (b"Resent-From: newer@r.example\r\nResent-To: n1@r.example\r\n"
           b"Resent-Bcc: nb@r.example\r\nResent-Date: Mon, 1 Jan 2024 00:00:00 +0000\r\n"
           b"Received: by x\r\n"
           b"Resent-From: older@r.example\r\nResent-To: o1@r.example\r\n"
           b"From: orig@x.example\r\nTo: orig-to@x.example\r\nBcc: ob@x.example\r\n\r\nhi\r\n")
    out = prepare(raw)
    assert out.sender == "newer@r.example"
    assert out.recipients == ["n1@r.example", "nb@r.example"]
    assert out.bcc_removed == 2
    assert b"Bcc" not in out.header and out.header.count(b"Resent-From") == 2


def test_resent_sender_and_repeated_field_ends_block() -> None:
    raw = (b"Resent-Sender: rs@r.example\r\nResent-From: rf@r.example\r\n"
           b"Resent-To: a@r.example\r\nResent-To: b@r.example\r\n\r\n")
    sender, rcpts = envelope_from_headers(mimekit.parse(raw))
    assert sender == "rs@r.example" and rcpts == ["a@r.example"]


def test_bcc_removed_every_other_byte_kept() -> None:
    raw = (b"From: a@x.example\r\nBcc: one@y.example,\r\n two@y.example\r\n"
           b"To: t@y.example\r\nX-Weird:   spaces  \r\nbcc: three@y.example\r\n\r\n"
           b"Bcc: this is body text\r\n")
    out = prepare(raw)
    assert b"".join(out.chunks()) == (
        b"From: a@x.example\r\nTo: t@y.example\r\nX-Weird:   spaces  \r\n\r\n"
        b"Bcc: this is body text\r\n")
    assert out.recipients == ["t@y.example", "one@y.example", "two@y.example",
                              "three@y.example"]


_field = st.sampled_from([b"To: t@y.example\r\n", b"Bcc: b@y.example\r\n",
                          b"Bcc:\r\n folded@y.example\r\n", b"Subject: s\r\n",
                          b"X-A: 1\n", b"Received: x\r\n\t y\r\n", b"BCC: c@y.example\r\n"])


@given(st.lists(_field, max_size=10), st.binary(max_size=50))
def test_bcc_removal_matches_the_tree(fields: list[bytes], body: bytes) -> None:
    raw = b"From: a@x.example\r\n" + b"".join(fields) + b"\r\n" + body
    out = prepare(raw, recipients=["r@y.example"])
    expected = mimekit.parse(raw)
    expected.headers.remove("Bcc")
    assert b"".join(out.chunks(7)) == bytes(expected)
    assert out.size == len(canonical(bytes(expected)))


def test_bytes_are_not_copied_and_message_objects_are_untouched() -> None:
    raw = b"From: a@x.example\r\nTo: b@y.example\r\n\r\n" + b"x" * 100_000
    out = prepare(raw)
    assert out._raw is raw
    msg = mimekit.parse(raw + b"\r\n")
    msg.headers.add("Bcc", "z@y.example")
    out = prepare(msg)
    assert "z@y.example" in out.recipients and b"Bcc" not in out.header
    assert b"Bcc: z@y.example" in bytes(msg)


def test_parse_file_message(tmp_path: object) -> None:
    import pathlib

    path = pathlib.Path(str(tmp_path)) / "m.eml"
    path.write_bytes(b"From: a@x.example\nTo: b@y.example\nBcc: c@y.example\n\nhello\n")
    with mimekit.parse_file(path) as msg:
        out = prepare(msg)
    assert b"".join(out.chunks()) == b"From: a@x.example\nTo: b@y.example\n\nhello\n"
    assert out.size == len(b"From: a@x.example\r\nTo: b@y.example\r\n\r\nhello\r\n")


def test_mbox_from_line_is_not_sent() -> None:
    out = prepare(b"From someone Mon Jan  1 00:00:00 2024\nFrom: a@x.example\n"
                  b"To: b@y.example\n\nhi\n")
    assert out.header.startswith(b"From: a@x.example")


@pytest.mark.parametrize(("raw", "kwargs", "eight_bit", "utf8"), [
    (b"From: a@x.example\r\nTo: b@y.example\r\n\r\nhi\r\n", {}, False, False),
    (b"From: a@x.example\r\nTo: b@y.example\r\n\r\nh\xc3\xa9\r\n", {}, True, False),
    ("From: J\u00f6rg <a@x.example>\r\nTo: b@y.example\r\n\r\nhi".encode(), {}, True, True),
    (b"From: a@x.example\r\nTo: b@y.example\r\n\r\nhi", {"sender": "j\u00f6rg@x.example"},
     False, True),
    # 8-bit only in a Bcc field, which is not sent.
    (b"From: a@x.example\r\nBcc: J\xc3\xb6rg <c@y.example>\r\n\r\nhi", {}, False, False),
])
def test_what_the_content_needs(raw: bytes, kwargs: dict[str, str], eight_bit: bool,
                                utf8: bool) -> None:
    out = prepare(raw, **kwargs)
    assert out.eight_bit is eight_bit and out.needs_smtputf8 is utf8


def test_caller_mistakes() -> None:
    with pytest.raises(ValueError, match="sender"):
        prepare(b"To: b@y.example\r\n\r\nhi")
    with pytest.raises(ValueError, match="recipients"):
        prepare(b"From: a@x.example\r\nTo: undisclosed-recipients:;\r\n\r\nhi")
    with pytest.raises(TypeError):
        prepare("From: a@x.example\r\n\r\n")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        prepare(b"From: a@x.example\r\n\r\n", recipients=[42])
    out = prepare(b"hi", sender="", recipients="<x@y.example>")
    assert out.sender == "" and out.recipients == ["x@y.example"]
    mailbox = mimekit.parse(b"To: N <n@y.example>\r\n\r\n").to.mailboxes[0]
    assert prepare(b"x", sender="a@b.example", recipients=[mailbox]).recipients == [
        "n@y.example"]


@given(st.lists(st.binary(max_size=30), max_size=20), st.integers(1, 40))
def test_canonical_chunks(pieces: list[bytes], size: int) -> None:
    chunks = list(canonical_chunks(pieces, size))
    assert [last for _, last in chunks] == [False] * (len(chunks) - 1) + [True]
    assert b"".join(c for c, _ in chunks) == canonical(b"".join(pieces))
    assert all(len(c) <= size + 2 for c, _ in chunks)
    assert all(c for c, _ in chunks[:-1])


def test_xtext_and_options() -> None:
    # RFC 3461 section 4: "+" and "=" and non-printables are hex-encoded.
    assert xtext("a+b=c d\u00e9") == "a+2Bb+3Dc+20d+C3+A9"
    assert normalize_options(["BODY=8BITMIME", "smtputf8"]) == {"BODY": "8BITMIME",
                                                                "SMTPUTF8": None}
    assert normalize_options({"x-y": "1"}) == {"X-Y": "1"}
    assert normalize_options(None) == {}


def test_dsn_options() -> None:
    assert DSN(notify=("success", "Delay")).notify == ("SUCCESS", "DELAY")
    assert make_dsn({"notify": "never", "ret": "full"}) == DSN(notify=("NEVER",), ret="FULL")
    assert make_dsn(None) is None
    for bad in ({"notify": ()}, {"notify": ("NEVER", "SUCCESS")}, {"ret": "ALL"},
                {"envid": "\u00e9"}):
        with pytest.raises(ValueError):
            DSN(**bad)  # type: ignore[arg-type]


def test_ehlo_name_and_loopback() -> None:
    assert ehlo_name("host.example.com", "10.0.0.5") == "host.example.com"
    assert ehlo_name("localhost", "127.0.0.1") == "[127.0.0.1]"
    assert ehlo_name("box", "::1") == "[IPv6:::1]"
    assert ehlo_name("localhost.localdomain", None) == "[127.0.0.1]"
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("127.8.9.1")
    assert not is_loopback("192.0.2.1") and not is_loopback(None) and not is_loopback("x")


def test_send_mail_example_runs_standalone() -> None:
    import subprocess
    import sys

    from conftest import TESTS

    out = subprocess.run([sys.executable, "-W", "error", str(TESTS.parent / "examples" /
                                                             "send_mail.py")],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    assert "accepted: bob@example.test, carol@example.test" in out
    assert "Bcc transmitted? False" in out
