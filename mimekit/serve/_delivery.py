"""Local delivery: trace fields, then an atomic Maildir delivery.

RFC 5321 section 4.4: the receiving SMTP server prepends a ``Received``
field (and the delivering one a ``Return-Path`` with the reverse-path). The
message itself is stored as received, byte for byte, below those fields.
``Maildir.add`` writes to ``tmp/``, fsyncs, renames into ``new/`` and
fsyncs the directory, so the delivery is durable before the 250 goes out.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path

from ..mailstore import Maildir
from ..smtp._handler import Envelope, Session

__all__ = ["LocalDelivery", "protocol_name", "received_field"]


def protocol_name(session: Session, envelope: Envelope) -> str:
    """The ``with`` protocol of RFC 3848 (ESMTP, ESMTPS, ESMTPA, ESMTPSA;
    RFC 6531 UTF8SMTP variants)."""
    if not session.extended:
        return "SMTP"
    name = "UTF8SMTP" if envelope.smtputf8 else "ESMTP"
    return name + ("S" if session.tls else "") + ("A" if session.authenticated else "")


def received_field(session: Session, envelope: Envelope, *, hostname: str, queue_id: str,
                   recipient: str | None = None) -> bytes:
    """A ``Received:`` field (folded, CRLF-terminated) for this transaction.

    RFC 5321 section 4.4::

        Time-stamp-line = "Received:" FWS Stamp <CRLF>
        Stamp = From-domain By-domain Opt-info [CFWS] ";" FWS date-time
        From-domain = "FROM" FWS Extended-Domain   ; helo (TCP-info)
    """
    helo = (session.host_name or "unknown").replace("\r", "").replace("\n", "")
    peer = session.peer[0]
    literal = f"IPv6:{peer}" if ":" in peer else peer
    lines = [f"Received: from {helo} ([{literal}])",
             f"\tby {hostname} (mimekit) with {protocol_name(session, envelope)} id {queue_id}"]
    if recipient is not None:
        lines.append(f"\tfor <{recipient}>;")
    else:
        lines[-1] += ";"
    lines.append(f"\t{format_datetime(datetime.now(UTC))}")
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def return_path_field(sender: str) -> bytes:
    """``Return-Path: <sender>`` (RFC 5322 section 3.6.7), CRLF-terminated."""
    return f"Return-Path: <{sender}>\r\n".encode()


class LocalDelivery:
    """Deliveries into ``root/<user>/`` Maildirs (Maildir++ with folders).

    Args:
        root: The directory of the users' Maildirs.
        delivered: Called with the Maildir's path after each delivery (in
            the delivering thread). ``mimekit serve`` passes the IMAP
            server's ``MailboxHub.notify``, so that a client in IDLE on that
            INBOX hears of the new message at once.
    """

    def __init__(self, root: str | os.PathLike[str],
                 delivered: Callable[[Path], None] | None = None) -> None:
        self.root = Path(root)
        self.delivered = delivered
        self._maildirs: dict[str, Maildir] = {}

    def maildir(self, user: str) -> Maildir:
        """The user's Maildir, created on first use (and kept: a delivery then
        costs no directory checks)."""
        md = self._maildirs.get(user)
        if md is None or not md.path.is_dir():
            md = self._maildirs[user] = Maildir(self.root / user, create=True)
        return md

    def deliver(self, user: str, content: bytes) -> str:
        """Store a message durably; return its Maildir key."""
        md = self.maildir(user)
        key = md.add(content)
        if self.delivered is not None:
            self.delivered(md.path)
        return key
