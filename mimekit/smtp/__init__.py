"""SMTP (RFC 5321): a sans-I/O core, clients and a server.

The core (:class:`ClientConnection`, :class:`ServerConnection`) turns bytes
into events and events into bytes, following one transition table; the I/O
adapters only move bytes.
"""

from ._connection import NEED_DATA, PAUSED, ClientConnection, ServerConnection
from ._errors import (
    LocalProtocolError,
    ProtocolError,
    RemoteProtocolError,
    SMTPAuthenticationError,
    SMTPError,
    SMTPNotSupportedError,
    SMTPRecipientsRefused,
    SMTPReplyError,
    SMTPTimeoutError,
)
from ._events import (
    Auth,
    AuthResponse,
    Bdat,
    ChunkEnd,
    Command,
    ConnectionClosed,
    Data,
    Ehlo,
    EndOfMessage,
    Event,
    Helo,
    Help,
    InvalidCommand,
    Mail,
    MessageData,
    Noop,
    Quit,
    Rcpt,
    Reply,
    Rset,
    StartTLS,
    Vrfy,
)
from ._states import State

__all__ = [
    "NEED_DATA",
    "PAUSED",
    "Auth",
    "AuthResponse",
    "Bdat",
    "ChunkEnd",
    "ClientConnection",
    "Command",
    "ConnectionClosed",
    "Data",
    "Ehlo",
    "EndOfMessage",
    "Event",
    "Helo",
    "Help",
    "InvalidCommand",
    "LocalProtocolError",
    "Mail",
    "MessageData",
    "Noop",
    "ProtocolError",
    "Quit",
    "Rcpt",
    "RemoteProtocolError",
    "Reply",
    "Rset",
    "SMTPAuthenticationError",
    "SMTPError",
    "SMTPNotSupportedError",
    "SMTPRecipientsRefused",
    "SMTPReplyError",
    "SMTPTimeoutError",
    "ServerConnection",
    "StartTLS",
    "State",
    "Vrfy",
]
