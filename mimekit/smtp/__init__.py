"""SMTP (RFC 5321): a sans-I/O core, clients and a server.

The core (:class:`ClientConnection`, :class:`ServerConnection`) turns bytes
into events and events into bytes, following one transition table; the I/O
adapters only move bytes.
"""

from ._async_client import AsyncSMTPClient
from ._client import SMTPClient
from ._client_logic import SendResult
from ._connection import NEED_DATA, PAUSED, ClientConnection, ServerConnection
from ._errors import (
    LocalProtocolError,
    ProtocolError,
    RemoteProtocolError,
    SMTPAuthenticationError,
    SMTPDataError,
    SMTPError,
    SMTPNotSupportedError,
    SMTPRecipientsRefused,
    SMTPReplyError,
    SMTPSenderRefused,
    SMTPServerDisconnected,
    SMTPSizeError,
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
from ._handler import Envelope, Handler, Session
from ._outgoing import DSN
from ._server import ServerConfig, SMTPServer
from ._states import State

__all__ = [
    "Envelope",
    "Handler",
    "SMTPServer",
    "ServerConfig",
    "Session",
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
    # clients
    "DSN",
    "AsyncSMTPClient",
    "SMTPClient",
    "SMTPDataError",
    "SMTPSenderRefused",
    "SMTPServerDisconnected",
    "SMTPSizeError",
    "SendResult",
]
