"""parse_file (bounded memory, offsets, closing), Parser spooling, strict mode,
limits, and linear-time smoke checks on adversarial shapes."""

from __future__ import annotations

import base64
import dataclasses
import io
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import mimekit
from mimekit import DefectKind, MalformedMessageError

BIG_ATTACHMENT = 6 * 1024 * 1024


def _write_big_message(path: Path, payload: bytes) -> None:
    with open(path, "wb") as f:
        f.write(b"Subject: big\r\nContent-Type: multipart/mixed; boundary=zz\r\n\r\n"
                b"--zz\r\nContent-Type: text/plain\r\n\r\nsee attachment\r\n"
                b"--zz\r\nContent-Type: application/octet-stream\r\n"
                b"Content-Disposition: attachment; filename=big.bin\r\n"
                b"Content-Transfer-Encoding: base64\r\n\r\n")
        f.write(base64.encodebytes(payload).replace(b"\n", b"\r\n"))
        f.write(b"--zz--\r\n")


def test_parse_file_reads_bodies_lazily_by_offset(tmp_path: Path) -> None:
    payload = os.urandom(BIG_ATTACHMENT)
    path = tmp_path / "big.eml"
    _write_big_message(path, payload)
    with mimekit.parse_file(path) as msg:
        assert msg.subject == "big"
        att = msg.attachments[0]
        assert att.filename == "big.bin"
        assert att.offset > 0 and att.body_offset > att.offset
        out = tmp_path / "out.bin"
        assert att.save(out) == len(payload)
        assert out.read_bytes() == payload
        assert b"".join(att.iter_bytes(chunk_size=1000)) == payload
        assert bytes(msg) == path.read_bytes()
        sink = io.BytesIO()
        assert msg.write_to(sink) == path.stat().st_size
    with pytest.raises(ValueError):
        att.get_bytes()  # the file is closed now


def test_parse_file_peak_memory_is_bounded(tmp_path: Path) -> None:
    # In a fresh interpreter: parse a 30 MB message and stream its attachment
    # out; the process must not grow by anything like the message size.
    path = tmp_path / "big.eml"
    _write_big_message(path, os.urandom(22 * 1024 * 1024))
    code = f"""
import resource, mimekit
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
with mimekit.parse_file({str(path)!r}) as msg:
    msg.subject
    n = msg.attachments[0].save({str(tmp_path / 'out.bin')!r})
    assert msg.all_defects() == []
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(n, (peak - base) // 1024)
"""
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                         text=True).stdout.split()
    assert int(out[0]) == 22 * 1024 * 1024
    assert int(out[1]) < 25, f"grew by {out[1]} MiB while streaming a 30 MB message"


def test_parse_file_with_file_objects(tmp_path: Path) -> None:
    raw = b"Subject: hi\r\n\r\n" + b"x" * 100_000
    path = tmp_path / "m.eml"
    path.write_bytes(b"JUNK" + raw)
    with open(path, "rb") as f:
        f.seek(4)  # starts at the current position
        msg = mimekit.parse_file(f)
        assert bytes(msg) == raw and msg.subject == "hi"
        assert f.tell() == 4  # pread does not move the caller's file
    msg = mimekit.parse_file(io.BytesIO(raw))  # no fileno: read whole
    assert bytes(msg) == raw


def test_parse_file_from_a_pipe(tmp_path: Path) -> None:
    raw = b"Subject: piped\r\n\r\n" + b"y" * 200_000
    (tmp_path / "m.eml").write_bytes(raw)
    with subprocess.Popen(["cat", str(tmp_path / "m.eml")], stdout=subprocess.PIPE) as proc:
        assert proc.stdout is not None
        msg = mimekit.parse_file(proc.stdout)
    assert msg.subject == "piped" and bytes(msg) == raw


def test_parser_spools_to_a_file() -> None:
    raw = b"Subject: spooled\r\n\r\n" + os.urandom(300_000)
    p = mimekit.Parser(spool_threshold=1000)
    for i in range(0, len(raw), 4096):
        p.feed(raw[i:i + 4096])
    assert p.size == len(raw)
    with p.close() as msg:
        assert msg.subject == "spooled" and bytes(msg) == raw
    with pytest.raises(ValueError):
        p.feed(b"more")
    with pytest.raises(ValueError):
        p.close()


def test_parse_refuses_str() -> None:
    with pytest.raises(TypeError):
        mimekit.parse("Subject: x\r\n\r\n")  # type: ignore[arg-type]


def test_bytearray_input_is_frozen() -> None:
    buf = bytearray(b"Subject: one\r\n\r\nbody")
    msg = mimekit.parse(buf)
    buf[9:12] = b"two"
    assert msg.subject == "one"


def test_strict_mode() -> None:
    good = b"Subject: fine\r\nFrom: a@example.org\r\n\r\nbody\r\n"
    assert mimekit.parse(good, strict=True).subject == "fine"
    bad = (b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\none\r\n")
    with pytest.raises(MalformedMessageError) as exc:
        mimekit.parse(bad, strict=True)
    assert exc.value.defect.kind is DefectKind.CLOSE_BOUNDARY_NOT_FOUND
    with pytest.raises(MalformedMessageError):
        mimekit.parse(b"Content-Transfer-Encoding: base64\r\n\r\n!!!!", strict=True)


def test_depth_limit() -> None:
    raw = b"Subject: deep\r\n\r\nx"
    for _ in range(150):
        raw = b"Content-Type: message/rfc822\r\n\r\n" + raw
    msg = mimekit.parse(raw)
    nodes = list(msg.walk())
    assert len(nodes) == mimekit.DEFAULT_LIMITS.max_depth + 1
    assert nodes[-1].defects[0].kind is DefectKind.NESTING_TOO_DEEP
    assert bytes(msg) == raw
    # Deep multipart nesting too.
    raw = b"x"
    for i in range(300):
        raw = (b"Content-Type: multipart/mixed; boundary=%d\r\n\r\n--%d\r\n" % (i, i)
               + raw + b"\r\n--%d--\r\n" % i)
    msg = mimekit.parse(raw)
    assert DefectKind.NESTING_TOO_DEEP in {d.kind for d in msg.all_defects()}
    assert bytes(msg) == raw


def test_mimekit_stack_overflow_message() -> None:
    # MimeKit's stack-overflow.txt: a To header of thousands of encoded words
    # that once overflowed MimeKit's address parser.
    from conftest import CORPUS
    raw = (CORPUS / "mimekit/messages/stack-overflow.txt").read_bytes()
    msg = mimekit.parse(raw)
    assert msg.to is not None
    assert msg.all_defects()  # damaged, and said so
    assert bytes(msg) == raw


def test_part_and_header_limits() -> None:
    limits = dataclasses.replace(mimekit.DEFAULT_LIMITS, max_parts=3, max_header_fields=5,
                                 max_header_block=200)
    raw = (b"Content-Type: multipart/mixed; boundary=b\r\n\r\n"
           + b"".join(b"--b\r\n\r\npart %d\r\n" % i for i in range(6)) + b"--b--\r\n")
    msg = mimekit.parse(raw, limits=limits)
    assert len(msg.parts) == 3
    assert msg.parts[2].get_bytes().startswith(b"part 2")  # the rest stays in it
    assert DefectKind.TOO_MANY_PARTS in {d.kind for d in msg.defects}
    assert bytes(msg) == raw

    many = b"".join(b"X-%d: v\r\n" % i for i in range(10)) + b"\r\nbody"
    msg = mimekit.parse(many, limits=limits)
    assert len(msg.headers) == 5 and bytes(msg) == many
    assert DefectKind.TOO_MANY_HEADERS in {d.kind for d in msg.defects}

    huge = b"Subject: " + b"a" * 300 + b"\r\nTo: x@y\r\n\r\nbody"
    msg = mimekit.parse(huge, limits=limits)
    assert DefectKind.HEADER_BLOCK_TOO_LARGE in {d.kind for d in msg.defects}
    assert bytes(msg) == huge

    with pytest.raises(ValueError):
        mimekit.Limits(max_depth=0)


def test_header_block_bigger_than_the_first_file_window(tmp_path: Path) -> None:
    fields = b"".join(b"X-Field-%d: %s\r\n" % (i, b"v" * 60) for i in range(3000))
    raw = fields + b"Subject: last\r\n\r\nbody"
    path = tmp_path / "many.eml"
    path.write_bytes(raw)
    with mimekit.parse_file(path) as msg:
        assert msg.subject == "last" and len(msg.headers) == 3001
        assert msg.get_bytes() == b"body"


# -- linear time: n versus 10n on adversarial shapes -----------------------------------


def _ratio(make: Callable[[int], bytes], n: int, work: Callable[[bytes], object]) -> float:
    def best(data: bytes) -> float:
        times = []
        for _ in range(3):
            t = time.perf_counter()
            work(data)
            times.append(time.perf_counter() - t)
        return min(times)

    small, big = make(n), make(10 * n)
    return best(big) / max(best(small), 1e-6)


def _everything(raw: bytes) -> None:
    msg = mimekit.parse(raw)
    for h in msg.headers:
        _ = (h.text, h.value)
    for part in msg.walk():
        part.get_bytes()
        part.defects


SHAPES: dict[str, Callable[[int], bytes]] = {
    "many boundaries": lambda n: (b"Content-Type: multipart/mixed; boundary=b\r\n\r\n"
                                  + b"--b\r\n\r\nx\r\n" * n + b"--b--\r\n"),
    "near-miss boundaries": lambda n: (b"Content-Type: multipart/mixed; boundary=b\r\n\r\n"
                                       b"--b\r\n\r\n" + b"--bx\r\n" * n + b"--b--\r\n"),
    "header fields": lambda n: b"X-A: b\r\n" * n + b"\r\nbody",
    "continuation lines": lambda n: b"Subject: a\r\n" + b" b\r\n" * n + b"\r\nbody",
    "nested prefix boundaries": lambda n: b"".join(
        b"Content-Type: multipart/mixed; boundary=" + b"a" * (i + 1) + b"\r\n\r\n--"
        + b"a" * (i + 1) + b"\r\n" for i in range(min(n // 50, 90))) + b"x" * n,
    "folds in an unclosed encoded word": lambda n: (b"Subject: " + b"=?utf-8?q?a\r\n " * n
                                                     + b"\r\n\r\nbody"),
    "qp soft breaks": lambda n: b"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
                                + b"=\r\n" * n,
    "base64 junk": lambda n: b"Content-Transfer-Encoding: base64\r\n\r\n" + b"*a!=\r\n" * n,
}


@pytest.mark.parametrize("shape", SHAPES)
def test_linear_time(shape: str) -> None:
    ratio = _ratio(SHAPES[shape], 2000, _everything)
    assert ratio < 25, f"{shape}: 10x input took {ratio:.1f}x the time"


def test_tempfile_spool_is_unlinked() -> None:
    before = set(os.listdir(tempfile.gettempdir()))
    p = mimekit.Parser(spool_threshold=10)
    p.feed(b"Subject: x\r\n\r\n" + b"z" * 100)
    msg = p.close()
    assert set(os.listdir(tempfile.gettempdir())) - before == set()
    msg.close()


def test_file_source_find_across_chunk_edges(tmp_path: Path) -> None:
    from mimekit.tree._source import FileSource
    data = bytes(range(256)) * 40_000  # 10 MB, no "\n--x" anywhere
    needle = b"\n--" + b"x" * 5000  # longer than the first read
    for where in (0, 4090, 4096 - 3, 12_000, 1 << 20, len(data) - 1):
        blob = data[:where] + needle + data[where:]
        path = tmp_path / "f.bin"
        path.write_bytes(blob)
        src = FileSource.open(path)
        try:
            assert src.find(needle, 0, src.size) == where
            assert src.find(needle, 0, where + len(needle) - 1) == -1
            assert src.find(b"\n--", where + 1, src.size) == blob.find(b"\n--", where + 1)
        finally:
            src.close()
