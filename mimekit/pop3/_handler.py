"""What a POP3 server application writes: a Handler, with its Session.

In the style of aiosmtpd and of :class:`mimekit.smtp.Handler`: subclass
:class:`Handler` and override only the hooks you need; every hook is a
coroutine. The server does the protocol, the locking and the Maildir work;
the handler decides who may log in and which Maildir is theirs.
:class:`MaildirHandler` is a complete one for a directory of per-user
Maildirs (what ``mimekit serve`` uses).
"""

from __future__ import annotations

import asyncio
import hmac
import inspect
import os
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from .._guard import check_password
from ..mailstore import Maildir
from ._events import Response
from ._syntax import apop_digest

__all__ = ["Handler", "MaildirHandler", "Session"]


@dataclass(slots=True)
class Session:
    """One client connection, as the server sees it.

    Attributes:
        peer: The client's ``(host, port)``.
        local: Our ``(host, port)``.
        tls: The connection is encrypted (implicit TLS or STLS).
        loopback: The client connects from 127.0.0.0/8 or ::1.
        authenticated: The user name the client logged in as, or None.
        mechanism: How it logged in: ``"USER"``, ``"APOP"`` or a SASL name.
        retrieved: Messages sent whole by RETR so far.
        deleted: Messages removed in the UPDATE state (set at QUIT).
    """

    peer: tuple[str, int]
    local: tuple[str, int]
    tls: bool = False
    loopback: bool = False
    authenticated: str | None = None
    mechanism: str | None = None
    retrieved: int = 0
    deleted: int = 0


class Handler:
    """Server hooks; override what you need. All are coroutines.

    The defaults refuse every login and have no mailboxes, so a real
    handler overrides at least :meth:`on_auth` and :meth:`open_mailbox`.
    """

    async def on_connect(self, session: Session) -> Response | None:
        """A client connected. Return a ``-ERR`` response to refuse it."""
        return None

    async def on_auth(self, session: Session, mechanism: str, username: str,
                      password: str) -> bool:
        """Check a password; return True to accept. ``mechanism`` is
        ``"USER"`` for USER/PASS, else the SASL mechanism (``"PLAIN"``,
        ``"LOGIN"``). The default refuses all."""
        return False

    async def on_apop(self, session: Session, username: str, timestamp: str,
                      digest: str) -> bool:
        """Check an APOP digest (RFC 1939 section 7): it must equal
        ``md5(timestamp + secret)`` in hex, where the secret is the user's
        *plaintext* password. Only called when ``ServerConfig.apop`` is
        True. A store of password hashes cannot answer: the default refuses
        (use :func:`mimekit.pop3.apop_digest` and ``hmac.compare_digest``)."""
        return False

    async def open_mailbox(self, session: Session, username: str) -> Maildir | None:
        """The Maildir of a user who just logged in, or None (the login then
        fails with ``-ERR [SYS/PERM]``). The server locks it for the session."""
        return None

    async def on_disconnect(self, session: Session) -> None:
        """The connection ended (for logging or cleanup)."""


#: User names that are safe as a directory name below the root.
_SAFE_NAME = re.compile(r"[a-z0-9_][a-z0-9._@+-]{0,254}")

Verifier = Callable[[str, str], "bool | Awaitable[bool]"]


class MaildirHandler(Handler):
    """Per-user Maildirs below one directory: ``root/<user>/``.

    Args:
        root: The directory holding one Maildir per user (``DIR/mail`` of
            ``mimekit serve``).
        verify: ``verify(user, password) -> bool`` (or a coroutine function).
            A blocking one (``UserDB.verify`` runs scrypt) is called in a
            thread so the server stays responsive.
        apop_secrets: For APOP: a function returning a user's *plaintext*
            secret, or None. Only needed with ``ServerConfig(apop=True)``.

    User names are lower-cased (as the ``mimekit serve`` users file and its
    delivery do); a name that is not safe as a directory name never gets a
    mailbox.
    """

    def __init__(self, root: str | os.PathLike[str], verify: Verifier, *,
                 apop_secrets: Callable[[str], str | None] | None = None) -> None:
        self.root = Path(root)
        self.verify = verify
        self.apop_secrets = apop_secrets

    async def on_auth(self, session: Session, mechanism: str, username: str,
                      password: str) -> bool:
        if inspect.iscoroutinefunction(self.verify):
            return bool(await self.verify(username, password))
        return await check_password(self.verify, username, password)

    async def on_apop(self, session: Session, username: str, timestamp: str,
                      digest: str) -> bool:
        if self.apop_secrets is None:
            return False
        secret = self.apop_secrets(username)
        if secret is None:
            return False
        return hmac.compare_digest(apop_digest(timestamp, secret), digest)

    async def open_mailbox(self, session: Session, username: str) -> Maildir | None:
        name = username.lower()
        if not _SAFE_NAME.fullmatch(name) or ".." in name:
            return None
        return await asyncio.to_thread(Maildir, self.root / name, create=True)
