"""What an SMTP server application writes: a Handler, with Session and Envelope.

In the style of aiosmtpd: subclass :class:`Handler` and override only the
hooks you need; every hook is a coroutine. A hook answers with a
:class:`~._events.Reply` to refuse (or to accept with your own text), or
None to take the default, which is to accept.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ._events import Reply

__all__ = ["Envelope", "Handler", "Session"]


@dataclass(slots=True)
class Session:
    """One client connection, as the server sees it.

    Attributes:
        peer: The client's ``(host, port)``.
        local: Our ``(host, port)``.
        host_name: The domain the client gave in EHLO/HELO, or None.
        extended: The client greeted with EHLO (not HELO).
        tls: The connection is encrypted (implicit TLS or STARTTLS).
        authenticated: The user name the client authenticated as, or None.
        loopback: The client connects from 127.0.0.0/8 or ::1.
        transactions: Messages accepted so far on this connection.
    """

    peer: tuple[str, int]
    local: tuple[str, int]
    host_name: str | None = None
    extended: bool = False
    tls: bool = False
    authenticated: str | None = None
    loopback: bool = False
    transactions: int = 0


@dataclass(slots=True)
class Envelope:
    """One mail transaction.

    Attributes:
        mail_from: The reverse-path (``""`` for bounces).
        mail_params: The MAIL parameters (``SIZE``, ``BODY``, ``SMTPUTF8``,
            ``RET``, ``ENVID``...), keywords upper-cased.
        rcpt_tos: The accepted recipients, in order.
        rcpt_params: The RCPT parameters of each accepted recipient.
        content: The message bytes as received (dot-stuffing undone), with
            the client's line endings (CRLF).
    """

    mail_from: str = ""
    mail_params: dict[str, str | None] = field(default_factory=dict)
    rcpt_tos: list[str] = field(default_factory=list)
    rcpt_params: list[dict[str, str | None]] = field(default_factory=list)
    content: bytearray = field(default_factory=bytearray)

    @property
    def smtputf8(self) -> bool:
        """The client asked for SMTPUTF8 (RFC 6531) in MAIL."""
        return "SMTPUTF8" in self.mail_params


class Handler:
    """Server hooks; override what you need. All are coroutines.

    The defaults accept everything a well-formed session sends and discard
    the message, so a real handler overrides at least :meth:`on_message`
    (and :meth:`on_auth` when the server offers AUTH).
    """

    async def on_connect(self, session: Session) -> Reply | None:
        """A client connected. Return a 554 to refuse it (RFC 5321 3.1)."""
        return None

    async def on_ehlo(self, session: Session, domain: str) -> Reply | None:
        """EHLO or HELO (``session.extended`` tells which)."""
        return None

    async def on_auth(self, session: Session, mechanism: str, username: str,
                      password: str) -> bool:
        """Check credentials; return True to accept. The default refuses all."""
        return False

    async def on_mail(self, session: Session, envelope: Envelope, sender: str,
                      params: dict[str, str | None]) -> Reply | None:
        """MAIL FROM. ``envelope`` is fresh; it records the sender on success."""
        return None

    async def on_rcpt(self, session: Session, envelope: Envelope, recipient: str,
                      params: dict[str, str | None]) -> Reply | None:
        """RCPT TO. Refuse with e.g. 550 5.1.1 (unknown user) or 554 5.7.1
        (relay denied); the recipient is added to the envelope on success."""
        return None

    async def on_message(self, session: Session, envelope: Envelope) -> Reply | None:
        """The whole message is in ``envelope.content``. Deliver it (and make
        it durable) *before* returning: the reply you return (default
        ``250 2.0.0``) is the client's receipt."""
        return None

    async def on_disconnect(self, session: Session) -> None:
        """The connection ended (for logging or cleanup)."""
