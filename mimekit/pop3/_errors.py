"""POP3 exceptions.

The two regimes (DESIGN.md section 4, convention 4): a
:class:`LocalProtocolError` is *our* mistake (a command the session state
does not allow, a bad argument), raised at once; a
:class:`RemoteProtocolError` is the peer's (bytes that are not POP3), raised
on the receive path. A ``-ERR`` response is not a protocol error: the clients
turn it into :class:`POP3ResponseError` (or a subclass), which carries the
server's text and its RESP-CODE (RFC 2449 section 8, RFC 3206).
"""

from __future__ import annotations

from .._errors import MimekitError

__all__ = [
    "LocalProtocolError",
    "POP3AuthenticationError",
    "POP3Error",
    "POP3InUseError",
    "POP3NotSupportedError",
    "POP3ResponseError",
    "POP3ServerDisconnected",
    "POP3TimeoutError",
    "ProtocolError",
    "RemoteProtocolError",
]


class POP3Error(MimekitError):
    """Base class of every POP3 error."""


class ProtocolError(POP3Error):
    """The session went outside the POP3 protocol."""


class LocalProtocolError(ProtocolError, ValueError):
    """We tried to do something the protocol or the session state forbids."""


class RemoteProtocolError(ProtocolError):
    """The peer sent something that is not valid POP3."""


class POP3ResponseError(POP3Error):
    """The server answered ``-ERR``.

    Attributes:
        text: The response text, without the status and the RESP-CODE.
        code: The RESP-CODE without brackets (``"IN-USE"``, ``"AUTH"``,
            ``"SYS/TEMP"``, ``"SYS/PERM"``, ``"LOGIN-DELAY"``), or None.
        command: The command that was refused, as a verb (``"RETR 3"``);
            passwords are never included.
    """

    def __init__(self, text: str, code: str | None = None, command: str = "") -> None:
        self.text = text
        self.code = code
        self.command = command
        where = f"{command}: " if command else ""
        resp = f"[{code}] " if code else ""
        super().__init__(f"{where}-ERR {resp}{text}".rstrip())

    @property
    def is_transient(self) -> bool:
        """The same command may succeed later (RFC 2449 ``IN-USE`` and
        ``LOGIN-DELAY``, RFC 3206 ``SYS/TEMP``)."""
        code = (self.code or "").upper()
        return code in ("IN-USE", "LOGIN-DELAY") or code.startswith("SYS/TEMP")


class POP3AuthenticationError(POP3ResponseError):
    """The server refused the credentials or the mechanism (often with the
    RESP-CODE ``AUTH``, RFC 3206)."""


class POP3InUseError(POP3ResponseError):
    """Authentication succeeded but the maildrop is locked by another
    session (``-ERR [IN-USE]``, RFC 2449 section 8.1.1)."""


class POP3NotSupportedError(POP3Error):
    """The server lacks what the operation needs (STLS, APOP, a usable
    authentication method), or using it would put the password on the wire
    in clear text."""


class POP3TimeoutError(POP3Error, TimeoutError):
    """The server did not answer in time."""


class POP3ServerDisconnected(POP3Error, ConnectionError):
    """The connection ended (EOF, reset, or not connected) before the
    response we waited for."""
