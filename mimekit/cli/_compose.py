"""``mimekit compose``: write a new message to standard output (or a file).

Example::

    mimekit compose --from "Jörg <j@example.org>" --to bob@example.org \\
        --subject "Report" --text-file body.txt --attach report.pdf > out.eml

Attachments are read from disk; their types are guessed from the file
names. The message is written with CRLF line endings (``--lf`` for LF),
7-bit clean headers (``--utf8`` for raw UTF-8, RFC 6532).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, BinaryIO

__all__ = ["add_parser", "run"]


def add_parser(sub: Any) -> None:
    p = sub.add_parser("compose", help="write a new message (to stdout)",
                       description="Compose a message from options and files and write it "
                       "to standard output (or -o FILE).")
    p.add_argument("--from", dest="from_", required=True, help="the author")
    p.add_argument("--to", action="append", default=[], help="a recipient (repeatable)")
    p.add_argument("--cc", action="append", default=[], help="a Cc recipient (repeatable)")
    p.add_argument("--bcc", action="append", default=[], help="a Bcc recipient (repeatable)")
    p.add_argument("--reply-to", help="the Reply-To address")
    p.add_argument("--subject", default="", help="the subject")
    p.add_argument("--text-file", type=Path, help="plain-text body (UTF-8); '-' reads stdin")
    p.add_argument("--html-file", type=Path, help="HTML body (UTF-8)")
    p.add_argument("--attach", action="append", type=Path, default=[], metavar="FILE",
                   help="attach a file (repeatable)")
    p.add_argument("--header", action="append", default=[], metavar="'NAME: VALUE'",
                   help="an extra header field (repeatable)")
    p.add_argument("--utf8", action="store_true", help="raw UTF-8 headers (for SMTPUTF8)")
    p.add_argument("--lf", action="store_true", help="LF line endings instead of CRLF")
    p.add_argument("-o", "--output", type=Path, help="write to this file instead of stdout")
    p.set_defaults(func=run)


def _read_text(path: Path) -> str:
    data = sys.stdin.buffer.read() if str(path) == "-" else path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path} is not UTF-8 text: {exc.reason} at byte {exc.start}") from exc


def run(args: argparse.Namespace, out: BinaryIO | None = None) -> int:
    from ..tree import compose

    headers = []
    for item in args.header:
        name, sep, value = item.partition(":")
        if not sep or not name.strip():
            print(f"mimekit compose: --header needs 'Name: value', got {item!r}",
                  file=sys.stderr)
            return 2
        headers.append((name.strip(), value.strip()))
    try:
        msg = compose(
            from_=args.from_, to=args.to or None, cc=args.cc or None, bcc=args.bcc or None,
            reply_to=args.reply_to, subject=args.subject,
            text=_read_text(args.text_file) if args.text_file else None,
            html=_read_text(args.html_file) if args.html_file else None,
            attachments=list(args.attach), headers=headers or None, utf8=args.utf8,
            linesep="\n" if args.lf else "\r\n")
    except ValueError as exc:
        print(f"mimekit compose: {exc}", file=sys.stderr)
        return 2
    if args.output is not None:
        with open(args.output, "wb") as f:
            msg.write_to(f)
    else:
        target = out or sys.stdout.buffer
        msg.write_to(target)
        target.flush()
    return 0
