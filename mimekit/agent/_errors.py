"""The user agent's errors, each one clear line, and its exit codes.

Every failure the user agent reports is an :class:`AgentError` whose
message is one line meant for a person ("imap alice@mail.example:993:
authentication failed: [AUTHENTICATIONFAILED] Authentication failed.") and
whose :attr:`~AgentError.exit_code` is what the command line exits with.
:func:`endpoint_errors` turns the clients' exceptions (SMTP, POP3, IMAP,
:mod:`ssl`, sockets) into these.
"""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import Iterator

from .._errors import MimekitError
from ..imap import (
    IMAPAuthenticationError,
    IMAPCommandError,
    IMAPDisconnected,
    IMAPError,
    IMAPNotSupportedError,
    IMAPTimeoutError,
)
from ..pop3 import (
    POP3AuthenticationError,
    POP3Error,
    POP3NotSupportedError,
    POP3ResponseError,
    POP3ServerDisconnected,
    POP3TimeoutError,
)
from ..smtp import (
    SMTPAuthenticationError,
    SMTPError,
    SMTPNotSupportedError,
    SMTPReplyError,
    SMTPServerDisconnected,
    SMTPTimeoutError,
)

__all__ = [
    "EXIT_AUTH",
    "EXIT_FAILURE",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_PARTIAL",
    "EXIT_TLS",
    "EXIT_USAGE",
    "AgentError",
    "AuthenticationFailed",
    "CertificateNotTrusted",
    "ConfigError",
    "ServerError",
    "StateError",
    "endpoint_errors",
]

#: Everything worked.
EXIT_OK = 0
#: A failure: no connection, the server refused, a local file error.
EXIT_FAILURE = 1
#: Bad options or a bad accounts file (argparse uses 2 as well).
EXIT_USAGE = 2
#: Done, with something to look at: a recipient refused, a sync conflict
#: kept on both sides, the Sent copy not saved.
EXIT_PARTIAL = 3
#: The server refused the user name or password.
EXIT_AUTH = 4
#: The server's TLS certificate is not trusted.
EXIT_TLS = 5
#: Interrupted (Ctrl-C): 128 + SIGINT, as shells report it.
EXIT_INTERRUPTED = 130


class AgentError(MimekitError):
    """A user-agent failure; ``str(error)`` is one line for a person.

    Attributes:
        exit_code: What the command line exits with.
    """

    exit_code = EXIT_FAILURE


class ConfigError(AgentError):
    """The accounts file, an option, or a password source is wrong."""

    exit_code = EXIT_USAGE


class AuthenticationFailed(AgentError):
    """The server refused the credentials."""

    exit_code = EXIT_AUTH


class CertificateNotTrusted(AgentError):
    """The server's certificate did not verify."""

    exit_code = EXIT_TLS


class ServerError(AgentError):
    """The server refused a command, or the connection failed."""


class StateError(AgentError):
    """A state file is damaged in a way that cannot be repaired safely."""


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


@contextlib.contextmanager
def endpoint_errors(label: str) -> Iterator[None]:
    """Turn client exceptions raised inside the block into :class:`AgentError`.

    Args:
        label: Names the endpoint in the message (``"imap alice@host:993"``).
    """
    try:
        yield
    except AgentError:
        raise
    except ssl.SSLCertVerificationError as exc:
        reason = exc.verify_message or exc.reason or "verification failed"
        raise CertificateNotTrusted(
            f"{label}: certificate not trusted ({reason}); set ca_file in the account "
            "or use --tls-insecure") from exc
    except ssl.SSLError as exc:
        raise ServerError(f"{label}: TLS failed: {_one_line(exc.reason or exc)}") from exc
    except (SMTPAuthenticationError, POP3AuthenticationError, IMAPAuthenticationError) as exc:
        raise AuthenticationFailed(f"{label}: authentication failed: {_one_line(exc)}") from exc
    except (SMTPNotSupportedError, POP3NotSupportedError, IMAPNotSupportedError) as exc:
        raise ServerError(f"{label}: not possible with this server: {_one_line(exc)}") from exc
    except (SMTPTimeoutError, POP3TimeoutError, IMAPTimeoutError) as exc:
        raise ServerError(f"{label}: timed out: {_one_line(exc)}") from exc
    except (SMTPServerDisconnected, POP3ServerDisconnected, IMAPDisconnected) as exc:
        raise ServerError(f"{label}: {_one_line(exc)}") from exc
    except (SMTPReplyError, POP3ResponseError, IMAPCommandError) as exc:
        raise ServerError(f"{label}: server refused: {_one_line(exc)}") from exc
    except (SMTPError, POP3Error, IMAPError) as exc:
        raise ServerError(f"{label}: {_one_line(exc)}") from exc
    except (ConnectionError, TimeoutError) as exc:
        raise ServerError(f"{label}: {_one_line(exc)}") from exc
