"""bytes(parse(x)) == x over every corpus file, as-is, as LF and as CRLF.

The property holds for any bytes, so every file of every corpus is used.
Reading everything (headers, values, structure, bodies, defects) first must
not change the output either: laziness is not allowed to be what saves us.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from corpus_files import all_files, corpus_id
from treeinfo import read_everything

import mimekit

FILES = all_files()


def _variants(raw: bytes) -> dict[str, bytes]:
    lf = raw.replace(b"\r\n", b"\n")
    return {"as-is": raw, "lf": lf, "crlf": lf.replace(b"\n", b"\r\n")}


def test_corpus_is_there() -> None:
    # The four sources, copied into tests/corpus (../shared adds the stalwart
    # legacy set and MimeKit's GMime-derived files when it is there).
    names = {corpus_id(p).split("/")[0] for p in FILES}
    assert {"cpython-email", "james-mime4j", "mimekit", "stalwart-mail-parser"} <= names
    assert len(FILES) >= 780


@pytest.mark.parametrize("path", FILES, ids=[corpus_id(p) for p in FILES])
def test_roundtrip(path: Path) -> None:
    for name, raw in _variants(path.read_bytes()).items():
        msg = mimekit.parse(raw)
        assert bytes(msg) == raw, name
        read_everything(msg, chunk_size=4096)
        assert bytes(msg) == raw, f"{name}, after reading everything"
        # The slow path (piece by piece) must agree with the fast one.
        assert b"".join(
            p if isinstance(p, bytes) else p[0].read(p[1], p[2]) for p in msg._pieces()
        ) == raw
        out = io.BytesIO()
        assert msg.write_to(out) == len(raw)
        assert out.getvalue() == raw
