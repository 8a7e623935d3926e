"""The root entity: a whole message, with its envelope-level conveniences."""

from __future__ import annotations

from datetime import datetime
from types import TracebackType
from typing import Any

from ..fields import AddressList
from ._part import Part
from ._selection import select_bodies

__all__ = ["Message"]

_EMPTY_ADDRESSES = AddressList()


class Message(Part):
    """A parsed message: what :func:`mimekit.parse` returns, and what a
    ``message/rfc822`` part holds in :attr:`Part.message`.

    A message read with :func:`mimekit.parse_file` reads its bodies from the
    file on demand: close it with :meth:`close` or use it in a ``with``
    block. A message parsed from bytes needs no closing.
    """

    __slots__ = ("_selection",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._selection: tuple[list[Part], list[Part], list[Part]] | None = None

    # -- envelope-level fields ------------------------------------------------------

    def _addresses(self, name: str) -> AddressList:
        value: AddressList = self.headers.value(name, _EMPTY_ADDRESSES)
        return value

    @property
    def subject(self) -> str | None:
        """The decoded Subject, or None when absent."""
        return self.headers.text("Subject")

    @property
    def from_(self) -> AddressList:
        """The From addresses (empty when absent)."""
        return self._addresses("From")

    @property
    def sender(self) -> AddressList:
        """The Sender address (empty when absent)."""
        return self._addresses("Sender")

    @property
    def reply_to(self) -> AddressList:
        """The Reply-To addresses (empty when absent)."""
        return self._addresses("Reply-To")

    @property
    def to(self) -> AddressList:
        """The To addresses (empty when absent)."""
        return self._addresses("To")

    @property
    def cc(self) -> AddressList:
        """The Cc addresses (empty when absent)."""
        return self._addresses("Cc")

    @property
    def bcc(self) -> AddressList:
        """The Bcc addresses (empty when absent)."""
        return self._addresses("Bcc")

    @property
    def date(self) -> datetime | None:
        """The Date as a timezone-aware datetime, or None (absent or invalid)."""
        value: datetime | None = self.headers.value("Date")
        return value

    @property
    def message_id(self) -> str | None:
        """The Message-ID without angle brackets, or None."""
        value: str | None = self.headers.value("Message-ID")
        return value

    @property
    def in_reply_to(self) -> list[str]:
        """The ids in In-Reply-To (without angle brackets)."""
        value: list[str] = self.headers.value("In-Reply-To", [])
        return list(value)

    @property
    def references(self) -> list[str]:
        """The ids in References (without angle brackets)."""
        value: list[str] = self.headers.value("References", [])
        return list(value)

    @property
    def mbox_from(self) -> bytes | None:
        """The mbox ``From`` line the input started with (line ending
        included), or None."""
        return self.headers._prefix or None

    # -- body selection (RFC 8621 section 4.1.4) --------------------------------

    def _bodies(self) -> tuple[list[Part], list[Part], list[Part]]:
        if self._selection is None:
            self._selection = select_bodies(self)
        return self._selection

    @property
    def text_parts(self) -> list[Part]:
        """The parts to show as the plain-text body, in order (JMAP ``textBody``)."""
        return list(self._bodies()[0])

    @property
    def html_parts(self) -> list[Part]:
        """The parts to show as the HTML body, in order (JMAP ``htmlBody``)."""
        return list(self._bodies()[1])

    @property
    def text_body(self) -> Part | None:
        """The main ``text/plain`` part, or None."""
        return next((p for p in self._bodies()[0]
                     if p.content_type.mime_type == "text/plain"), None)

    @property
    def html_body(self) -> Part | None:
        """The main ``text/html`` part, or None."""
        return next((p for p in self._bodies()[1]
                     if p.content_type.mime_type == "text/html"), None)

    @property
    def attachments(self) -> list[Part]:
        """The parts that are not body text: files, and attached messages
        (JMAP ``attachments``)."""
        return list(self._bodies()[2])

    # -- replying and forwarding (RFC 5322 section 3.6.3, 3.6.4) -------------------

    def reply(self, text: str | None = None, *, quote: bool = True, reply_all: bool = False,
              html: str | None = None, from_: Any = None, **options: Any) -> Message:
        """A new message replying to this one (see :mod:`mimekit.tree._reply`).

        Subject ``Re: ...`` (prefixes not stacked), In-Reply-To and
        References set for threading, To from Reply-To (else From).

        Args:
            text: Your text; with ``quote``, the quoted original follows it.
            quote: Quote the original's text below an attribution line
                ``On <date>, <name> wrote:``, each line prefixed ``"> "``.
            reply_all: Also send to the original's To and Cc (as Cc),
                yourself excluded.
            html: Your HTML; with ``quote``, the original is quoted in a
                ``<blockquote type="cite">``. Without it the reply is text only.
            from_: You: the From of the reply, and the addresses left out of
                the recipients (None: no From, a draft).
            **options: ``cc``, ``bcc``, ``attachments``, ``headers``,
                ``date``, ``message_id``, ``domain``, ``utf8``, ``linesep``,
                as for :func:`mimekit.compose`.

        Raises:
            ValueError, TypeError: see :func:`mimekit.compose`.
        """
        from ._reply import reply  # imported here: _reply imports this module

        return reply(self, text, quote=quote, reply_all=reply_all, html=html, from_=from_,
                     **options)

    def forward(self, to: Any = None, *, inline: bool = False, text: str | None = None,
                from_: Any = None, **options: Any) -> Message:
        """A new message forwarding this one (see :mod:`mimekit.tree._reply`).

        Subject ``Fwd: ...``.

        Args:
            to: The recipients, in any form :func:`mimekit.compose` takes.
            inline: False: attach this message as ``message/rfc822``,
                byte-identical. True: put its text (and HTML) into the body
                below a "Forwarded Message" block of its Subject, Date, From,
                To and Cc, and attach its attachments again.
            text: Your text, above the forwarded message.
            from_: The From of the new message.
            **options: ``html``, ``cc``, ``bcc``, ``attachments``,
                ``headers``, ``date``, ``message_id``, ``domain``, ``utf8``,
                ``linesep``, as for :func:`mimekit.compose`.

        Raises:
            ValueError, TypeError: see :func:`mimekit.compose`.
        """
        from ._reply import forward  # imported here: _reply imports this module

        return forward(self, to, inline=inline, text=text, from_=from_, **options)

    # -- the file behind it --------------------------------------------------------

    def close(self) -> None:
        """Close the file a :func:`~mimekit.parse_file` message reads from.

        Reading a body afterwards raises ``ValueError``. Idempotent; a no-op
        for messages parsed from bytes.
        """
        self._src.close()

    def __enter__(self) -> Message:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


Part._message_factory = Message
