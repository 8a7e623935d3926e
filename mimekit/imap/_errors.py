"""IMAP exceptions.

The two regimes (DESIGN.md section 4, convention 4): a
:class:`LocalProtocolError` is *our* mistake (a command the session state
does not allow, an argument that cannot be written), raised at once; a
:class:`RemoteProtocolError` is the peer's (bytes that are not IMAP), raised
on the receive path of the client core. The server core never raises on
input: a bad command becomes an ``InvalidCommand`` event carrying the
``BAD`` to send.

A server that refuses a command (tagged ``NO`` or ``BAD``) is not a protocol
error: the clients raise :class:`IMAPCommandError` (or a subclass) carrying
the status, the response code and the text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._errors import MimekitError

if TYPE_CHECKING:
    from ._responses import ResponseCode

__all__ = [
    "IMAPAuthenticationError",
    "IMAPCommandError",
    "IMAPDisconnected",
    "IMAPError",
    "IMAPNoSuchMessage",
    "IMAPNotSupportedError",
    "IMAPTimeoutError",
    "LocalProtocolError",
    "ProtocolError",
    "RemoteProtocolError",
]


class IMAPError(MimekitError):
    """Base class of every IMAP error."""


class ProtocolError(IMAPError):
    """The session went outside the IMAP protocol."""


class LocalProtocolError(ProtocolError, ValueError):
    """We tried to do something the protocol or the session state forbids
    (or gave a value that cannot be written as IMAP)."""


class RemoteProtocolError(ProtocolError):
    """The peer sent something that is not valid IMAP."""


class IMAPCommandError(IMAPError):
    """The server refused a command with a tagged ``NO`` or ``BAD``.

    Attributes:
        status: ``"NO"`` (the command failed) or ``"BAD"`` (the server did
            not understand it, or it was not allowed now).
        code: The response code (``[TRYCREATE]``, ``[ALREADYEXISTS]``,
            ``[AUTHENTICATIONFAILED]``...) or None.
        text: The human-readable text after the code.
        command: The command's name (``"SELECT"``, ``"UID MOVE"``...).
    """

    def __init__(self, status: str, text: str, code: ResponseCode | None = None,
                 command: str = "") -> None:
        self.status = status
        self.text = text
        self.code = code
        self.command = command
        shown = f"[{code}] " if code is not None else ""
        where = f"{command}: " if command else ""
        super().__init__(f"{where}{status} {shown}{text}")

    @property
    def code_name(self) -> str | None:
        """The response code's name, upper-cased (``"TRYCREATE"``), or None."""
        return self.code.name if self.code is not None else None


class IMAPAuthenticationError(IMAPCommandError):
    """LOGIN or AUTHENTICATE was refused (bad credentials, or the mechanism)."""


class IMAPNotSupportedError(IMAPError):
    """The server lacks a capability the operation needs (IDLE, MOVE with no
    fallback, STARTTLS, an AUTHENTICATE mechanism, UIDPLUS for UID EXPUNGE),
    or the operation would send a password in clear text."""


class IMAPTimeoutError(IMAPError, TimeoutError):
    """The server did not answer in time. The connection is closed."""


class IMAPDisconnected(IMAPError, ConnectionError):
    """The connection ended: EOF, a reset, an untagged ``BYE``, or not
    connected at all. The connection is closed; connect again to go on.

    Attributes:
        bye: The text of the server's ``BYE`` when it sent one, else None.
    """

    def __init__(self, message: str, bye: str | None = None) -> None:
        self.bye = bye
        super().__init__(message)


class IMAPNoSuchMessage(IMAPError, LookupError):
    """No message has the UID asked for (it was expunged, or never was)."""
