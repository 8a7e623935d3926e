"""``mimekit inspect``: the tree as text and as JSON, through the real command."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import CORPUS

from mimekit.cli import main

SAMPLE = Path(__file__).resolve().parent.parent / "examples" / "data" / "sample.eml"


def test_inspect_text(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["inspect", str(SAMPLE)]) == 0
    out = capsys.readouterr().out
    assert "[root] multipart/mixed" in out
    assert "[1.1] text/plain  quoted-printable  utf-8" in out
    assert '"Bericht Q2 — Entwurf.pdf"' in out
    assert "subject: Quarterly report — draft" in out


def test_inspect_json_via_console_script() -> None:
    proc = subprocess.run([sys.executable, "-m", "mimekit", "inspect", "--json", str(SAMPLE)],
                          check=True, capture_output=True, text=True)
    tree = json.loads(proc.stdout)
    assert tree["type"] == "multipart/mixed"
    assert tree["headers"]["from"] == ["Jörg Müller <joerg@example.org>"]
    pdf = tree["parts"][1]
    assert pdf["filename"] == "Bericht Q2 — Entwurf.pdf" and pdf["decoded_size"] == 87
    assert [p["section"] for p in tree["parts"][0]["parts"]] == ["1.1", "1.2"]


def test_inspect_reports_defects_and_nested_messages(capsys) -> None:  # type: ignore[no-untyped-def]
    path = CORPUS / "stalwart-mail-parser/eml/malformed/003.eml"
    assert main(["inspect", "--json", str(path)]) == 0
    tree = json.loads(capsys.readouterr().out)
    # The same boundary nested twice: the outer multipart takes every
    # delimiter line, so the inner one finds none.
    assert {d["kind"] for d in tree["defects"]} == {"close-boundary-not-found"}
    assert {d["kind"] for d in tree["parts"][0]["defects"]} == {"start-boundary-not-found"}


def test_inspect_stdin_and_errors() -> None:
    proc = subprocess.run([sys.executable, "-m", "mimekit", "inspect", "-"],
                          input=b"Subject: from stdin\r\n\r\nhi", capture_output=True, check=True)
    assert b"subject: from stdin" in proc.stdout
    proc = subprocess.run([sys.executable, "-m", "mimekit", "inspect", "/nonexistent.eml"],
                          capture_output=True)
    assert proc.returncode == 1 and b"No such file" in proc.stderr
    proc = subprocess.run([sys.executable, "-m", "mimekit"], capture_output=True)
    assert proc.returncode == 2


def test_inspect_mbox_and_maildir(tmp_path: Path) -> None:
    mbox = CORPUS / "mimekit/mbox/content-length.mbox.txt"
    proc = subprocess.run([sys.executable, "-m", "mimekit", "inspect", "--json", str(mbox)],
                          check=True, capture_output=True, text=True)
    listing = json.loads(proc.stdout)
    assert len(listing) == 29 and all("key" in item and "tree" in item for item in listing)
    from mimekit.mailstore import Maildir
    md = Maildir(tmp_path / "md", create=True)
    keys = [md.add(SAMPLE.read_bytes()), md.add(b"Subject: two\r\n\r\nbody\r\n", flags="S")]
    proc = subprocess.run([sys.executable, "-m", "mimekit", "inspect", str(tmp_path / "md")],
                          check=True, capture_output=True, text=True)
    assert all(f"== {k}" in proc.stdout for k in keys)
    assert "subject: two" in proc.stdout
    proc = subprocess.run([sys.executable, "-m", "mimekit", "inspect", str(tmp_path)],
                          capture_output=True, text=True)
    assert proc.returncode == 1 and "not a Maildir" in proc.stderr
