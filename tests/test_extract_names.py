"""``mimekit extract`` file names: linear-time length cap, no invisible or
control characters, every Windows device name (see the docstring of
``mimekit/cli/_extract.py``)."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import pytest

import mimekit
from mimekit.cli._extract import safe_filename

PART = mimekit.parse(b"Content-Type: application/octet-stream\r\n\r\nx")
LIMIT = 200


def name_of(hostile: str) -> str:
    return safe_filename(hostile, PART, 1)


# -- length: one cut, at a character boundary --------------------------------------------------


@pytest.mark.parametrize(("hostile", "ext"), [
    ("a" * 1_000_000 + ".txt", ".txt"),
    ("é" * 1_000_000 + ".pdf", ".pdf"),
    ("😀" * 1_000_000 + ".png", ".png"),
    ("\u202e" * 1_000_000 + ".exe", ".exe"),  # every character replaced, then cut
    ("a" * 1_000_000, ""),
    ("ab" * 500_000 + "." + "x" * 17, ""),  # too long to be an extension: cut as one stem
])
def test_huge_names_are_capped(hostile: str, ext: str) -> None:
    name = name_of(hostile)
    raw = name.encode("utf-8")  # strict: the cut did not split a character
    assert LIMIT - 4 < len(raw) <= LIMIT
    assert name.endswith(ext)
    assert name[: -len(ext) or None] == hostile[: len(name) - len(ext)].replace("\u202e", "_")


@pytest.mark.parametrize("hostile", ["a b" * 200, "x" + " ." * 300 + "y"])
def test_a_cut_without_extension_leaves_no_trailing_dot_or_space(hostile: str) -> None:
    name = name_of(hostile)
    assert len(name.encode()) <= LIMIT
    assert not name.endswith((" ", "."))


def _best_time(hostile: str) -> float:
    best = float("inf")
    for _ in range(3):
        gc.collect()
        gc.disable()  # a collection inside one run is noise, not complexity
        try:
            start = time.perf_counter()
            name_of(hostile)
            best = min(best, time.perf_counter() - start)
        finally:
            gc.enable()
    return best


@pytest.mark.parametrize("char", ["a", "é", "\x9b"])
def test_capping_is_linear(char: str) -> None:
    """time(10 n) / time(n) near 10, not 100 (as tests/test_linear_time.py measures)."""
    n = 50_000
    small, big = char * n + ".txt", char * (10 * n) + ".txt"
    name_of(small)  # warm up
    report = ""
    for _attempt in range(3):  # a loaded machine can stall one measurement
        t_small, t_big = _best_time(small), _best_time(big)
        ratio = t_big / max(t_small, 2e-5)
        if ratio < 25:
            return
        report = f"n={n}: {t_small * 1e3:.2f} ms, 10n: {t_big * 1e3:.2f} ms, ratio {ratio:.1f}"
    pytest.fail(report)


# -- invisible and control characters ----------------------------------------------------------


@pytest.mark.parametrize(("hostile", "expected"), [
    ("x\x9b2J\x9b31mred.txt", "x_2J_31mred.txt"),  # C1: U+009B is 8-bit CSI
    ("a\x85b\x80c.txt", "a_b_c.txt"),  # more C1
    ("a\x1b[31mb.txt", "a_[31mb.txt"),  # C0 ESC, as before
    ("invoice\u202etxt.exe", "invoice_txt.exe"),  # bidi override (Cf)
    ("a\u2066b\u2069c\u200fd.txt", "a_b_c_d.txt"),  # isolates, RLM (Cf)
    ("a\u200bb\ufeffc\u00add.txt", "a_b_c_d.txt"),  # zero width space, BOM, soft hyphen
    ("a\U000e0041b.txt", "a_b.txt"),  # tag character (Cf)
    ("a\u2028b", "a_b"),  # line separator (Zl)
    ("a\u2029b", "a_b"),  # paragraph separator (Zp)
    ("a\udcffb.txt", "a_b.txt"),  # lone surrogate (Cs)
    ("a\u0378b\uffffc.txt", "a_b_c.txt"),  # unassigned, noncharacter (Cn)
])
def test_invisible_characters_are_replaced(hostile: str, expected: str) -> None:
    assert name_of(hostile) == expected


@pytest.mark.parametrize("kept", [
    "Grüße — Entwurf.pdf",
    "日本語のファイル.txt",
    "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645.txt",  # ZWNJ in a Persian word
    "family \U0001f468\u200d\U0001f469\u200d\U0001f467.png",  # ZWJ emoji sequence
    "a\u00a0b.txt",  # no-break space (Zs) is a space
    "private \ue000.txt",  # private use (Co) is kept
    "x\u0301y.txt",  # combining mark
])
def test_visible_names_are_kept(kept: str) -> None:
    assert name_of(kept) == kept


# -- Windows device names ----------------------------------------------------------------------


@pytest.mark.parametrize("device", [
    "con", "CON.txt", "nul .txt", "con.", "Con  .  .txt", "aux.tar.gz", "prn",
    "COM0", "com9.log", "LPT1.txt",
    "COM¹", "com².txt", "COM³.tar.gz", "LPT¹", "lpt².txt", "LPT³.doc",
    "CONIN$", "conin$.txt", "CONOUT$", "Conout$ .log",
])
def test_windows_device_names_are_prefixed(device: str) -> None:
    name = name_of(device)
    assert name.startswith("_")
    assert name[1:] == device.strip().rstrip(".") or name[1:] == device.strip()


@pytest.mark.parametrize("plain", [
    "console.txt", "com10.txt", "com.txt", "conin.txt", "conout.txt", "lpt⁴.txt", "xcon.txt",
    "con-2.txt", "nulled", "aux_.txt",
])
def test_ordinary_names_are_not_devices(plain: str) -> None:
    assert name_of(plain) == plain


def test_device_name_left_by_the_cut_is_prefixed_within_the_cap() -> None:
    # "con", spaces, "x.txt": only the cut turns it into "con     .txt".
    name = name_of("con" + " " * 400 + "x.txt")
    assert name.startswith("_con ")
    assert name.endswith(".txt")
    assert len(name.encode()) <= LIMIT
    assert name_of("con" + " " * 400 + "x") == "_con"


# -- the real command --------------------------------------------------------------------------


def _attachment(disposition: bytes, data: bytes) -> bytes:
    return (b"--b\r\nContent-Type: application/octet-stream\r\n"
            b"Content-Disposition: attachment; " + disposition + b"\r\n\r\n" + data + b"\r\n")


def test_cli_writes_safe_names(tmp_path: Path) -> None:
    long_name = "a" * 900_000 + ".txt"
    names = ["x\x9b2J\x9b31mred.txt", "invoice\u202etxt.exe", "COM¹.txt", "a\u2028b.txt"]
    raw = (b"Content-Type: multipart/mixed; boundary=b\r\n\r\n"
           + _attachment(b'filename="' + long_name.encode() + b'"', b"long")
           + b"".join(
               _attachment(b"filename*=utf-8''" + urllib.parse.quote(n).encode(), n.encode())
               for n in names)
           + b"--b--\r\n")
    out = tmp_path / "out"
    # Two minutes before the fix; the timeout only stops a hung run.
    proc = subprocess.run([sys.executable, "-m", "mimekit", "extract", "-", "-o", str(out)],
                          input=raw, capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    saved = sorted(os.listdir(out))
    expected = sorted(["a" * (LIMIT - 4) + ".txt", "x_2J_31mred.txt", "invoice_txt.exe",
                       "_COM¹.txt", "a_b.txt"])
    assert saved == expected
    assert (out / "invoice_txt.exe").read_bytes() == "invoice\u202etxt.exe".encode()
    # Nothing a terminal would interpret reaches stdout.
    printed = proc.stdout.decode("utf-8")
    assert all(ch in "\t\n" or ch.isprintable() for ch in printed)
    assert len(printed.splitlines()) == 5
