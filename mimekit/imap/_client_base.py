"""Configuration and state both IMAP client adapters share (no I/O here)."""

from __future__ import annotations

import contextlib
import socket
import ssl

from ._client_ops import ClientSession
from ._errors import IMAPDisconnected, IMAPTimeoutError, RemoteProtocolError
from ._responses import Response, StatusResponse
from ._results import SelectInfo
from ._states import State

__all__ = ["ClientBase", "set_keepalive"]

_TLS_MODES = (None, "starttls", "implicit")
_DEFAULT_PORTS = {None: 143, "starttls": 143, "implicit": 993}


def set_keepalive(sock: socket.socket | None) -> None:
    """TCP keepalive with short timers, so a connection that dies without a
    FIN (a NAT timeout, a pulled cable) shows as an error within about two
    minutes, also while IDLE waits for 29 minutes (Linux options; others
    get the system's keepalive defaults)."""
    if sock is None:
        return
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        for name, value in (("TCP_KEEPIDLE", 60), ("TCP_KEEPINTVL", 20), ("TCP_KEEPCNT", 3)):
            option = getattr(socket, name, None)
            if option is not None:
                sock.setsockopt(socket.IPPROTO_TCP, option, value)


class ClientBase:
    """What :class:`~._client.IMAPClient` and
    :class:`~._async_client.AsyncIMAPClient` share; see the former for the
    arguments."""

    def __init__(self, host: str = "localhost", port: int | None = None, *,
                 tls: str | None = None, ssl_context: ssl.SSLContext | None = None,
                 timeout: float | None = 30.0, allow_insecure_auth: bool = False,
                 max_line: int | None = None) -> None:
        if tls not in _TLS_MODES:
            raise ValueError(f"tls must be None, 'starttls' or 'implicit', not {tls!r}")
        self.host = host
        self.port = _DEFAULT_PORTS[tls] if port is None else port
        self.tls_mode = tls
        self.timeout = timeout
        self.allow_insecure_auth = allow_insecure_auth
        self._max_line = max_line
        self._ssl_context = ssl_context
        self._session: ClientSession | None = None
        self._broken = False

    def _context(self) -> ssl.SSLContext:
        # Certificates and host names are verified unless the caller passes
        # a context that does otherwise (the security default).
        if self._ssl_context is None:
            self._ssl_context = ssl.create_default_context()
        return self._ssl_context

    def _new_session(self, loopback: bool) -> ClientSession:
        session = ClientSession(allow_insecure_auth=self.allow_insecure_auth,
                                max_line=self._max_line)
        session.tls = self.tls_mode == "implicit"
        session.loopback = loopback
        return session

    def _live(self) -> ClientSession:
        if self._session is None:
            raise IMAPDisconnected("not connected: call connect() or use 'with'")
        return self._session

    @staticmethod
    def _keeps_connection(session: ClientSession, exc: BaseException) -> bool:
        """After an exception, is the connection still in a known, usable
        state? Not after a timeout, a dropped connection, garbage from the
        server, or with a command left half done."""
        conn = session.conn
        return (conn.state is not State.LOGOUT and not conn.pending and not conn.tls_pending
                and not isinstance(exc, IMAPDisconnected | IMAPTimeoutError
                                   | RemoteProtocolError))

    # -- state ------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """A connection is open."""
        return self._session is not None

    @property
    def capabilities(self) -> frozenset[str]:
        """The server's capabilities, upper-cased (refreshed after STARTTLS
        and login)."""
        return self._session.capabilities if self._session else frozenset()

    @property
    def state(self) -> State:
        """The session state (LOGOUT when not connected)."""
        return self._session.conn.state if self._session else State.LOGOUT

    @property
    def tls(self) -> bool:
        """The connection is encrypted (implicit TLS, or after STARTTLS)."""
        return self._session is not None and self._session.tls

    @property
    def authenticated(self) -> str | None:
        """The user we logged in as, or None."""
        return self._session.authenticated if self._session else None

    @property
    def greeting(self) -> StatusResponse | None:
        """The server's greeting."""
        return self._session.greeting if self._session else None

    @property
    def selected(self) -> SelectInfo | None:
        """The selected mailbox (``exists`` kept current), or None."""
        return self._session.selected if self._session else None

    def pop_updates(self) -> list[Response]:
        """Untagged responses no command consumed since the last call
        (EXISTS, EXPUNGE, flag changes by other sessions, ALERTs), oldest
        first. At most the latest 10000 are kept."""
        if self._session is None:
            return []
        out = list(self._session.updates)
        self._session.updates.clear()
        return out
