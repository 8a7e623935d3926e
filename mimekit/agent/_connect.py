"""Connecting to an account's servers: TLS settings, login, error mapping.

Each ``open_*`` returns a connected, logged-in client inside
:func:`~._errors.endpoint_errors`, so every failure is an
:class:`~._errors.AgentError` with one line naming the endpoint.
"""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import Callable, Iterator

from ..imap import IMAPClient
from ..pop3 import POP3Client
from ..smtp import SMTPClient
from ._accounts import Endpoint
from ._errors import ConfigError, endpoint_errors
from ._report import Reporter

__all__ = ["Connector", "ssl_context"]

#: Gives the password of an endpoint (a :class:`~._passwords.PasswordResolver`).
PasswordFunc = Callable[[Endpoint], str]


def ssl_context(endpoint: Endpoint, *, insecure: bool = False) -> ssl.SSLContext:
    """The TLS context for ``endpoint``: the system's trust store, or its
    ``ca_file``; no verification at all with ``tls_insecure`` (or ``insecure``).

    Raises:
        ConfigError: the ``ca_file`` cannot be loaded.
    """
    if insecure or endpoint.tls_insecure:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return ctx
    try:
        return ssl.create_default_context(
            cafile=str(endpoint.ca_file) if endpoint.ca_file is not None else None)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"{endpoint.label}: cannot load ca_file {endpoint.ca_file}: "
                          f"{exc}") from exc


class Connector:
    """Opens logged-in clients for endpoints.

    Args:
        password: Gives each endpoint's password.
        reporter: Receives the warning about unverified TLS.
        insecure: Skip certificate verification everywhere (``--tls-insecure``).
    """

    def __init__(self, password: PasswordFunc, reporter: Reporter | None = None, *,
                 insecure: bool = False) -> None:
        self.password = password
        self.reporter = reporter or Reporter()
        self.insecure = insecure
        self._warned: set[str] = set()

    def _context(self, endpoint: Endpoint) -> ssl.SSLContext | None:
        if endpoint.tls is None:
            return None
        if (self.insecure or endpoint.tls_insecure) and endpoint.label not in self._warned:
            self._warned.add(endpoint.label)
            self.reporter.warn(f"{endpoint.label}: the TLS certificate is NOT verified "
                               "(tls_insecure)")
        return ssl_context(endpoint, insecure=self.insecure)

    @contextlib.contextmanager
    def smtp(self, endpoint: Endpoint, *, login: bool = True) -> Iterator[SMTPClient]:
        """A connected SMTP client (logged in unless ``login=False``); QUIT at the end."""
        context = self._context(endpoint)
        with endpoint_errors(endpoint.label):
            client = SMTPClient(endpoint.host, endpoint.port, tls=endpoint.tls,
                                ssl_context=context, timeout=endpoint.timeout)
            client.connect()
        try:
            with endpoint_errors(endpoint.label):
                if login and "AUTH" in client.extensions:
                    client.login(endpoint.user, self.password(endpoint))
                yield client
        except Exception:
            with contextlib.suppress(Exception):
                client.quit()  # polite after a refusal; a broken link just closes
            raise
        else:
            with contextlib.suppress(Exception):
                client.quit()
        finally:
            # Ctrl-C and the like: no more conversation, just close.
            client.close()

    @contextlib.contextmanager
    def pop3(self, endpoint: Endpoint) -> Iterator[POP3Client]:
        """A logged-in POP3 client. QUIT (which applies DELE) only when the
        block ends normally: after an error or Ctrl-C the connection is just
        closed, so the server deletes nothing (RFC 1939 section 6)."""
        context = self._context(endpoint)
        with endpoint_errors(endpoint.label):
            client = POP3Client(endpoint.host, endpoint.port, tls=endpoint.tls,
                                ssl_context=context, timeout=endpoint.timeout)
            client.connect()
        try:
            with endpoint_errors(endpoint.label):
                client.login(endpoint.user, self.password(endpoint))
                yield client
                client.quit()
        finally:
            client.close()

    @contextlib.contextmanager
    def imap(self, endpoint: Endpoint) -> Iterator[IMAPClient]:
        """A logged-in IMAP client; LOGOUT at the end."""
        context = self._context(endpoint)
        with endpoint_errors(endpoint.label):
            client = IMAPClient(endpoint.host, endpoint.port, tls=endpoint.tls,
                                ssl_context=context, timeout=endpoint.timeout)
            client.connect()
        try:
            with endpoint_errors(endpoint.label):
                client.login(endpoint.user, self.password(endpoint))
                yield client
        except Exception:
            client.logout()  # never raises; closes the socket
            raise
        else:
            client.logout()
        finally:
            # Ctrl-C may come in the middle of a response: no LOGOUT then
            # (it could wait for the rest), just close.
            client.close()
