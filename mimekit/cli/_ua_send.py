"""``mimekit send``: send a message through an account's SMTP server.

Two forms::

    mimekit send [--account A] [--from ADDR] --to ADDR [--cc ADDR] [--bcc ADDR] \\
                 --subject TEXT [--text-file F | --html-file F] [--attach F ...]
    mimekit send [--account A] [--from ADDR] < message.eml

The first composes a new message (From: ``--from``, else the account's
``from``); the second sends an existing one, the envelope taken from its
headers (``--from`` then sets only the envelope sender). Bcc is never
transmitted. One line per recipient is printed (``accepted`` or
``refused``), then where the Sent copy went. The exit status is 3 when a
recipient was refused or the copy could not be saved, 1 when all were
refused (see :mod:`._ua_common` for the others).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from ._ua_common import Context, add_command, run_guarded

__all__ = ["add_parser"]


def add_parser(sub: Any) -> None:
    p = add_command(sub, "send", "send a message through an account's SMTP server",
                    "Compose and send a message, or send the message on stdin (envelope "
                    "from its headers). Bcc is never transmitted; a copy goes to the "
                    "account's Sent folder.")
    p.add_argument("--from", dest="from_", metavar="ADDR",
                   help="the author (default: the account's from); with a message on "
                   "stdin: the envelope sender")
    p.add_argument("--to", action="append", default=[], metavar="ADDR",
                   help="a recipient (repeatable)")
    p.add_argument("--cc", action="append", default=[], metavar="ADDR",
                   help="a Cc recipient (repeatable)")
    p.add_argument("--bcc", action="append", default=[], metavar="ADDR",
                   help="a Bcc recipient (repeatable; never transmitted)")
    p.add_argument("--subject", help="the subject")
    body = p.add_mutually_exclusive_group()
    body.add_argument("--text-file", type=Path, metavar="F",
                      help="plain-text body (UTF-8); '-' reads stdin")
    body.add_argument("--html-file", type=Path, metavar="F", help="HTML body (UTF-8)")
    p.add_argument("--attach", action="append", type=Path, default=[], metavar="F",
                   help="attach a file (repeatable)")
    p.add_argument("--no-save", action="store_true", help="keep no copy in Sent")
    p.set_defaults(func=lambda args: run_guarded("send", args, _send))


def _read_text(path: Path) -> str:
    from ..agent import ConfigError

    try:
        data = sys.stdin.buffer.read() if str(path) == "-" else path.read_bytes()
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path} is not UTF-8 text: {exc.reason} at byte {exc.start}") \
            from exc
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from exc


def _send(ctx: Context) -> int:
    from dataclasses import replace

    from ..agent import (
        EXIT_FAILURE,
        EXIT_PARTIAL,
        ConfigError,
        compose_message,
        prepare_message,
        send,
    )

    args = ctx.args
    account = ctx.account
    if args.no_save:
        account = replace(account, save_sent=False)
    composing = bool(args.to or args.cc or args.bcc or args.subject is not None
                     or args.text_file or args.html_file or args.attach)
    if composing:
        message = compose_message(
            account, from_=args.from_, to=args.to, cc=args.cc, bcc=args.bcc,
            subject=args.subject or "",
            text=_read_text(args.text_file) if args.text_file else None,
            html=_read_text(args.html_file) if args.html_file else None,
            attachments=args.attach)
        sender = None
    else:
        if sys.stdin.isatty():
            raise ConfigError("no message: give --to and --subject, or pipe a message in "
                              "(mimekit send < message.eml)")
        data = sys.stdin.buffer.read()
        if not data.strip():
            raise ConfigError("the message on stdin is empty")
        message = prepare_message(data)
        sender = args.from_
    try:
        outcome = send(account, ctx.connector, message, sender=sender, reporter=ctx.reporter)
    except ValueError as exc:  # no sender or recipients in the headers
        raise ConfigError(str(exc)) from exc
    for rcpt, text in outcome.accepted.items():
        ctx.say(f"accepted {rcpt}: {text}")
    for rcpt, text in outcome.refused.items():
        print(f"refused  {rcpt}: {text}", flush=True)
    if outcome.sent_copy:
        ctx.say(f"saved a copy in {outcome.sent_copy}")
    if not outcome.accepted:
        return EXIT_FAILURE
    if outcome.refused or outcome.sent_error:
        return EXIT_PARTIAL
    return 0
