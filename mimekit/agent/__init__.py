"""mimekit as a mail user agent: accounts, send, fetch, sync, list and show.

The logic of the ``mimekit account|send|fetch|sync|list|show`` commands, as
a library (the I/O-adapter layer: it builds on the SMTP, POP3 and IMAP
clients, the Maildir store and the message tree)::

    from mimekit.agent import Connector, PasswordResolver, fetch, load_config

    account = load_config().account()            # the default account
    connector = Connector(PasswordResolver())
    outcome = fetch(account, connector)          # new mail into account.maildir
    print(outcome.fetched)

Nothing here prints: operations report through a :class:`Reporter`. Every
failure is an :class:`AgentError` with a one-line message and an exit code.
"""

from ._accounts import (
    DEFAULT_CONFIG,
    Account,
    Config,
    Endpoint,
    PasswordSource,
    default_config_path,
    load_config,
    parse_config,
)
from ._connect import Connector, ssl_context
from ._content import crlf, digest
from ._errors import (
    EXIT_AUTH,
    EXIT_FAILURE,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_TLS,
    EXIT_USAGE,
    AgentError,
    AuthenticationFailed,
    CertificateNotTrusted,
    ConfigError,
    ServerError,
    StateError,
    endpoint_errors,
)
from ._fetch import FetchOutcome, fetch, fetch_state_path
from ._flags import imap_flags, maildir_flags, merge_flags
from ._journal import Journal
from ._passwords import PasswordResolver, read_password
from ._probe import Probe, probe_account
from ._reader import Row, format_rows, open_folder, render, resolve, rows
from ._report import Progress, Reporter, StreamReporter
from ._send import SendOutcome, compose_message, prepare_message, save_sent, send
from ._sync import SyncOutcome, sync
from ._sync_state import STATE_NAME as SYNC_STATE_NAME
from ._sync_state import SyncState

__all__ = [
    "DEFAULT_CONFIG",
    "EXIT_AUTH",
    "EXIT_FAILURE",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_PARTIAL",
    "EXIT_TLS",
    "EXIT_USAGE",
    "SYNC_STATE_NAME",
    "Account",
    "AgentError",
    "AuthenticationFailed",
    "CertificateNotTrusted",
    "Config",
    "ConfigError",
    "Connector",
    "Endpoint",
    "FetchOutcome",
    "Journal",
    "PasswordResolver",
    "PasswordSource",
    "Probe",
    "Progress",
    "Reporter",
    "Row",
    "SendOutcome",
    "ServerError",
    "StateError",
    "StreamReporter",
    "SyncOutcome",
    "SyncState",
    "compose_message",
    "crlf",
    "default_config_path",
    "digest",
    "endpoint_errors",
    "fetch",
    "fetch_state_path",
    "format_rows",
    "imap_flags",
    "load_config",
    "maildir_flags",
    "merge_flags",
    "open_folder",
    "parse_config",
    "prepare_message",
    "probe_account",
    "read_password",
    "render",
    "resolve",
    "rows",
    "save_sent",
    "send",
    "ssl_context",
    "sync",
]
