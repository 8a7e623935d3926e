"""Summarize a mail store: who sends, how big, what gets attached.

Usage: python examples/maildir_report.py [MAILDIR_OR_MBOX]

A directory is read as a Maildir (with its Maildir++ folders), a file as an
mbox. Without an argument, a small Maildir is built in a temporary directory
first, so the example runs on its own.
"""

from __future__ import annotations

import sys
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import mimekit
from mimekit.mailstore import Maildir, Mbox


def messages(path: Path) -> Iterator[tuple[str, mimekit.Message]]:
    """``(folder, message)`` for every message of a Maildir tree or an mbox."""
    if path.is_dir():
        top = Maildir(path)
        for name, md in [("INBOX", top)] + [(f, top.folder(f)) for f in top.list_folders()]:
            for msg in md.values():
                yield name, msg
    else:
        for msg in Mbox(path, create=False):
            yield path.name, msg


def report(path: Path) -> None:
    senders: Counter[str] = Counter()
    attachment_types: Counter[str] = Counter()
    per_folder: Counter[str] = Counter()
    sizes: list[int] = []
    for folder, msg in messages(path):
        with msg:  # big messages are read from their file: close them
            per_folder[folder] += 1
            sizes.append(msg.size)
            for mailbox in msg.from_.mailboxes:
                senders[mailbox.addr_spec.lower()] += 1
            if not msg.from_.mailboxes:
                senders["(no sender)"] += 1
            for part in msg.attachments:
                attachment_types[part.content_type.mime_type] += 1

    print(f"{path}: {len(sizes)} messages, {sum(sizes):,} bytes")
    if not sizes:
        return
    print(f"sizes: smallest {min(sizes):,}, largest {max(sizes):,}, "
          f"average {sum(sizes) // len(sizes):,} bytes")
    print("\nfolders:")
    for folder, count in sorted(per_folder.items()):
        print(f"  {count:5}  {folder}")
    print("\ntop senders:")
    for sender, count in senders.most_common(10):
        print(f"  {count:5}  {sender}")
    print("\nattachment types:")
    for mime_type, count in attachment_types.most_common() or [("(none)", 0)]:
        print(f"  {count:5}  {mime_type}")


def build_sample(root: Path) -> Path:
    """A small Maildir: a few messages in INBOX and in a Sent folder."""
    md = Maildir(root / "Maildir", create=True)
    md.add(b"From: Alice <alice@example.org>\r\nTo: me@example.net\r\n"
           b"Subject: lunch?\r\n\r\nNoon at the usual place?\r\n")
    md.add(b"From: Bob <bob@example.org>\r\nTo: me@example.net\r\nSubject: report\r\n"
           b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b1\r\n\r\n"
           b"--b1\r\nContent-Type: text/plain\r\n\r\nThe figures are attached.\r\n"
           b"--b1\r\nContent-Type: application/pdf\r\n"
           b"Content-Disposition: attachment; filename=report.pdf\r\n"
           b"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n"
           b"--b1\r\nContent-Type: image/png; name=chart.png\r\n"
           b"Content-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n--b1--\r\n",
           flags="S")
    md.add(b"From: alice@example.org\r\nSubject: re: lunch?\r\n\r\nOr 1 pm.\r\n", flags="RS")
    md.add_folder("Sent").add(b"From: me@example.net\r\nTo: alice@example.org\r\n"
                              b"Subject: re: lunch?\r\n\r\nNoon is fine.\r\n", flags="S")
    return md.path


def main() -> None:
    if len(sys.argv) > 1:
        report(Path(sys.argv[1]))
        return
    with tempfile.TemporaryDirectory() as tmp:
        report(build_sample(Path(tmp)))


if __name__ == "__main__":
    main()
