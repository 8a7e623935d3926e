"""``send``: submit a message over the account's SMTP server and keep a copy.

The envelope comes from the headers (Sender or From; To, Cc and Bcc), and
:class:`~mimekit.smtp.SMTPClient` never transmits Bcc. After the server
accepted the message for at least one recipient, a copy (Bcc included: it is
the sender's own record) is saved with the ``\\Seen`` flag: over IMAP APPEND
to the server's Sent mailbox when the account has IMAP (the special-use
``\\Sent`` one, else ``sent_folder``, created when missing), otherwise into
the ``sent_folder`` of the local Maildir.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from ..imap import IMAPClient, IMAPCommandError
from ..mailstore import Maildir
from ..smtp import SMTPRecipientsRefused
from ..tree import Message, compose, make_message_id, parse
from ._accounts import Account
from ._connect import Connector
from ._content import crlf
from ._errors import AgentError, ConfigError
from ._report import Reporter

__all__ = ["SendOutcome", "compose_message", "prepare_message", "save_sent", "send"]


@dataclass(slots=True)
class SendOutcome:
    """What a send did.

    Attributes:
        accepted: ``{recipient: "250 2.1.5 Ok"}``.
        refused: ``{recipient: "550 5.1.1 No such user"}``.
        message_id: The Message-ID (without ``<>``).
        sent_copy: Where the copy went (``"imap Sent"``, a folder path), or None.
        sent_error: Why the copy could not be saved, or None.
    """

    accepted: dict[str, str] = field(default_factory=dict)
    refused: dict[str, str] = field(default_factory=dict)
    message_id: str | None = None
    sent_copy: str | None = None
    sent_error: str | None = None


def _reply_text(code: int, text: str) -> str:
    return f"{code} {' '.join(text.split())}".strip()


def _domain(message: Message) -> str | None:
    boxes = message.from_.mailboxes
    return boxes[0].domain if boxes and boxes[0].domain else None


def prepare_message(data: bytes) -> Message:
    """An existing message to send (``mimekit send < message.eml``): parsed,
    with ``Date`` and ``Message-ID`` added when missing (as a mail user
    agent does; every other byte is kept)."""
    message = parse(data)
    if message.headers.get("Date") is None:
        message.headers.add("Date", datetime.now().astimezone())
    if message.headers.get("Message-ID") is None:
        message.headers.add("Message-ID", f"<{make_message_id(_domain(message))}>")
    return message


def compose_message(account: Account, *, from_: str | None, to: Sequence[str],
                    cc: Sequence[str] = (), bcc: Sequence[str] = (), subject: str = "",
                    text: str | None = None, html: str | None = None,
                    attachments: Sequence[Path] = ()) -> Message:
    """A new message from options; the From defaults to the account's ``from``.

    Raises:
        ConfigError: no From, no recipient, or invalid input (one line).
    """
    author = from_ or account.address
    if not author:
        raise ConfigError(f"no From: give --from or set from = \"...\" in account "
                          f"{account.name!r}")
    if not (to or cc or bcc):
        raise ConfigError("no recipient: give --to, --cc or --bcc")
    try:
        return compose(from_=author, to=list(to) or None, cc=list(cc) or None,
                       bcc=list(bcc) or None, subject=subject,
                       text=text if text is not None or html is not None else "",
                       html=html, attachments=list(attachments))
    except (ValueError, OSError) as exc:
        raise ConfigError(str(exc)) from exc


def _imap_sent(client: IMAPClient, name: str) -> str:
    """The Sent mailbox: the special-use one, else ``name`` (created)."""
    boxes = client.list_mailboxes()
    for box in boxes:
        if box.special_use == "\\Sent" and box.selectable:
            return box.name
    if not any(box.name == name for box in boxes):
        # Created meanwhile, or refused: APPEND will say which.
        with contextlib.suppress(IMAPCommandError):
            client.create(name)
    return name


def save_sent(account: Account, connector: Connector, message: Message) -> str:
    """Save a copy of a sent message (see the module); returns where.

    Raises:
        AgentError: the copy could not be saved.
    """
    data = bytes(message)
    if account.imap is not None:
        with connector.imap(account.imap) as client:
            mailbox = _imap_sent(client, account.sent_folder)
            client.append(mailbox, crlf(data), flags=["\\Seen"])
        return f"imap {mailbox}"
    if account.maildir is not None:
        try:
            folder = Maildir(account.maildir, create=True).folder(account.sent_folder,
                                                                   create=True)
            folder.add(data, flags="S")
        except (OSError, ValueError) as exc:
            raise AgentError(f"cannot save the Sent copy in {account.maildir}: {exc}") from exc
        return str(folder.path)
    raise ConfigError(f"account {account.name!r} has neither IMAP nor a maildir for the "
                      "Sent copy (set save_sent = false to not keep one)")


def send(account: Account, connector: Connector, message: Message, *,
         sender: str | None = None, reporter: Reporter | None = None) -> SendOutcome:
    """Send ``message`` through the account's SMTP server (see the module).

    A recipient refused is a result (``outcome.refused``), not an error; a
    failed Sent copy is ``outcome.sent_error``.

    Raises:
        AgentError: no SMTP server, connection, authentication, or the server
            refused the sender or the message.
    """
    reporter = reporter or Reporter()
    if account.smtp is None:
        raise ConfigError(f"account {account.name!r} has no smtp server")
    outcome = SendOutcome(message_id=message.message_id)
    with connector.smtp(account.smtp) as client:
        try:
            result = client.send(message, sender=sender)
        except SMTPRecipientsRefused as exc:
            outcome.refused = {rcpt: _reply_text(code, text)
                               for rcpt, (code, _enh, text) in exc.refused.items()}
            return outcome
    outcome.accepted = {r: _reply_text(rep.code, rep.text) for r, rep in result.accepted.items()}
    outcome.refused = {r: _reply_text(rep.code, rep.text) for r, rep in result.refused.items()}
    if account.save_sent:
        try:
            outcome.sent_copy = save_sent(account, connector, message)
        except AgentError as exc:
            outcome.sent_error = str(exc)
            reporter.warn(f"the message was sent, but the Sent copy was not saved: {exc}")
    return outcome

