"""``mimekit serve`` and ``mimekit user``: run and administer the local mail system."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import sys
from pathlib import Path
from typing import Any

__all__ = ["add_parsers"]


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("serve", help="run a local mail system (SMTP, submission, POP3, IMAP, "
                       "queue)",
                       description="Run a whole local mail system: SMTP in, authenticated "
                       "submission, an outgoing queue with retries, delivery into Maildirs, "
                       "POP3 and IMAP access to them. "
                       "Runs until SIGINT or SIGTERM. Every option has a default.")
    p.add_argument("--dir", type=Path, default=Path("mimekit-mail"),
                   help="the mail system directory (default ./mimekit-mail)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on")
    p.add_argument("--domain", action="append", dest="domains", metavar="DOMAIN",
                   help="a domain to receive mail for (repeatable; default localhost)")
    p.add_argument("--hostname", help="our host name (default: the first domain)")
    for name, port in (("smtp", 2525), ("submission", 2587), ("pop3", 2110), ("imap", 2143)):
        p.add_argument(f"--{name}-port", type=int, default=port,
                       help=f"{name} port (default {port}; 0 disables)")
    p.add_argument("--tls-cert", type=Path, help="TLS certificate (PEM); default: a "
                   "self-signed one made once in DIR/tls/")
    p.add_argument("--tls-key", type=Path, help="TLS private key (PEM)")
    p.add_argument("--relay-host", metavar="HOST:PORT",
                   help="smarthost for mail to other domains")
    p.add_argument("--relay-tls", choices=["starttls", "implicit"],
                   help="use TLS to the relay host")
    p.add_argument("--relay-ca", type=Path, help="CA file to verify the relay host with")
    p.add_argument("--max-size", type=int, default=25 * 1024 * 1024,
                   help="largest message accepted, in bytes")
    p.add_argument("--retry", type=float, default=60.0, metavar="SECONDS",
                   help="first retry delay of the outgoing queue (doubles each time)")
    p.add_argument("--queue-lifetime", type=float, default=5 * 86400.0, metavar="SECONDS",
                   help="how long the queue keeps trying before bouncing")
    p.add_argument("--allow-plaintext-auth-on-loopback", action="store_true",
                   help="offer SMTP AUTH without TLS to clients on 127.0.0.1/::1")
    p.add_argument("--pop3-plaintext-auth", choices=["never", "loopback", "always"],
                   default="loopback", help="POP3 USER/PASS and AUTH without TLS (default: "
                   "only from 127.0.0.1/::1; STLS is always offered)")
    p.add_argument("--imap-plaintext-auth", choices=["never", "loopback", "always"],
                   default="loopback", help="IMAP LOGIN and AUTHENTICATE without TLS (default: "
                   "only from 127.0.0.1/::1; STARTTLS is always offered)")
    p.add_argument("--delivery-threads", type=int, default=0, metavar="N",
                   help="deliver in N threads (for slow storage; default 0: on the event "
                   "loop, which is faster on local disks)")
    p.add_argument("-v", "--verbose", action="store_true", help="log to stderr")
    p.set_defaults(func=_run_serve)

    u = sub.add_parser("user", help="manage the users of the local mail system")
    usub = u.add_subparsers(dest="user_command", metavar="ACTION", required=True)
    add = usub.add_parser("add", help="add a user or set a password")
    add.add_argument("name")
    add.add_argument("--password", help="the password (else read from stdin)")
    add.add_argument("--dir", type=Path, default=Path("mimekit-mail"))
    add.set_defaults(func=_run_user_add)
    rm = usub.add_parser("remove", help="remove a user (the Maildir is kept)")
    rm.add_argument("name")
    rm.add_argument("--dir", type=Path, default=Path("mimekit-mail"))
    rm.set_defaults(func=_run_user_remove)
    ls = usub.add_parser("list", help="list the users")
    ls.add_argument("--dir", type=Path, default=Path("mimekit-mail"))
    ls.set_defaults(func=_run_user_list)


def _run_serve(args: argparse.Namespace) -> int:
    from ..serve import ServeOptions, serve

    if args.verbose:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if (args.tls_cert is None) != (args.tls_key is None):
        print("mimekit serve: --tls-cert and --tls-key go together", file=sys.stderr)
        return 2
    options = ServeOptions(
        directory=args.dir, host=args.host, domains=args.domains or ["localhost"],
        hostname=args.hostname, smtp_port=args.smtp_port,
        submission_port=args.submission_port, pop3_port=args.pop3_port,
        imap_port=args.imap_port, tls_cert=args.tls_cert, tls_key=args.tls_key,
        relay_host=args.relay_host, relay_tls=args.relay_tls, relay_ca=args.relay_ca,
        max_size=args.max_size, retry_base=args.retry, queue_lifetime=args.queue_lifetime,
        allow_plaintext_auth_on_loopback=args.allow_plaintext_auth_on_loopback,
        pop3_plaintext_auth=args.pop3_plaintext_auth,
        imap_plaintext_auth=args.imap_plaintext_auth,
        delivery_threads=args.delivery_threads)
    try:
        return asyncio.run(serve(options))
    except (RuntimeError, ValueError) as exc:
        print(f"mimekit serve: {exc}", file=sys.stderr)
        return 1


def _read_password() -> str:
    if sys.stdin.isatty():
        first = getpass.getpass("password: ")
        if getpass.getpass("again: ") != first:
            raise ValueError("the passwords differ")
        return first
    return sys.stdin.readline().rstrip("\r\n")


def _run_user_add(args: argparse.Namespace) -> int:
    from ..serve import UserDB

    try:
        password = args.password if args.password is not None else _read_password()
        UserDB(args.dir / "users").set_password(args.name, password)
    except ValueError as exc:
        print(f"mimekit user add: {exc}", file=sys.stderr)
        return 1
    print(f"user {UserDB.check_name(args.name)} saved in {args.dir / 'users'}")
    return 0


def _run_user_remove(args: argparse.Namespace) -> int:
    from ..serve import UserDB

    try:
        UserDB(args.dir / "users").remove(args.name)
    except KeyError:
        print(f"mimekit user remove: no user {args.name!r}", file=sys.stderr)
        return 1
    return 0


def _run_user_list(args: argparse.Namespace) -> int:
    from ..serve import UserDB

    for name in UserDB(args.dir / "users").names():
        print(name)
    return 0
