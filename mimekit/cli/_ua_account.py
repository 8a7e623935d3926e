"""``mimekit account test NAME`` and ``mimekit account list``.

``test`` connects to each endpoint of the account, logs in, and prints what
the server offers; the exit status is that of the first endpoint that failed
(see :mod:`._ua_common`)::

    $ mimekit account test home
    smtp alice@smtp.example.org:587: ok (TLS, logged in)
      PIPELINING SIZE 35882577 ETRN AUTH PLAIN LOGIN ENHANCEDSTATUSCODES 8BITMIME ...
    imap alice@imap.example.org:993: ok (TLS, logged in) INBOX: 12 messages, 1 unseen
      IMAP4REV1 IDLE MOVE UIDPLUS ...
"""

from __future__ import annotations

from typing import Any

from ._ua_common import Context, add_command, run_guarded

__all__ = ["add_parser"]


def add_parser(sub: Any) -> None:
    p = sub.add_parser("account", help="list the accounts, or test one",
                       description="Work with the accounts of accounts.toml.")
    asub = p.add_subparsers(dest="account_command", metavar="ACTION", required=True)
    test = add_command(asub, "test", "connect, log in and show each server's capabilities",
                       "Connect to each server of the account (SMTP, IMAP, POP3), log in, "
                       "and report what it offers.")
    test.add_argument("name", nargs="?", help="the account (default: --account or the "
                      "default account)")
    test.set_defaults(func=lambda args: run_guarded("account test", args, _test))
    ls = add_command(asub, "list", "list the accounts", "List the accounts of the file.")
    ls.set_defaults(func=lambda args: run_guarded("account list", args, _list))


def _test(ctx: Context) -> int:
    from ..agent import EXIT_OK, probe_account

    if ctx.args.name:
        ctx.args.account = ctx.args.name
    account = ctx.account
    status = EXIT_OK
    for probe in probe_account(account, ctx.connector):
        label = probe.endpoint.label
        if probe.error is not None:
            print(f"{label}: FAILED: {probe.error}")
            status = status or probe.error.exit_code
            continue
        how = ", ".join(["TLS" if probe.tls else "no TLS",
                         "logged in" if probe.authenticated else "not logged in"])
        print(f"{label}: ok ({how}){'  ' + probe.detail if probe.detail else ''}")
        if probe.capabilities:
            print("  " + " ".join(probe.capabilities))
    return status


def _list(ctx: Context) -> int:
    config = ctx.config
    for name, account in config.accounts.items():
        servers = ", ".join(ep.label for ep in (account.smtp, account.imap, account.pop3)
                            if ep is not None)
        mark = "*" if name == config.default else " "
        print(f"{mark} {name}: {servers}; maildir {account.maildir or '-'}")
    return 0
