"""SMTP exceptions.

The two regimes (DESIGN.md section 4, convention 4): a :class:`LocalProtocolError`
is *our* mistake (sending a command the session does not allow), raised at
once; a :class:`RemoteProtocolError` is the peer's (bytes that are not SMTP),
raised on the receive path. Replies that refuse something are not protocol
errors: the clients turn them into :class:`SMTPReplyError` and its subclasses,
which carry the server's code and text.
"""

from __future__ import annotations

from .._errors import MimekitError

__all__ = [
    "LocalProtocolError",
    "ProtocolError",
    "RemoteProtocolError",
    "SMTPAuthenticationError",
    "SMTPError",
    "SMTPNotSupportedError",
    "SMTPRecipientsRefused",
    "SMTPReplyError",
    "SMTPTimeoutError",
    "SMTPServerDisconnected",
    "SMTPSenderRefused",
    "SMTPDataError",
    "SMTPSizeError",
]


class SMTPError(MimekitError):
    """Base class of every SMTP error."""


class ProtocolError(SMTPError):
    """The session went outside the SMTP protocol."""


class LocalProtocolError(ProtocolError, ValueError):
    """We tried to do something the protocol or the session state forbids."""


class RemoteProtocolError(ProtocolError):
    """The peer sent something that is not valid SMTP."""


class SMTPReplyError(SMTPError):
    """The server refused a command.

    Attributes:
        code: The reply code (e.g. 550).
        enhanced: The RFC 3463 enhanced status code, e.g. ``(5, 1, 1)``, or None.
        text: The reply text (lines joined with newlines).
        command: The command that was refused, as sent (for messages).
    """

    def __init__(self, code: int, text: str, enhanced: tuple[int, int, int] | None = None,
                 command: str = "") -> None:
        self.code = code
        self.text = text
        self.enhanced = enhanced
        self.command = command
        status = ".".join(map(str, enhanced)) + " " if enhanced else ""
        where = f"{command}: " if command else ""
        super().__init__(f"{where}{code} {status}{text}")

    @property
    def is_transient(self) -> bool:
        """4xx: the same command may succeed later."""
        return 400 <= self.code < 500


class SMTPRecipientsRefused(SMTPReplyError):
    """Every recipient was refused (partial refusal is a result, not an error).

    Attributes:
        refused: ``{recipient: (code, enhanced, text)}``.
    """

    def __init__(self, refused: dict[str, tuple[int, tuple[int, int, int] | None, str]]) -> None:
        self.refused = refused
        first = next(iter(refused.values()), (554, None, "no recipients"))
        super().__init__(first[0], first[2], first[1], "RCPT")
        self.args = (f"all {len(refused)} recipients refused: "
                     + "; ".join(f"{r}: {c} {t}" for r, (c, _, t) in refused.items()),)


class SMTPAuthenticationError(SMTPReplyError):
    """The server refused our credentials (535) or the mechanism."""


class SMTPNotSupportedError(SMTPError):
    """The server lacks an extension the operation needs (STARTTLS, AUTH,
    SMTPUTF8, 8BITMIME, SIZE large enough...)."""


class SMTPTimeoutError(SMTPError, TimeoutError):
    """The server did not answer in time."""


# -- client errors (appended for the clients) -------------------------------------------


class SMTPServerDisconnected(SMTPError, ConnectionError):
    """The connection ended (EOF, reset, or not connected) before the reply we
    waited for. A ``421`` reply is an :class:`SMTPReplyError` with code 421."""


class SMTPSenderRefused(SMTPReplyError):
    """The server refused ``MAIL FROM`` (the whole transaction)."""


class SMTPDataError(SMTPReplyError):
    """The server refused ``DATA``, a ``BDAT`` chunk, or the message itself
    (the reply after the end of the content)."""


class SMTPSizeError(SMTPNotSupportedError):
    """The message is larger than the server's SIZE limit (RFC 1870); it was
    refused before anything was sent.

    Attributes:
        size: The message size in octets (CRLF line endings).
        limit: The server's limit.
    """

    def __init__(self, size: int, limit: int) -> None:
        self.size = size
        self.limit = limit
        super().__init__(f"message of {size} octets exceeds the server's SIZE limit of {limit}")
