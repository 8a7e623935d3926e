"""The Headers API: lookups, set/add/remove, injection refusal, folding, and
re-serializing only what changed (so DKIM over untouched fields survives)."""

from __future__ import annotations

import pytest
from conftest import CORPUS
from hypothesis import given
from hypothesis import strategies as st

import mimekit
from mimekit import DefectKind, HeaderInjectionError, InvalidHeaderNameError

RAW = (b"Received: from a by b; Tue, 1 Jul 2003 10:52:37 +0200\r\n"
       b"Received: from c by d; Tue, 1 Jul 2003 10:52:36 +0200\r\n"
       b"From:   Joe   <joe@example.org>\r\n"
       b"subject: original\r\n"
       b"To: a@example.org,\r\n  b@example.org\r\n"
       b"X-Dup: 1\r\nX-Dup: 2\r\n"
       b"\r\nbody\r\n")


def test_lookup_is_case_insensitive_and_multi_valued() -> None:
    msg = mimekit.parse(RAW)
    h = msg.headers
    assert "SUBJECT" in h and "nope" not in h
    assert h["Subject"].name == "subject"
    assert h.get("missing") is None
    assert [x.text for x in h.get_all("received")] == [
        "from a by b; Tue, 1 Jul 2003 10:52:37 +0200",
        "from c by d; Tue, 1 Jul 2003 10:52:36 +0200"]
    assert h.names() == ["Received", "Received", "From", "subject", "To", "X-Dup", "X-Dup"]
    assert len(h) == 7
    with pytest.raises(KeyError):
        h["missing"]
    assert h.text("x-dup") == "1" and h.value("nope", 5) == 5


def test_set_replaces_in_place_and_only_that_field_changes() -> None:
    msg = mimekit.parse(RAW)
    msg.headers.set("Subject", "changed")
    out = bytes(msg)
    assert out == RAW.replace(b"subject: original\r\n", b"Subject: changed\r\n")
    assert mimekit.parse(out).subject == "changed"


def test_set_drops_duplicates_add_appends_and_prepends_remove_counts() -> None:
    msg = mimekit.parse(RAW)
    msg.headers.set("x-dup", "only")
    assert [x.text for x in msg.headers.get_all("X-Dup")] == ["only"]
    msg.headers.add("X-New", "appended")
    msg.headers.add("Received", "from e by f", prepend=True)
    assert msg.headers.names()[0] == "Received"
    assert msg.headers.names()[-1] == "X-New"
    assert msg.headers.remove("received") == 3
    assert msg.headers.remove("received") == 0
    out = bytes(msg)
    assert out.endswith(b"X-New: appended\r\n\r\nbody\r\n")
    assert b"Received" not in out


def test_new_fields_use_the_block_line_ending() -> None:
    msg = mimekit.parse(RAW.replace(b"\r\n", b"\n"))
    msg.headers.add("X-New", "value")
    assert bytes(msg).endswith(b"X-New: value\n\nbody\n")


@pytest.mark.parametrize("bad", ["a\rb", "a\nb", "a\r\nBcc: x@y", "a\x00b"])
def test_injection_is_refused(bad: str) -> None:
    msg = mimekit.parse(RAW)
    for call in (lambda: msg.headers.set("Subject", bad),
                 lambda: msg.headers.add("X-Any", bad)):
        with pytest.raises(HeaderInjectionError):
            call()
        assert issubclass(HeaderInjectionError, ValueError)
    assert bytes(msg) == RAW


@pytest.mark.parametrize("bad", ["", "Sub ject", "Sub:ject", "Süb", "X\x7f"])
def test_invalid_names_are_refused(bad: str) -> None:
    with pytest.raises(InvalidHeaderNameError):
        mimekit.parse(RAW).headers.set(bad, "x")


def test_long_values_fold_at_78_and_never_pass_998() -> None:
    msg = mimekit.parse(RAW)
    words = " ".join(f"word{i}" for i in range(200))
    raw = msg.headers.set("Subject", words).raw
    lines = raw.split(b"\r\n")
    assert all(len(line) <= 78 for line in lines)
    assert mimekit.parse(bytes(msg)).subject == words
    long_token = "x" * 3000  # unstructured: becomes encoded words, still folded
    raw = msg.headers.set("Subject", long_token).raw
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    assert mimekit.parse(bytes(msg)).subject == long_token


def test_adding_after_a_last_field_without_line_ending() -> None:
    msg = mimekit.parse(b"Subject: no newline")
    msg.headers.add("To", "a@example.org")
    out = bytes(msg)
    assert out == b"Subject: no newline\r\nTo: a@example.org\r\n"
    again = mimekit.parse(out)
    assert again.subject == "no newline" and again.to.mailboxes[0].addr_spec == "a@example.org"


def test_setting_a_child_header_rewrites_only_that_part() -> None:
    raw = (b"Content-Type: multipart/mixed; boundary=b\r\n\r\npre\r\n"
           b"--b\r\nContent-Type: text/plain\r\n\r\none\r\n"
           b"--b\r\nContent-Type: text/plain\r\n\r\ntwo\r\n--b--\r\nepi\r\n")
    msg = mimekit.parse(raw)
    msg.parts[1].headers.set("Content-Type", "text/html")
    out = bytes(msg)
    assert out == raw.replace(b"Content-Type: text/plain\r\n\r\ntwo",
                              b"Content-Type: text/html\r\n\r\ntwo")
    assert mimekit.parse(out).parts[1].content_type.mime_type == "text/html"


def test_changing_the_boundary_rewrites_the_delimiters() -> None:
    raw = (b"Content-Type: multipart/mixed; boundary=old\r\n\r\n"
           b"--old\r\n\r\none\r\n--old\r\n\r\ntwo\r\n--old--\r\n")
    msg = mimekit.parse(raw)
    assert len(msg.parts) == 2
    msg.headers.set("Content-Type", 'multipart/mixed; boundary="new"')
    out = bytes(msg)
    assert b"--old" not in out
    assert [p.get_bytes() for p in mimekit.parse(out).parts] == [b"one", b"two"]


def test_change_inside_an_attached_message() -> None:
    inner = b"Subject: inner\r\n\r\nbody\r\n"
    raw = b"Content-Type: message/rfc822\r\n\r\n" + inner
    msg = mimekit.parse(raw)
    assert msg.message is not None
    msg.message.headers.set("Subject", "changed")
    assert bytes(msg) == raw.replace(b"Subject: inner", b"Subject: changed")


def test_dkim_signed_message_keeps_signed_fields_byte_identical() -> None:
    raw = (CORPUS / "mimekit/dkim/gmail.msg").read_bytes()
    msg = mimekit.parse(raw)
    signature = msg.headers["DKIM-Signature"].raw
    body_start = msg.body_offset
    msg.headers.add("X-Spam-Score", "0.1")
    out = bytes(msg)
    sep = len(msg.headers.linesep)
    assert out.startswith(raw[:body_start - sep])  # every old field untouched
    assert out.endswith(raw[body_start - sep:])  # the empty line and body untouched
    assert mimekit.parse(out).headers["DKIM-Signature"].raw == signature


@given(st.text(st.characters(blacklist_characters="\r\n\x00",
                             blacklist_categories=("Cs",)), max_size=300))
def test_any_subject_round_trips(value: str) -> None:
    msg = mimekit.parse(RAW)
    msg.headers.set("Subject", value)
    again = mimekit.parse(bytes(msg))
    for line in bytes(msg).split(b"\r\n"):
        assert len(line) <= 998
    assert again.headers.text("Subject") == value


@pytest.mark.parametrize("raw", [
    b"From sender@example.org Mon Jan  1 00:00:00 2024",  # mbox line only, no newline
    b"just a body line without headers\r\n",
    b"Subject: old\r\n<html>no empty line before the body</html>\r\n",
    b"",
])
@pytest.mark.parametrize("prepend", [False, True])
def test_adding_fields_to_odd_header_blocks(raw: bytes, prepend: bool) -> None:
    msg = mimekit.parse(raw)
    body = msg.get_bytes()
    msg.headers.add("X-Added", "yes", prepend=prepend)
    msg.headers.set("Subject", "new")
    again = mimekit.parse(bytes(msg))
    assert again.headers.text("X-Added") == "yes"
    assert again.subject == "new"
    assert again.get_bytes() == body
    assert again.mbox_from == msg.mbox_from
    # The rewritten block now ends with its empty line: no defect left.
    assert DefectKind.MISSING_HEADER_BODY_SEPARATOR not in {d.kind for d in again.defects}
