"""mbox: mboxrd quoting, splitting (From lines, Content-Length), the MimeKit
and mime4j corpora with their offsets, Python's mailbox module both ways,
removal, and locking against concurrent writers."""

from __future__ import annotations

import io
import json
import mailbox
import multiprocessing
import os
import time
from multiprocessing.synchronize import Event
from pathlib import Path

import pytest
from conftest import CORPUS
from hypothesis import given
from hypothesis import strategies as st

import mimekit
from mimekit.mailstore import LockTimeoutError, Mbox
from mimekit.mailstore._mboxrd import QuotingWriter, find_quoted, quote, unquote
from mimekit.mailstore._mboxscan import scan_mbox

MIMEKIT_MBOX = CORPUS / "mimekit" / "mbox"
RLUG = CORPUS / "james-mime4j" / "mbox" / "src" / "test" / "resources" / "test-1"


def _entries(path: Path) -> list:  # type: ignore[type-arg]
    fd = os.open(path, os.O_RDONLY)
    try:
        return scan_mbox(fd, os.fstat(fd).st_size)
    finally:
        os.close(fd)


# -- mboxrd quoting ----------------------------------------------------------------------

# Lines built from the pieces that matter: ">" runs, "From ", near misses.
_line = st.lists(st.sampled_from([b">", b"From ", b"From", b"F", b"rom ", b"x", b" ", b"\r"]),
                 max_size=6).map(b"".join)
_body = st.lists(_line, max_size=8).map(lambda ls: b"\n".join(ls))


@given(_body)
def test_mboxrd_quoting_reverses_exactly(body: bytes) -> None:
    quoted = quote(body)
    assert unquote(quoted) == body
    # No line of the quoted form can be taken for a separator.
    assert not any(line.startswith(b"From ") for line in quoted.split(b"\n"))


@given(_body, st.lists(st.integers(1, 7), min_size=1))
def test_quoting_writer_streams_any_chunking(body: bytes, sizes: list[int]) -> None:
    out = io.BytesIO()
    w = QuotingWriter(out)
    pos, i = 0, 0
    while pos < len(body):
        n = sizes[i % len(sizes)]
        w.write(body[pos:pos + n])
        pos, i = pos + n, i + 1
    w.close()
    assert out.getvalue() == quote(body)


@given(_body)
def test_find_quoted_matches_unquote(body: bytes) -> None:
    data = quote(body)
    hits = set(find_quoted(lambda a, b: data[a:b], 0, len(data), chunk=7))
    rebuilt = bytes(b for i, b in enumerate(data) if i not in hits)
    assert rebuilt == body


def test_quoting_examples() -> None:
    assert quote(b"From x\n>From y\n>>From z\n From w\nFrom") == \
        b">From x\n>>From y\n>>>From z\n From w\nFrom"
    assert unquote(b">From x\n>>From y\nFrom z\n>x From\n") == b"From x\n>From y\nFrom z\n>x From\n"


@given(st.binary(max_size=300) | _body)
def test_add_then_read_is_exact(tmp_path_factory: pytest.TempPathFactory, body: bytes) -> None:
    mb = Mbox(tmp_path_factory.mktemp("rt") / "mbox")
    raw = b"Subject: s\n\n" + body
    k1 = mb.add(raw)
    k2 = mb.add(b"Subject: second\n\n" + body)
    assert mb.keys() == [k1, k2]
    # mboxrd reverses exactly; only a missing final line break is added.
    expected = raw if raw.endswith(b"\n") else raw + b"\n"
    got = mb.get_bytes(k1)
    assert got.startswith(b"From MAILER-DAEMON ")
    assert got.split(b"\n", 1)[1] == expected
    msg = mb[k1]
    assert bytes(msg) == got and msg.mbox_from == got.split(b"\n", 1)[0] + b"\n"


def test_crlf_message_gets_crlf_line_end(tmp_path: Path) -> None:
    mb = Mbox(tmp_path / "mbox")
    k = mb.add(b"Subject: s\r\n\r\nno final line end")
    assert mb.get_bytes(k).endswith(b"\r\n\r\nno final line end\r\n")
    assert (tmp_path / "mbox").read_bytes().endswith(b"no final line end\r\n\n")


# -- writing -------------------------------------------------------------------------------


def test_from_line_choices(tmp_path: Path) -> None:
    mb = Mbox(tmp_path / "mbox")
    k1 = mb.add(b"Return-Path: <bounce@example.org>\nFrom: a@example.org\n\nx\n")
    k2 = mb.add(b"From: Alice <alice@example.org>\n\nx\n")
    k3 = mb.add(b"Subject: nobody\n\nx\n")
    k4 = mb.add(b"From me@example.org Sat Jan  1 00:00:00 2000\nSubject: kept\n\nx\n")
    k5 = mb.add(mimekit.parse(b"From old@example.org Sun Jan  2 00:00:00 2000\r\nA: b\r\n\r\n"))
    k6 = mb.add(b"A: b\n\n", from_line="From explicit@example.org Mon Jan  3 00:00:00 2000")
    lines = [mb.get_from_line(k) for k in (k1, k2, k3, k4, k5, k6)]
    assert lines[0].startswith("From bounce@example.org ")
    assert lines[1].startswith("From alice@example.org ")
    assert lines[2].startswith("From MAILER-DAEMON ")
    assert lines[3] == "From me@example.org Sat Jan  1 00:00:00 2000"
    assert lines[4] == "From old@example.org Sun Jan  2 00:00:00 2000"
    assert lines[5] == "From explicit@example.org Mon Jan  3 00:00:00 2000"
    assert mb.get_bytes(k4) == b"From me@example.org Sat Jan  1 00:00:00 2000\nSubject: kept\n\nx\n"
    with pytest.raises(ValueError):
        mb.add(b"A: b\n\n", from_line="Sender x")
    with pytest.raises(ValueError):
        mb.add(b"A: b\n\n", from_line="From a\nInjected: yes")


def test_appending_after_a_foreign_unterminated_message(tmp_path: Path) -> None:
    path = tmp_path / "mbox"
    path.write_bytes(b"From a\nSubject: one\n\nno line end")
    mb = Mbox(path)
    k = mb.add(b"Subject: two\n\nx\n")
    assert path.read_bytes() == (b"From a\nSubject: one\n\nno line end\n"
                                 b"From MAILER-DAEMON " + path.read_bytes().split(
                                     b"From MAILER-DAEMON ", 1)[1])
    assert [m.subject for m in mb] == ["one", "two"]
    assert mb.keys()[1] == k


def test_failed_add_leaves_the_file_as_it_was(tmp_path: Path) -> None:
    mb = Mbox(tmp_path / "mbox")
    mb.add(b"Subject: one\n\nx\n")
    before = (tmp_path / "mbox").read_bytes()

    class Broken(io.RawIOBase):
        calls = 0

        def readable(self) -> bool:
            return True

        def readinto(self, b: bytearray) -> int:  # type: ignore[override]
            self.calls += 1
            if self.calls > 1:
                raise OSError("network gone")
            b[:12] = b"Subject: x\n\n"
            return 12

    with pytest.raises(OSError, match="network gone"):
        mb.add(io.BufferedReader(Broken(), 16))  # type: ignore[type-var]
    assert (tmp_path / "mbox").read_bytes() == before
    assert not (tmp_path / "mbox.lock").exists()


def test_big_message_streams_and_reads_lazily(tmp_path: Path) -> None:
    line = b"x" * 70 + b"\n"
    body = (line * 2000 + b"From the middle\n>From quoted\n") * 10  # ~1.4 MiB
    raw = b"Subject: big\n\n" + body
    mb = Mbox(tmp_path / "mbox")
    mb.add(b"Subject: small\n\n")
    key = mb.add(io.BytesIO(raw))
    mb.add(b"Subject: after\n\n")
    with mb[key] as msg:
        assert msg.subject == "big"
        assert msg.get_bytes() == body
        assert msg.size == len(msg.mbox_from or b"") + len(raw)
    assert mb.get_bytes(key).split(b"\n", 1)[1] == raw
    assert [m.subject for m in mb] == ["small", "big", "after"]


# -- reading: splitting rules ------------------------------------------------------------------

_mbox_piece = st.sampled_from([b"From a\n", b"\n", b"\r\n", b"x", b"From ", b"Fro", b"m ",
                               b"Content-Length: 3\n", b"Content-Length: 0\n", b"abc\n"])


@given(st.lists(_mbox_piece, max_size=30).map(b"".join), st.integers(1, 9), st.data())
def test_scanning_does_not_depend_on_the_block_size(
        tmp_path_factory: pytest.TempPathFactory, data: bytes, block: int,
        pick: st.DataObject) -> None:
    import mimekit.mailstore._mboxscan as scan

    path = tmp_path_factory.mktemp("scan") / "mbox"
    path.write_bytes(data)
    expected = _entries(path)
    saved = scan._BLOCK
    scan._BLOCK = block  # tiny blocks: every boundary case is a block seam
    try:
        assert _entries(path) == expected
        fd = os.open(path, os.O_RDONLY)
        try:
            r = scan.FileReader(fd, len(data))
            a = pick.draw(st.integers(0, len(data)))
            b = pick.draw(st.integers(a, len(data) + 2))
            sub = pick.draw(st.sampled_from([b"\nFrom ", b"\n", b"\n\n", b"x"]))
            assert r.find(sub, a, b) == data.find(sub, a, b)
            assert r.read(a, b) == data[a:b]
        finally:
            os.close(fd)
    finally:
        scan._BLOCK = saved


def test_splitting_rules(tmp_path: Path) -> None:
    path = tmp_path / "mbox"
    path.write_bytes(
        b"junk before the first From line\n"
        b"From a\nSubject: 1\n\nbody\n\n"          # separated by an empty line
        b"From b\nSubject: 2\n\nbody\n"            # no empty line before the next
        b"From c\n"                                # an empty message
        b"From d\r\nSubject: 4\r\n\r\nbody\r\n\r\n"  # CRLF empty line
        b"From e\nSubject: 5\n\nlast\n\n")
    mb = Mbox(path)
    keys = mb.keys()  # iterating an Mbox gives messages, not keys
    raws = [mb.get_bytes(k) for k in keys]
    assert raws == [b"From a\nSubject: 1\n\nbody\n", b"From b\nSubject: 2\n\nbody\n",
                    b"From c\n", b"From d\r\nSubject: 4\r\n\r\nbody\r\n",
                    b"From e\nSubject: 5\n\nlast\n"]
    assert mb.keys()[0] == len(b"junk before the first From line\n")


def test_content_length_is_honored_only_when_consistent(tmp_path: Path) -> None:
    body = b"From inside the body\nis not a separator\n"
    good = (b"From a\nContent-Length: %d\nSubject: cl\n\n" % len(body)) + body
    path = tmp_path / "mbox"
    path.write_bytes(good + b"\nFrom b\nSubject: next\n\nx\n")
    mb = Mbox(path)
    assert [m.subject for m in mb] == ["cl", "next"]
    assert mb.get_bytes(mb.keys()[0]) == good  # verbatim: mboxcl2 does not quote
    # A wrong count falls back to From lines.
    path.write_bytes(good.replace(b"Content-Length: %d" % len(body), b"Content-Length: 5")
                     + b"\nFrom b\nSubject: next\n\nx\n")
    assert [m.subject for m in Mbox(path)] == ["cl", None, "next"]
    # A count that runs past the end of the file also falls back.
    path.write_bytes(b"From a\nContent-Length: 999\n\nx\n\nFrom b\nSubject: next\n\n")
    assert [m.subject for m in Mbox(path)] == [None, "next"]
    # At the end of the file, with or without an empty line after it.
    for tail in (b"", b"\n"):
        path.write_bytes(good + tail)
        assert Mbox(path).get_bytes(0) == good


def test_byte_order_mark_and_empty_files(tmp_path: Path) -> None:
    path = tmp_path / "mbox"
    path.write_bytes(b"")
    assert len(Mbox(path)) == 0
    path.write_bytes(b"not an mbox at all\n")
    assert list(Mbox(path)) == []
    path.write_bytes(b"\xef\xbb\xbfFrom a\nSubject: bom\n\n")
    assert [m.subject for m in Mbox(path)] == ["bom"]
    assert Mbox(path).keys() == [3]
    with pytest.raises(FileNotFoundError):
        Mbox(tmp_path / "absent", create=False)
    mb = Mbox(tmp_path / "gone")
    (tmp_path / "gone").unlink()
    assert len(mb) == 0 and list(mb) == []


def test_mapping_api_and_remove(tmp_path: Path) -> None:
    mb = Mbox(tmp_path / "mbox")
    keys = [mb.add(b"Subject: %d\n\nFrom %d\n" % (i, i)) for i in range(5)]
    assert mb.keys() == keys and len(mb) == 5 and keys[2] in mb and 1 not in mb
    assert [k for k, _ in mb.items()] == keys
    with pytest.raises(KeyError):
        mb[1]
    with pytest.raises(KeyError):
        mb.remove_many([keys[0], 12345])
    assert len(mb) == 5  # nothing removed
    os.chmod(tmp_path / "mbox", 0o640)
    del mb[keys[1]]
    assert [m.subject for m in mb] == ["0", "2", "3", "4"]
    mb.remove_many(mb.keys()[1:3])
    assert [m.subject for m in mb] == ["0", "4"]
    std = mailbox.mbox(tmp_path / "mbox", create=False)
    assert [m.get_payload() for m in std] == [">From 0\n", ">From 4\n"]
    std.close()
    assert os.stat(tmp_path / "mbox").st_mode & 0o777 == 0o640
    mb.discard(999)
    for key in reversed(mb.keys()):
        mb.remove(key)
    assert (tmp_path / "mbox").read_bytes() == b""
    assert not [p for p in os.listdir(tmp_path) if p != "mbox"]  # no temp or lock files


def test_lock_block_spans_calls_and_survives_a_rewrite(tmp_path: Path) -> None:
    mb = Mbox(tmp_path / "mbox")
    for i in range(3):
        mb.add(b"Subject: %d\n\n" % i)
    with mb.lock():
        assert (tmp_path / "mbox.lock").exists()
        mb.remove(mb.keys()[0])
        mb.add(b"Subject: 3\n\n")
        assert [m.subject for m in mb] == ["1", "2", "3"]
    assert not (tmp_path / "mbox.lock").exists()
    assert [m.subject for m in Mbox(tmp_path / "mbox")] == ["1", "2", "3"]


# -- the MimeKit corpus: offsets, and the summaries ----------------------------------------------


def _forms(name: str, tmp_path: Path) -> list[tuple[str, Path, int]]:
    raw = (MIMEKIT_MBOX / f"{name}.mbox.txt").read_bytes()
    unix, dos = tmp_path / f"{name}.unix", tmp_path / f"{name}.dos"
    unix.write_bytes(raw)
    dos.write_bytes(raw.replace(b"\n", b"\r\n"))
    return [("unix", unix, 1), ("dos", dos, 2)]


@pytest.mark.parametrize("name", ["content-length", "issue1189"])
def test_mimekit_offsets(name: str, tmp_path: Path) -> None:
    for form, path, eol in _forms(name, tmp_path):
        expected = json.loads((MIMEKIT_MBOX / f"{name}.{form}-offsets.json").read_text())
        data = path.read_bytes()
        entries = _entries(path)
        assert len(entries) == len(expected), form
        for e, x in zip(entries, expected, strict=True):
            assert e.start == x["mboxMarkerOffset"]
            assert e.content == x["beginOffset"]
            # MimeKit gives the line end before a From line to the separator;
            # with an empty line in between, we agree on where the message ends.
            end = x["endOffset"]
            blank = data[end - eol:end + eol] in (b"\n\n", b"\r\n\r\n")
            assert e.end == (end if end == len(data) or blank else end + eol), (form, x)
        mb = Mbox(path, create=False)
        for e, x in zip(entries, expected, strict=True):
            with mb[e.start] as msg:
                assert msg.body_offset == x["headersEndOffset"] - e.start
                assert msg.content_type.mime_type == x["body"]["mimeType"].lower()
    # In LF form, the consistent Content-Lengths are used (18 of 29; the
    # others are wrong or leave out the last line end).
    if name == "content-length":
        assert sum(e.verbatim for e in _entries(MIMEKIT_MBOX / "content-length.mbox.txt")) == 18


def _summary_blocks(text: str) -> list[list[str]]:
    # Blocks are separated by an empty line; each starts with the From line.
    return [block.split("\n") for block in text.strip("\n").split("\n\n")]


def _our_summary(msg: mimekit.Message) -> list[str]:
    lines = []
    for name in ("From", "To", "Subject", "Date"):
        h = msg.headers.get(name)
        if h is not None:
            lines.append(f"{name}: {h.text}")

    def tree(part: mimekit.Part, depth: int) -> None:
        lines.append("   " * depth + "Content-Type: " + part.content_type.mime_type)
        for child in part.parts:
            tree(child, depth + 1)
        if part.message is not None:
            tree(part.message, depth + 1)
    tree(msg, 0)
    return lines


#: Two forwarded messages whose attached message starts with a quoted
#: ">From - ..." line (Netscape wrote mboxcl: Content-Length *and* quoting).
#: MimeKit skips that line and finds the headers after it; our tree ends the
#: header block at it, so the attached message is text/plain. A parser
#: difference, not a splitting one: the message boundaries agree.
_TREE_DIFFERENCES = {"forwarded encrypted message",
                     "forwarded encrypted message (mult/mixed)"}


@pytest.mark.parametrize("name", ["content-length", "issue1189"])
def test_mimekit_summaries(name: str) -> None:
    text = (MIMEKIT_MBOX / f"{name}-summary.txt").read_text("utf-8")
    blocks = _summary_blocks(text)
    mb = Mbox(MIMEKIT_MBOX / f"{name}.mbox.txt", create=False)
    msgs = list(mb)
    assert len(msgs) == len(blocks)
    for msg, block in zip(msgs, blocks, strict=True):
        with msg:
            assert msg.mbox_from is not None
            assert msg.mbox_from.decode().rstrip() == block[0].rstrip()
            ours = [line.lower() for line in _our_summary(msg)]
            theirs = [line.lower() for line in block[1:]]
            subject = [t for t in theirs if t.startswith("subject:")]
            assert [t for t in ours if t.startswith("subject:")] == subject
            types = [t for t in theirs if t.lstrip().startswith("content-type:")]
            if msg.subject in _TREE_DIFFERENCES:
                continue
            assert [t for t in ours if t.lstrip().startswith("content-type:")] == types


def test_mimekit_simple_and_unmunged() -> None:
    simple = list(Mbox(MIMEKIT_MBOX / "simple.mbox.txt", create=False))
    assert [m.subject for m in simple] == [
        "this'll probably break a lot of mime parsers",
        "this'll probably break even more mime parsers",
        "if a mime parser can correctly handle this, I'm impressed"]
    # As MimeKit (and Python's mailbox): an unquoted "From " line splits.
    unmunged = Mbox(MIMEKIT_MBOX / "unmunged.mbox.txt", create=False)
    keys = unmunged.keys()
    froms = [unmunged.get_from_line(k).rstrip() for k in keys]
    assert froms == ["From -", "From Russia with love", "From -", "From Russia with love"]


def test_mime4j_rlug() -> None:
    mb = Mbox(RLUG / "mbox.rlug", create=False)
    keys = mb.keys()
    assert len(keys) == 5
    for i, key in enumerate(keys):
        expected = (RLUG / f"mbox.rlug-{i}").read_bytes()
        content = mb.get_bytes(key).split(b"\n", 1)[1]
        # mime4j keeps the separating empty line in the message; we do not.
        assert content + b"\n" == expected


# -- Python's mailbox module, both ways --------------------------------------------------------


def test_stdlib_reads_ours(tmp_path: Path) -> None:
    mb = Mbox(tmp_path / "mbox")
    bodies = [b"plain\n", b"From the start\n", b">From quoted\nmore\n", b"no line end"]
    for i, body in enumerate(bodies):
        mb.add(b"Subject: %d\n\n" % i + body)
    std = mailbox.mbox(tmp_path / "mbox", create=False)
    msgs = list(std)
    assert [m["subject"] for m in msgs] == ["0", "1", "2", "3"]
    # The stdlib does not unquote (it writes mboxo), so it sees our quoting.
    assert [m.get_payload(decode=True) for m in msgs] == [
        b"plain\n", b">From the start\n", b">>From quoted\nmore\n", b"no line end\n"]
    assert all(m.get_from().startswith("MAILER-DAEMON ") for m in msgs)
    std.close()


def test_we_read_stdlib(tmp_path: Path) -> None:
    std = mailbox.mbox(tmp_path / "mbox")
    std.lock()
    std.add(b"Subject: one\n\nFrom the start\n")
    msg = mailbox.mboxMessage(b"Subject: two\n\nbody\n")
    msg.set_from("alice@example.org", time.gmtime(0))
    std.add(msg)
    std.add(b"Subject: three\n\n")
    std.flush()
    std.unlock()
    std.close()
    ours = Mbox(tmp_path / "mbox")
    got = [(m.subject, m.get_bytes()) for m in ours]
    # mboxo quoting of "From " is undone.
    assert got == [("one", b"From the start\n"), ("two", b"body\n"), ("three", b"")]
    assert ours.get_from_line(ours.keys()[1]) == "From alice@example.org Thu Jan  1 00:00:00 1970"
    # And the stdlib reads a file we appended to.
    ours.add(b"Subject: four\n\nx\n")
    std = mailbox.mbox(tmp_path / "mbox", create=False)
    assert [m["subject"] for m in std] == ["one", "two", "three", "four"]
    std.close()


# -- locking ---------------------------------------------------------------------------------


def _append_many(path: str, tag: int, count: int, start_at: float) -> None:
    mb = Mbox(path)
    while time.time() < start_at:
        time.sleep(0.001)
    for i in range(count):
        # Big enough that one message takes several write() calls.
        body = (b"writer %d message %d\n" % (tag, i)) * 4000 + b"From inside\n"
        mb.add(b"Subject: %d-%d\n\n" % (tag, i) + body)


def test_concurrent_appends_from_two_processes(tmp_path: Path) -> None:
    path = tmp_path / "mbox"
    ctx = multiprocessing.get_context("spawn")
    start_at = time.time() + 1.0
    count = 15
    procs = [ctx.Process(target=_append_many, args=(str(path), tag, count, start_at))
             for tag in (1, 2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    msgs = list(Mbox(path))
    assert len(msgs) == 2 * count
    subjects = sorted(m.subject or "" for m in msgs)
    assert subjects == sorted(f"{t}-{i}" for t in (1, 2) for i in range(count))
    for m in msgs:
        tag, i = (int(x) for x in (m.subject or "").split("-"))
        assert m.get_bytes() == (b"writer %d message %d\n" % (tag, i)) * 4000 + b"From inside\n"
        m.close()


def test_dot_lock_blocks_and_times_out(tmp_path: Path) -> None:
    path = tmp_path / "mbox"
    mb = Mbox(path, lock_timeout=0.3)
    (tmp_path / "mbox.lock").write_text("12345 elsewhere\n")
    t0 = time.monotonic()
    with pytest.raises(LockTimeoutError):
        mb.add(b"Subject: x\n\n")
    assert time.monotonic() - t0 >= 0.25
    assert path.read_bytes() == b""
    # Reading does not need the dot-lock.
    assert len(mb) == 0


def test_stale_dot_lock_is_broken(tmp_path: Path) -> None:
    path = tmp_path / "mbox"
    mb = Mbox(path, lock_timeout=2, stale_lock_after=60)
    lock = tmp_path / "mbox.lock"
    lock.write_text("12345 crashed\n")
    old = time.time() - 120
    os.utime(lock, (old, old))
    mb.add(b"Subject: x\n\n")
    assert len(mb) == 1 and not lock.exists()


def _hold_fcntl_lock(path: str, ready: Event, release: Event) -> None:
    import fcntl
    with open(path, "r+b") as f:
        fcntl.lockf(f, fcntl.LOCK_EX)
        ready.set()
        release.wait(10)


def test_fcntl_lock_of_another_program_is_honored(tmp_path: Path) -> None:
    path = tmp_path / "mbox"
    mb = Mbox(path, lock_timeout=0.3)
    ctx = multiprocessing.get_context("spawn")
    ready, release = ctx.Event(), ctx.Event()
    proc = ctx.Process(target=_hold_fcntl_lock, args=(str(path), ready, release))
    proc.start()
    try:
        assert ready.wait(30)
        with pytest.raises(LockTimeoutError):
            mb.add(b"Subject: x\n\n")
        assert not (tmp_path / "mbox.lock").exists()  # let go while waiting
    finally:
        release.set()
        proc.join(10)
    mb.add(b"Subject: x\n\n")
    assert len(mb) == 1


def test_stdlib_lock_excludes_us(tmp_path: Path) -> None:
    std = mailbox.mbox(tmp_path / "mbox")
    std.lock()
    try:
        with pytest.raises(LockTimeoutError):
            Mbox(tmp_path / "mbox", lock_timeout=0.2).add(b"Subject: x\n\n")
    finally:
        std.unlock()
        std.close()
