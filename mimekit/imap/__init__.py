"""IMAP (RFC 3501, with RFC 9051 behaviour where cheap): a sans-I/O core and clients.

The core (:class:`ClientConnection`, :class:`ServerConnection`) turns bytes
into events and events into bytes, following one transition table
(:mod:`._states`); the values on the wire are the neutral model of
:mod:`._values` (``None``, ``int``, ``str``, ``bytes``, :class:`Atom`,
tuples). The clients (:class:`IMAPClient`, :class:`AsyncIMAPClient`) only
move bytes around the shared logic.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._async_client import AsyncIMAPClient
    from ._client import IMAPClient
    from ._client_ops import IDLE_RENEW
from ._command_events import AuthenticateData, IdleDone, InvalidCommand, LiteralAnnounced
from ._command_parse import CommandSyntaxError, parse_command
from ._commands import (
    FETCH_MACROS,
    Append,
    Authenticate,
    Capability,
    Check,
    Close,
    Command,
    Copy,
    Create,
    Delete,
    Enable,
    Examine,
    Expunge,
    Fetch,
    Id,
    Idle,
    List,
    Login,
    Logout,
    Lsub,
    Move,
    Namespace,
    Noop,
    Rename,
    Search,
    Select,
    Sort,
    StartTLS,
    Status,
    Store,
    Subscribe,
    Unselect,
    Unsubscribe,
)
from ._connection import NEED_DATA, PAUSED, ClientConnection
from ._encode import Encoding, check_atom, encode, encode_line
from ._errors import (
    IMAPAuthenticationError,
    IMAPCommandError,
    IMAPDisconnected,
    IMAPError,
    IMAPNoSuchMessage,
    IMAPNotSupportedError,
    IMAPTimeoutError,
    LocalProtocolError,
    ProtocolError,
    RemoteProtocolError,
)
from ._lexer import ParseError, parse_values
from ._mailbox import MailboxHub, MailStore
from ._responses import (
    CapabilityResponse,
    ConnectionClosed,
    ContinuationRequest,
    DataResponse,
    EnabledResponse,
    Event,
    ExistsResponse,
    ExpungeResponse,
    FetchResponse,
    FlagsResponse,
    IdResponse,
    ListResponse,
    MailboxStatusResponse,
    NamespaceResponse,
    RecentResponse,
    Response,
    ResponseCode,
    SearchResponse,
    StatusResponse,
    UntaggedResponse,
)
from ._results import (
    AppendResult,
    CopyResult,
    FetchResult,
    MailboxInfo,
    Namespaces,
    SearchSummary,
    SelectInfo,
    fetch_key,
)
from ._search import SearchKey, SearchSyntaxError, build_search, parse_search
from ._server import IMAPServer, IMAPServerConfig
from ._server_connection import ServerConnection
from ._server_handler import Handler, MaildirHandler, Session
from ._states import State
from ._structures import BodyStructure, Envelope, parse_bodystructure, parse_envelope
from ._values import (
    Atom,
    Value,
    as_astring,
    as_bytes,
    as_text,
    format_date,
    format_datetime,
    format_sequence_set,
    parse_date,
    parse_datetime,
    parse_sequence_set,
)

__all__ = [
    # clients
    "IDLE_RENEW",
    "AppendResult",
    "AsyncIMAPClient",
    "BodyStructure",
    "CopyResult",
    "SearchSummary",
    "Envelope",
    "FetchResult",
    "IMAPClient",
    "MailboxInfo",
    "Namespaces",
    "SelectInfo",
    "fetch_key",
    "parse_bodystructure",
    "parse_envelope",
    # errors
    "CommandSyntaxError",
    "IMAPAuthenticationError",
    "IMAPCommandError",
    "IMAPDisconnected",
    "IMAPError",
    "IMAPNoSuchMessage",
    "IMAPNotSupportedError",
    "IMAPTimeoutError",
    "LocalProtocolError",
    "ParseError",
    "ProtocolError",
    "RemoteProtocolError",
    "SearchSyntaxError",
    # the core
    "NEED_DATA",
    "PAUSED",
    "ClientConnection",
    "ServerConnection",
    "State",
    # the server
    "Handler",
    "IMAPServer",
    "IMAPServerConfig",
    "MailStore",
    "MailboxHub",
    "MaildirHandler",
    "Session",
    # values and encoding
    "Atom",
    "Encoding",
    "Value",
    "as_astring",
    "as_bytes",
    "as_text",
    "check_atom",
    "encode",
    "encode_line",
    "format_date",
    "format_datetime",
    "format_sequence_set",
    "parse_date",
    "parse_datetime",
    "parse_sequence_set",
    "parse_values",
    # search
    "SearchKey",
    "build_search",
    "parse_search",
    # responses
    "CapabilityResponse",
    "ConnectionClosed",
    "ContinuationRequest",
    "DataResponse",
    "EnabledResponse",
    "Event",
    "ExistsResponse",
    "ExpungeResponse",
    "FetchResponse",
    "FlagsResponse",
    "IdResponse",
    "ListResponse",
    "MailboxStatusResponse",
    "NamespaceResponse",
    "RecentResponse",
    "Response",
    "ResponseCode",
    "SearchResponse",
    "StatusResponse",
    "UntaggedResponse",
    # commands and other client-to-server events
    "FETCH_MACROS",
    "Append",
    "Authenticate",
    "AuthenticateData",
    "Capability",
    "Check",
    "Close",
    "Command",
    "Copy",
    "Create",
    "Delete",
    "Enable",
    "Examine",
    "Expunge",
    "Fetch",
    "Id",
    "Idle",
    "IdleDone",
    "InvalidCommand",
    "List",
    "LiteralAnnounced",
    "Login",
    "Logout",
    "Lsub",
    "Move",
    "Namespace",
    "Noop",
    "Rename",
    "Search",
    "Select",
    "Sort",
    "StartTLS",
    "Status",
    "Store",
    "Subscribe",
    "Unselect",
    "Unsubscribe",
    "parse_command",
]


# The clients load on first use: a server (``mimekit serve``) never needs
# them, and they are a third of this package's import time.
_LAZY = {"AsyncIMAPClient": "._async_client", "IMAPClient": "._client",
         "IDLE_RENEW": "._client_ops"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value
