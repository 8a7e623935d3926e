"""``mimekit fetch`` and ``mimekit sync``: mail from the server to the Maildir.

::

    mimekit fetch [--account A] [--delete] [--since YYYY-MM-DD]
    mimekit sync  [--account A] [--folder NAME ...]

``fetch`` downloads new mail over POP3 (by UIDL) or IMAP (INBOX, by
UIDVALIDITY and UID) into the account's Maildir, incrementally; ``sync``
synchronises every IMAP mailbox with the Maildir both ways (flags, new
messages, deletions). Both keep their state beside the Maildir and may be
interrupted at any time: running them again resumes without duplicates.
Progress is shown on stderr when it is a terminal. ``sync`` exits with 3
when it kept a conflict (reported on stderr).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from ._ua_common import Context, add_command, run_guarded

__all__ = ["add_parsers"]


def _day(text: str) -> date:
    import argparse

    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def add_parsers(sub: Any) -> None:
    f = add_command(sub, "fetch", "download new mail (POP3 or IMAP) into the Maildir",
                    "Download new mail into the account's Maildir over POP3 (by UIDL) or "
                    "IMAP (INBOX, by UIDVALIDITY and UID). Incremental; an interrupted run "
                    "resumes without duplicates.")
    f.add_argument("--delete", action="store_true",
                   help="delete fetched messages on the server")
    f.add_argument("--since", type=_day, metavar="YYYY-MM-DD",
                   help="only messages of this day or later (POP3: the Date header; "
                   "IMAP: the arrival date)")
    f.set_defaults(func=lambda args: run_guarded("fetch", args, _fetch))
    s = add_command(sub, "sync", "two-way sync of the IMAP mailboxes with the Maildir",
                    "Synchronise every IMAP mailbox with the account's Maildir, both ways: "
                    "flags, new messages, deletions. Conflicts are kept and reported.")
    s.add_argument("--folder", action="append", metavar="NAME",
                   help="only this mailbox (repeatable; the server's name, e.g. INBOX)")
    s.set_defaults(func=lambda args: run_guarded("sync", args, _sync))


def _fetch(ctx: Context) -> int:
    from ..agent import fetch

    args = ctx.args
    outcome = fetch(ctx.account, ctx.connector, delete=args.delete, since=args.since,
                    reporter=ctx.reporter)
    parts = [f"fetched {outcome.fetched} new message{'s' if outcome.fetched != 1 else ''} "
             f"from {outcome.source} into {outcome.maildir}"]
    if outcome.deleted:
        parts.append(f"deleted {outcome.deleted} on the server")
    if outcome.skipped:
        parts.append(f"{outcome.skipped} older than {args.since} left")
    if outcome.recovered:
        parts.append(f"{outcome.recovered} found already stored by an interrupted run")
    if outcome.matched:
        parts.append(f"{outcome.matched} already here (UIDVALIDITY changed)")
    ctx.say("; ".join(parts))
    return 0


def _sync(ctx: Context) -> int:
    from ..agent import EXIT_FAILURE, EXIT_PARTIAL, sync

    o = sync(ctx.account, ctx.connector, folders=ctx.args.folder, reporter=ctx.reporter)
    counts = [("downloaded", o.downloaded), ("uploaded", o.uploaded),
              ("flags changed here", o.flags_local), ("flags changed there", o.flags_remote),
              ("deleted here", o.deleted_local), ("deleted there", o.deleted_remote),
              ("recovered", o.recovered), ("conflicts", len(o.conflicts))]
    done = ", ".join(f"{name} {n}" for name, n in counts if n) or "nothing to do"
    ctx.say(f"synced {len(o.folders)} folder{'s' if len(o.folders) != 1 else ''} "
            f"({', '.join(o.folders)}) with {o.maildir}: {done}")
    for name in o.created_local:
        ctx.say(f"created folder {name} here")
    for name in o.created_remote:
        ctx.say(f"created mailbox {name} on the server")
    if o.errors:
        return EXIT_FAILURE
    return EXIT_PARTIAL if o.conflicts else 0
