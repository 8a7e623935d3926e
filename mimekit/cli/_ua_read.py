"""``mimekit list`` and ``mimekit show``: read the local Maildir.

::

    mimekit list [--account A | --maildir DIR] [--folder F] [--unseen]
    mimekit show [--account A | --maildir DIR] [--folder F] ID [--raw] [--peek]

``list`` prints one line per message: number, date, from, size, flags
(``N`` new, then the Maildir flags: ``S`` seen, ``R`` replied, ``F``
flagged, ``T`` trashed, ``D`` draft, ``P`` forwarded), ``@`` when it has
attachments, and the subject. ``show ID`` (a number from ``list``, or a
Maildir key or a unique prefix of one) prints the decoded headers, the best
text body (HTML-only mail as text) and the attachments, and marks the
message seen (not with ``--peek``); ``--raw`` prints its exact bytes.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

from ._ua_common import Context, add_command, run_guarded

__all__ = ["add_parsers"]


def _where(p: Any) -> None:
    p.add_argument("--maildir", type=Path, metavar="DIR",
                   help="read this Maildir instead of the account's")
    p.add_argument("--folder", metavar="F", help="a folder (default INBOX), e.g. Sent")


def add_parsers(sub: Any) -> None:
    ls = add_command(sub, "list", "list the messages of the local Maildir",
                     "A table of the messages of the account's Maildir (or a folder).")
    _where(ls)
    ls.add_argument("--unseen", action="store_true", help="only messages not yet seen")
    ls.set_defaults(func=lambda args: run_guarded("list", args, _list))
    show = add_command(sub, "show", "show a message of the local Maildir",
                       "Show a message for reading: headers, text, attachments.")
    _where(show)
    show.add_argument("id", help="a number from `mimekit list`, or a Maildir key (prefix)")
    show.add_argument("--raw", action="store_true", help="print the message's exact bytes")
    show.add_argument("--peek", action="store_true", help="do not mark it seen")
    show.set_defaults(func=lambda args: run_guarded("show", args, _show))


def _folder(ctx: Context) -> Any:
    from ..agent import open_folder

    root = ctx.args.maildir if ctx.args.maildir else ctx.account.need_maildir()
    return open_folder(root, ctx.args.folder)


def _list(ctx: Context) -> int:
    from ..agent import format_rows, rows

    table = rows(_folder(ctx), unseen=ctx.args.unseen)
    width = shutil.get_terminal_size((100, 24)).columns
    for line in format_rows(table, width=width):
        print(line)
    return 0


def _show(ctx: Context) -> int:
    from ..agent import render, resolve

    md = _folder(ctx)
    key = resolve(md, ctx.args.id)
    if ctx.args.raw:
        sys.stdout.buffer.write(md.get_bytes(key))
        sys.stdout.buffer.flush()
    else:
        with md.get_message(key) as msg:
            text = render(msg)
        sys.stdout.write(text)
        sys.stdout.flush()
    if not ctx.args.peek and not ctx.args.raw:
        md.add_flag(key, "S")
    return 0
