"""Delivery status notifications (bounces), RFC 3464 and RFC 6522.

A bounce is a ``multipart/report; report-type=delivery-status`` message:

1. ``text/plain``: what happened, for people;
2. ``message/delivery-status``: per-message fields (``Reporting-MTA``,
   ``Arrival-Date``, ``Original-Envelope-Id``) and, per failed recipient,
   ``Final-Recipient``, ``Action: failed``, ``Status`` (RFC 3463) and
   ``Diagnostic-Code``;
3. the original: the whole message as ``message/rfc822``, or only its header
   as ``text/rfc822-headers`` when the sender asked for ``RET=HDRS``.

It is sent with the null reverse-path ``<>`` so it can never bounce itself.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime

from ..fields import format_field

__all__ = ["FailedRecipient", "make_bounce"]

_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")


@dataclass(slots=True, frozen=True)
class FailedRecipient:
    """One recipient a bounce reports.

    Attributes:
        address: The recipient.
        reply: The remote server's reply text (``"550 5.1.1 no such user"``),
            or our own reason.
        orcpt: The RFC 3461 original recipient (``rfc822;addr``), or ``""``.
    """

    address: str
    reply: str
    orcpt: str = ""

    @property
    def status(self) -> str:
        """The RFC 3463 status: taken from the reply, else 5.0.0."""
        m = _STATUS.search(self.reply)
        if m and m.group(1) in "45":
            return f"5.{m.group(2)}.{m.group(3)}"
        return "5.0.0"


def _headers_of(original: bytes) -> bytes:
    for sep in (b"\r\n\r\n", b"\n\n"):
        i = original.find(sep)
        if i >= 0:
            return original[:i + len(sep) // 2]
    return original


def _field(name: str, value: str) -> str:
    return f"{name}: {format_field(name, value)}\r\n"


def make_bounce(*, sender: str, recipients: list[FailedRecipient], original: bytes,
                reporting_mta: str, arrival: float, envid: str | None = None,
                headers_only: bool = False, reason: str = "") -> bytes:
    """Build the bytes of a bounce to ``sender`` for ``recipients``.

    Args:
        sender: Who gets the bounce (the failed message's reverse-path).
        recipients: The recipients that failed, with why.
        original: The failed message's bytes.
        reporting_mta: Our host name.
        arrival: When we accepted the message (epoch seconds).
        envid: The RFC 3461 ENVID of the original, if given.
        headers_only: Return only the original's header (``RET=HDRS``).
        reason: A sentence for people ("the message expired after 5 days").
    """
    boundary = f"=_mimekit_dsn_{secrets.token_hex(12)}"
    now = datetime.now(UTC)
    lines = [
        _field("From", f"Mail Delivery System <MAILER-DAEMON@{reporting_mta}>"),
        _field("To", sender),
        _field("Subject", "Undelivered Mail Returned to Sender"),
        _field("Date", format_datetime(now)),
        _field("Message-ID", f"<{secrets.token_hex(12)}@{reporting_mta}>"),
        _field("Auto-Submitted", "auto-replied"),
        "MIME-Version: 1.0\r\n",
        f'Content-Type: multipart/report; report-type=delivery-status;\r\n'
        f' boundary="{boundary}"\r\n',
        "\r\n",
        "This is a MIME-encapsulated message (RFC 3464 delivery status notification).\r\n",
    ]
    human = [
        f"This is the mail system at host {reporting_mta}.",
        "",
        "Your message could not be delivered to one or more recipients.",
    ]
    if reason:
        human += ["", reason]
    human.append("")
    for r in recipients:
        human.append(f"<{r.address}>: {r.reply}")
    lines += [f"--{boundary}\r\n",
              "Content-Type: text/plain; charset=utf-8\r\n",
              "Content-Transfer-Encoding: 8bit\r\n\r\n",
              "".join(line + "\r\n" for line in human)]
    status = [f"Reporting-MTA: dns; {reporting_mta}\r\n"]
    if envid:
        status.append(f"Original-Envelope-Id: {envid}\r\n")
    status.append("Arrival-Date: "
                  f"{format_datetime(datetime.fromtimestamp(arrival, UTC))}\r\n")
    for r in recipients:
        status.append("\r\n")
        if r.orcpt:
            status.append(f"Original-Recipient: {r.orcpt}\r\n")
        status.append(f"Final-Recipient: rfc822; {r.address}\r\n")
        status.append("Action: failed\r\n")
        status.append(f"Status: {r.status}\r\n")
        status.append(f"Diagnostic-Code: smtp; {' '.join(r.reply.split())}\r\n")
    lines += [f"\r\n--{boundary}\r\n",
              "Content-Type: message/delivery-status\r\n\r\n",
              "".join(status)]
    part_type = "text/rfc822-headers" if headers_only else "message/rfc822"
    body = _headers_of(original) if headers_only else original
    lines += [f"\r\n--{boundary}\r\n", f"Content-Type: {part_type}\r\n"]
    if not body.isascii():
        lines.append("Content-Transfer-Encoding: 8bit\r\n")
    lines.append("\r\n")
    out = "".join(lines).encode("utf-8") + body
    if not out.endswith(b"\n"):
        out += b"\r\n"
    out += f"\r\n--{boundary}--\r\n".encode("ascii")
    return out
