"""What an IMAP server application writes: a Handler, with its Session.

In the style of aiosmtpd and of the SMTP and POP3 handlers
(:class:`mimekit.smtp.Handler`, :class:`mimekit.pop3.Handler`): subclass
:class:`Handler` and override only the hooks you need; every hook is a
coroutine. The server does the protocol (RFC 3501), the mailbox work and
the limits; the handler decides who may log in and where their mail is.
:class:`MaildirHandler` is a complete one for a directory of per-user
Maildirs (what ``mimekit serve`` uses: the same users file and the same
``DIR/mail/<user>/`` Maildirs as its SMTP delivery).
"""

from __future__ import annotations

import asyncio
import inspect
import os
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from .._guard import check_password
from ._mailbox import MailboxHub, MailStore

__all__ = ["Handler", "MaildirHandler", "Session"]


@dataclass(slots=True)
class Session:
    """One client connection, as the server sees it.

    Attributes:
        peer: The client's ``(host, port)``.
        local: Our ``(host, port)``.
        tls: The connection is encrypted (implicit TLS or STARTTLS).
        loopback: The client connects from 127.0.0.0/8 or ::1.
        authenticated: The user name the client logged in as, or None.
        mechanism: How it logged in: ``"LOGIN"`` or a SASL mechanism name.
        client_id: What the client said about itself with ID (RFC 2971).
        commands: Commands completed so far.
    """

    peer: tuple[str, int]
    local: tuple[str, int]
    tls: bool = False
    loopback: bool = False
    authenticated: str | None = None
    mechanism: str | None = None
    client_id: dict[str, str | None] | None = None
    commands: int = 0


class Handler:
    """Server hooks; override what you need. All are coroutines.

    The defaults refuse every login and have no mail stores, so a real
    handler overrides at least :meth:`on_auth` and :meth:`open_store`.
    """

    async def on_connect(self, session: Session) -> str | None:
        """A client connected. Return a text to refuse it (it is sent as
        ``* BYE text`` instead of the greeting), or None to accept."""
        return None

    async def on_auth(self, session: Session, mechanism: str, username: str,
                      password: str) -> bool:
        """Check a password; return True to accept. ``mechanism`` is
        ``"LOGIN"`` for the LOGIN command, else the SASL mechanism
        (``"PLAIN"``). The default refuses all."""
        return False

    async def open_store(self, session: Session, username: str) -> MailStore | None:
        """The mail store of a user who just logged in, or None (the login
        then fails with ``NO [UNAVAILABLE]``)."""
        return None

    async def on_disconnect(self, session: Session) -> None:
        """The connection ended (for logging or cleanup)."""


#: User names that are safe as a directory name below the root.
_SAFE_NAME = re.compile(r"[a-z0-9_][a-z0-9._@+-]{0,254}")

Verifier = Callable[[str, str], "bool | Awaitable[bool]"]


class MaildirHandler(Handler):
    """Per-user Maildir++ stores below one directory: ``root/<user>/``.

    Args:
        root: The directory holding one Maildir per user (``DIR/mail`` of
            ``mimekit serve``).
        verify: ``verify(user, password) -> bool`` (or a coroutine function).
            A blocking one (``UserDB.verify`` runs scrypt) is called in a
            thread so the server stays responsive.
        hub: The process's :class:`MailboxHub`; share it with whatever else
            delivers into these Maildirs in this process (and have that call
            ``hub.notify(path)``) so that IDLE sessions wake at once.

    User names are lower-cased (as the ``mimekit serve`` users file and its
    delivery do); a name that is not safe as a directory name never gets a
    store. The SPECIAL-USE folders (RFC 6154) are created at each login when
    missing.
    """

    def __init__(self, root: str | os.PathLike[str], verify: Verifier, *,
                 hub: MailboxHub | None = None) -> None:
        self.root = Path(root)
        self.verify = verify
        self.hub = hub if hub is not None else MailboxHub()

    async def on_auth(self, session: Session, mechanism: str, username: str,
                      password: str) -> bool:
        if inspect.iscoroutinefunction(self.verify):
            return bool(await self.verify(username, password))
        return await check_password(self.verify, username, password)

    def _open(self, name: str) -> MailStore:
        store = MailStore(self.root / name, hub=self.hub, create=True)
        store.ensure_special_use()
        return store

    async def open_store(self, session: Session, username: str) -> MailStore | None:
        name = username.lower()
        if not _SAFE_NAME.fullmatch(name) or ".." in name:
            return None
        return await asyncio.to_thread(self._open, name)
