"""``mimekit extract``: attachments saved, names sanitized, nothing overwritten."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest

SAMPLE = Path(__file__).resolve().parent.parent / "examples" / "data" / "sample.eml"


def run(*args: str, input: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "mimekit", *args], input=input,
                          capture_output=True)


def message(*attachments: tuple[str, bytes]) -> bytes:
    parts = [b"--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n"]
    for name, data in attachments:
        parts.append(b"--b\r\nContent-Type: application/octet-stream\r\n"
                     b"Content-Disposition: attachment; filename=\"" + name.encode() + b"\"\r\n"
                     b"Content-Transfer-Encoding: base64\r\n\r\n"
                     + base64.encodebytes(data).replace(b"\n", b"\r\n"))
    return (b"Content-Type: multipart/mixed; boundary=b\r\n\r\n" + b"".join(parts)
            + b"--b--\r\n")


def test_extracts_the_sample(tmp_path: Path) -> None:
    proc = run("extract", str(SAMPLE), "-o", str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stderr
    saved = tmp_path / "out" / "Bericht Q2 — Entwurf.pdf"
    assert saved.read_bytes().startswith(b"%PDF-1.4")
    assert b"application/pdf" in proc.stdout


@pytest.mark.parametrize(("hostile", "expected"), [
    ("../../etc/passwd", "passwd"),
    ("..\\..\\boot.ini", "boot.ini"),
    ("/abs/path.txt", "path.txt"),
    (".bashrc", "bashrc"),
    ("con.txt", "_con.txt"),
    ("a\x07b:c?.txt", "a_b_c_.txt"),
    ("", "attachment-1.bin"),
])
def test_hostile_names_are_sanitized(tmp_path: Path, hostile: str, expected: str) -> None:
    raw = message((hostile, b"data"))
    out = tmp_path / "out"
    proc = run("extract", "-", "-o", str(out), input=raw)
    assert proc.returncode == 0, proc.stderr
    assert [p.name for p in out.iterdir()] == [expected]
    assert not (tmp_path / "etc").exists()


def test_no_overwrite_without_force_and_symlinks_not_followed(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.bin").write_bytes(b"precious")
    victim = tmp_path / "victim"
    victim.write_bytes(b"do not touch")
    os.symlink(victim, out / "b.bin")
    raw = message(("a.bin", b"new"), ("b.bin", b"new"), ("c.bin", b"new"))
    proc = run("extract", "-", "-o", str(out), input=raw)
    assert proc.returncode == 1
    assert b"exists" in proc.stderr
    assert (out / "a.bin").read_bytes() == b"precious"
    assert victim.read_bytes() == b"do not touch"
    assert (out / "c.bin").read_bytes() == b"new"
    proc = run("extract", "-", "-o", str(out), "--force", input=raw)
    assert (out / "a.bin").read_bytes() == b"new"
    assert victim.read_bytes() == b"do not touch"  # O_NOFOLLOW even with --force
    assert proc.returncode == 1


def test_duplicate_names_are_numbered(tmp_path: Path) -> None:
    raw = message(("same.txt", b"one"), ("same.txt", b"two"))
    proc = run("extract", "-", "-o", str(tmp_path), input=raw)
    assert proc.returncode == 0
    assert (tmp_path / "same.txt").read_bytes() == b"one"
    assert (tmp_path / "same-2.txt").read_bytes() == b"two"
