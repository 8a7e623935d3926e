"""POP3 (RFC 1939, with RFC 2449 CAPA and RESP-CODES, RFC 2595 STLS and
RFC 5034 SASL AUTH): a sans-I/O core, clients and a server.

The core (:class:`ClientConnection`, :class:`ServerConnection`) turns bytes
into events and events into bytes, following one transition table; the I/O
adapters (:class:`POP3Client`, :class:`AsyncPOP3Client`, :class:`POP3Server`)
only move bytes.
"""

from ._async_client import AsyncPOP3Client
from ._client import POP3Client
from ._connection import NEED_DATA, PAUSED, ClientConnection, ServerConnection
from ._errors import (
    LocalProtocolError,
    POP3AuthenticationError,
    POP3Error,
    POP3InUseError,
    POP3NotSupportedError,
    POP3ResponseError,
    POP3ServerDisconnected,
    POP3TimeoutError,
    ProtocolError,
    RemoteProtocolError,
)
from ._events import (
    Apop,
    Auth,
    AuthList,
    AuthResponse,
    Capa,
    Command,
    ConnectionClosed,
    Continuation,
    Dele,
    EndOfResponse,
    Event,
    InvalidCommand,
    List,
    Noop,
    Pass,
    Quit,
    Response,
    ResponseData,
    Retr,
    Rset,
    Stat,
    Stls,
    Top,
    Uidl,
    User,
)
from ._handler import Handler, MaildirHandler, Session
from ._server import POP3Server, ServerConfig
from ._states import State
from ._syntax import apop_digest

__all__ = [
    "NEED_DATA",
    "PAUSED",
    "Apop",
    "AsyncPOP3Client",
    "Auth",
    "AuthList",
    "AuthResponse",
    "Capa",
    "ClientConnection",
    "Command",
    "ConnectionClosed",
    "Continuation",
    "Dele",
    "EndOfResponse",
    "Event",
    "Handler",
    "InvalidCommand",
    "List",
    "LocalProtocolError",
    "MaildirHandler",
    "Noop",
    "POP3AuthenticationError",
    "POP3Client",
    "POP3Error",
    "POP3InUseError",
    "POP3NotSupportedError",
    "POP3ResponseError",
    "POP3Server",
    "POP3ServerDisconnected",
    "POP3TimeoutError",
    "Pass",
    "ProtocolError",
    "Quit",
    "RemoteProtocolError",
    "Response",
    "ResponseData",
    "Retr",
    "Rset",
    "ServerConfig",
    "ServerConnection",
    "Session",
    "Stat",
    "State",
    "Stls",
    "Top",
    "Uidl",
    "User",
    "apop_digest",
]
