"""``mimekit compose`` through a subprocess: read back by mimekit and the stdlib."""

from __future__ import annotations

import email
import email.policy
import subprocess
import sys
from pathlib import Path

import mimekit


def test_compose_writes_a_message(tmp_path: Path) -> None:
    (tmp_path / "body.txt").write_text("Grüße aus Köln\n", "utf-8")
    (tmp_path / "page.html").write_text("<p>Grüße</p>", "utf-8")
    (tmp_path / "Bericht Ü.pdf").write_bytes(b"%PDF-1.4\n" + bytes(range(256)))
    proc = subprocess.run(
        [sys.executable, "-m", "mimekit", "compose", "--from", "Jörg <j@example.org>",
         "--to", "bob@example.org", "--to", "carol@example.org", "--bcc", "hidden@example.org",
         "--subject", "Bericht — Q2", "--text-file", str(tmp_path / "body.txt"),
         "--html-file", str(tmp_path / "page.html"), "--attach",
         str(tmp_path / "Bericht Ü.pdf"), "--header", "X-Mailer: mimekit test"],
        check=True, capture_output=True)
    raw = proc.stdout
    assert all(len(line) <= 998 for line in raw.split(b"\r\n")) and raw.isascii()
    msg = mimekit.parse(raw)
    assert msg.all_defects() == []
    assert msg.subject == "Bericht — Q2"
    assert [m.addr_spec for m in msg.to.mailboxes] == ["bob@example.org", "carol@example.org"]
    assert msg.text_body is not None and msg.text_body.get_text() == "Grüße aus Köln\r\n"
    assert msg.html_body is not None
    (att,) = msg.attachments
    assert att.filename == "Bericht Ü.pdf" and att.get_bytes().startswith(b"%PDF-1.4\n")
    assert msg.headers.text("X-Mailer") == "mimekit test"
    std = email.message_from_bytes(raw, policy=email.policy.default)
    assert str(std["Subject"]) == "Bericht — Q2"
    assert [p.get_filename() for p in std.iter_attachments()] == ["Bericht Ü.pdf"]


def test_compose_errors_are_one_line(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "mimekit", "compose", "--from", "not an address<",
                           "--to", "b@example.org"], capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    proc = subprocess.run([sys.executable, "-m", "mimekit", "compose", "--from", "a@example.org",
                           "--attach", str(tmp_path / "missing.pdf")], capture_output=True,
                          text=True)
    assert proc.returncode == 1 and "No such file" in proc.stderr
    proc = subprocess.run([sys.executable, "-m", "mimekit", "compose", "--from", "a@example.org",
                           "--header", "Bad Header"], capture_output=True, text=True)
    assert proc.returncode == 2
