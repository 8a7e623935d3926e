"""The synchronous IMAP client: blocking sockets around the shared logic.

This module only moves bytes (DESIGN.md convention 6): every decision is in
:mod:`._client_logic` and :mod:`._client_ops`, which
:class:`~._async_client.AsyncIMAPClient` runs too. Here: connect, write,
read until the core has an event, wrap the socket in TLS, and turn socket
errors into IMAP errors.
"""

from __future__ import annotations

import socket
from collections.abc import Generator, Iterable, Iterator
from datetime import datetime
from types import TracebackType
from typing import Any

from .._client_driver import explain_tls_mismatch
from ..tree import Message, parse
from ._client_base import ClientBase, set_keepalive
from ._client_logic import READ, START_TLS, Deliver, Request, Step, T, Wait, is_loopback
from ._client_ops import IDLE_RENEW, StopIdle
from ._connection import NEED_DATA
from ._errors import IMAPDisconnected, IMAPError, IMAPTimeoutError
from ._responses import ConnectionClosed, Response, StatusResponse
from ._results import (
    AppendResult,
    CopyResult,
    FetchResult,
    MailboxInfo,
    Namespaces,
    SearchSummary,
    SelectInfo,
)

__all__ = ["IMAPClient"]

_RECV = 1 << 18


class IMAPClient(ClientBase):
    """An IMAP4rev1 client over a blocking socket (RFC 3501 and extensions).

    ::

        with IMAPClient("imap.example.com", tls="implicit") as c:
            c.login("user", "password")
            c.select("INBOX")
            for uid, item in c.fetch(c.search("UNSEEN"), ["ENVELOPE"]).items():
                print(uid, item.envelope.subject)

    Args:
        host: The server's name or address (also the name TLS verifies).
        port: Default 143, or 993 with ``tls="implicit"``.
        tls: None (plain), ``"starttls"`` (RFC 3501 6.2.1; refused if the
            server does not offer it) or ``"implicit"`` (TLS from the first
            byte, RFC 8314).
        ssl_context: The TLS context. By default
            ``ssl.create_default_context()``: certificates and host names are
            verified. To accept an unverified server, pass your own context.
        timeout: Seconds for connecting and for each read or write; None
            waits forever. A timeout raises :class:`IMAPTimeoutError` and
            closes the connection. IDLE waits by its own ``timeout``.
        allow_insecure_auth: Allow LOGIN and AUTHENTICATE PLAIN/LOGIN/XOAUTH2
            without TLS to a server that is not on loopback. Default: refused.
        max_line: Bound on the non-literal octets of one response (default
            64 MiB: a SEARCH answer for millions of messages fits); None for
            no bound. Literals are never bounded.

    Mailbox names are ``str`` as users see them (``"Entwürfe"``); the client
    encodes them in modified UTF-7 (RFC 3501 5.1.3) for the wire. Messages
    are addressed by UID throughout (UID SEARCH, UID FETCH...).

    Errors: a refusal raises :class:`IMAPCommandError` (or a subclass)
    carrying the status (NO/BAD), the response code and the text; the
    connection stays usable. A dropped connection or a BYE raises
    :class:`IMAPDisconnected`, a timeout :class:`IMAPTimeoutError`, garbage
    from the server :class:`RemoteProtocolError`: the socket is then
    closed. A certificate problem raises :class:`ssl.SSLError`.
    """

    _sock: socket.socket | None = None
    _active_idle: Generator[Response, None, object] | None = None

    # -- connection -------------------------------------------------------------------

    def connect(self) -> StatusResponse:
        """Connect, read the greeting (and the capabilities), STARTTLS if asked.

        Returns:
            The greeting.

        Raises:
            IMAPDisconnected: the connection could not be made, or the
                server greeted with BYE.
            IMAPTimeoutError: no connection or greeting in time.
            IMAPNotSupportedError: ``tls="starttls"`` and no STARTTLS offered.
            ssl.SSLError: the TLS handshake failed (a bad certificate...).
        """
        if self._session is not None:
            raise IMAPDisconnected("already connected")
        self._broken = False
        try:
            sock = socket.create_connection((self.host, self.port), self.timeout)
        except TimeoutError as exc:
            raise IMAPTimeoutError(f"connecting to {self.host}:{self.port} timed out") from exc
        except OSError as exc:
            raise IMAPDisconnected(f"cannot connect to {self.host}:{self.port}: {exc}") from exc
        greeted = False
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            set_keepalive(sock)
            if self.tls_mode == "implicit":
                sock = self._context().wrap_socket(sock, server_hostname=self.host)
            self._session = self._new_session(is_loopback(sock.getpeername()[0]))
            self._sock = sock
            greeting = self._run(self._live().greet())
            greeted = True
            if self.tls_mode == "starttls":
                self._run(self._live().starttls())
        except BaseException as exc:
            sock.close()
            self.close()
            if not greeted:
                explain_tls_mismatch(exc, self.host, self.port, self.tls_mode, IMAPTimeoutError)
            raise
        return greeting

    def close(self) -> None:
        """Close the socket without LOGOUT (idempotent)."""
        sock, self._sock, self._session = self._sock, None, None
        if sock is not None:
            sock.close()

    def __enter__(self) -> IMAPClient:
        if self._session is None:
            self.connect()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            if self._session is not None:
                self.logout()
        finally:
            self.close()

    # -- moving bytes -----------------------------------------------------------------

    def _perform(self, request: Request) -> Response | None:
        if request is READ:
            return self._read_event(None)
        if isinstance(request, Wait):
            return self._read_event(request.seconds)
        if request is START_TLS:
            sock = self._sock_or_raise()
            self._sock = self._context().wrap_socket(sock, server_hostname=self.host)
            return None
        assert isinstance(request, bytes)
        self._write(request)
        return None

    def _drive(self, step: Step[T]) -> Generator[Response, None, T | None]:
        """Carry out an operation's requests, yielding what it delivers; the
        operation's result is the generator's return value."""
        session = self._live()
        value: Response | None = None
        error: BaseException | None = None
        stopped = False
        try:
            while True:
                try:
                    request = step.send(value) if error is None else step.throw(error)
                except StopIteration as stop:
                    return stop.value  # type: ignore[no-any-return]
                value, error = None, None
                if isinstance(request, Deliver):
                    if stopped:
                        raise IMAPError("the operation delivered after being stopped")
                    try:
                        yield request.event
                    except GeneratorExit:
                        # The caller stopped iterating: finish the operation
                        # (IDLE sends DONE) without yielding again.
                        stopped = True
                        error = StopIdle()
                    continue
                try:
                    value = self._perform(request)
                except (IMAPDisconnected, IMAPTimeoutError) as exc:
                    # Thrown into the operation; no more I/O on this socket.
                    self._broken = True
                    error = exc
        except BaseException as exc:
            if self._session is session and not self._keeps_connection(session, exc):
                self.close()
            if stopped and isinstance(exc, IMAPError | OSError):
                return None  # closing an iterator must not raise its I/O errors
            raise
        finally:
            step.close()

    def _finish_idle(self) -> None:
        """End an IDLE whose iterator was abandoned without being closed."""
        driver, self._active_idle = self._active_idle, None
        if driver is not None:
            driver.close()

    def _run(self, step: Step[T]) -> T:
        self._finish_idle()
        driver = self._drive(step)
        try:
            next(driver)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        driver.close()
        raise IMAPError("this operation cannot deliver events")

    def _sock_or_raise(self) -> socket.socket:
        if self._sock is None or self._broken:
            raise IMAPDisconnected("the connection is closed")
        return self._sock

    def _write(self, data: bytes) -> None:
        sock = self._sock_or_raise()
        try:
            sock.sendall(data)
        except TimeoutError as exc:
            raise IMAPTimeoutError(f"sending to {self.host} timed out") from exc
        except OSError as exc:
            raise IMAPDisconnected(f"connection lost while sending: {exc}") from exc

    def _read_event(self, wait: float | None) -> Response | None:
        conn = self._live().conn
        while True:
            event = conn.next_event()
            if isinstance(event, ConnectionClosed):
                raise IMAPDisconnected("the server closed the connection")
            if event is not NEED_DATA:
                assert isinstance(event, Response)
                return event
            sock = self._sock_or_raise()
            try:
                if wait is not None:
                    sock.settimeout(max(wait, 0.001))
                data = sock.recv(_RECV)
            except TimeoutError as exc:
                if wait is not None:
                    return None
                raise IMAPTimeoutError(
                    f"no response from {self.host} within {self.timeout} s") from exc
            except OSError as exc:
                raise IMAPDisconnected(f"connection lost: {exc}") from exc
            finally:
                if wait is not None and self._sock is sock:
                    sock.settimeout(self.timeout)
            conn.receive_data(data)

    # -- session ----------------------------------------------------------------------

    def capability(self) -> frozenset[str]:
        """CAPABILITY: ask again; returns the upper-cased names."""
        return self._run(self._live().capability())

    def starttls(self) -> None:
        """STARTTLS now (when ``tls=None`` was given), then CAPABILITY again."""
        self._run(self._live().starttls())

    def login(self, user: str, password: str) -> StatusResponse:
        """LOGIN (RFC 3501 6.2.3); the capabilities are refreshed after it.

        Refused without TLS unless the server is on loopback or
        ``allow_insecure_auth=True`` (the password would cross the network
        readable), and when the server says LOGINDISABLED.

        Raises:
            IMAPAuthenticationError: the server refused the credentials.
            IMAPNotSupportedError: LOGIN is not possible here (see above).
        """
        return self._run(self._live().login(user, password))

    def authenticate(self, mechanism: str, user: str, password: str | None = None, *,
                     token: str | None = None, authzid: str = "") -> StatusResponse:
        """AUTHENTICATE (RFC 3501 6.2.2) with ``PLAIN`` or ``XOAUTH2`` (also
        ``LOGIN`` and ``CRAM-MD5``); SASL-IR (RFC 4959) when offered.

        Args:
            mechanism: The SASL mechanism, which the server must offer
                (``AUTH=PLAIN``...).
            user: The user name.
            password: The password (all mechanisms but XOAUTH2).
            token: An OAuth 2.0 access token (XOAUTH2).
            authzid: PLAIN only: the identity to act as (RFC 4616).

        Raises:
            IMAPAuthenticationError: the server refused.
            IMAPNotSupportedError: the mechanism is not offered, or would
                send a secret in clear text (as :meth:`login`).
        """
        return self._run(self._live().authenticate(mechanism, user, password, token=token,
                                                   authzid=authzid))

    def noop(self) -> list[Response]:
        """NOOP: returns the untagged responses it brought (new mail...)."""
        return self._run(self._live().noop())

    def logout(self) -> None:
        """LOGOUT, then close. Errors are not raised."""
        if self._session is None:
            return
        try:
            self._run(self._live().logout())
        except Exception:
            pass
        finally:
            self.close()

    def namespace(self) -> Namespaces:
        """NAMESPACE (RFC 2342)."""
        return self._run(self._live().namespace())

    def id(self, params: dict[str, str | None] | None = None) -> dict[str, str | None] | None:
        """ID (RFC 2971): send ``params`` (None for NIL), get the server's."""
        return self._run(self._live().id(params))

    def enable(self, *capabilities: str) -> frozenset[str]:
        """ENABLE (RFC 5161): returns what the server turned on."""
        return self._run(self._live().enable(capabilities))

    # -- mailboxes --------------------------------------------------------------------

    def list_mailboxes(self, pattern: str = "*", reference: str = "", *,
                       subscribed: bool = False, special_use: bool = False
                       ) -> list[MailboxInfo]:
        """LIST: the mailboxes matching ``pattern`` (``*`` any, ``%`` one level).

        Names come decoded; ``special_use`` on each entry says which is the
        Sent, Trash... folder (RFC 6154; asked for with ``RETURN
        (SPECIAL-USE)`` when the server has LIST-EXTENDED).

        Args:
            subscribed: Only subscribed mailboxes (LSUB, or LIST (SUBSCRIBED)).
            special_use: Only the special-use mailboxes (``LIST (SPECIAL-USE)``).
        """
        return self._run(self._live().list_mailboxes(pattern, reference, subscribed=subscribed,
                                                     special_use=special_use))

    def select(self, mailbox: str = "INBOX", readonly: bool = False) -> SelectInfo:
        """SELECT (or EXAMINE with ``readonly=True``).

        Returns:
            A :class:`SelectInfo`: ``exists``, ``uidvalidity``, ``uidnext``,
            ``flags``, ``permanent_flags``, ``readonly``...
        """
        return self._run(self._live().select(mailbox, readonly))

    def examine(self, mailbox: str = "INBOX") -> SelectInfo:
        """EXAMINE: select read-only (FETCH does not set \\Seen)."""
        return self.select(mailbox, readonly=True)

    def close_mailbox(self) -> None:
        """CLOSE: expunge \\Deleted messages silently and deselect."""
        self._run(self._live().close_mailbox())

    def unselect(self) -> None:
        """UNSELECT (RFC 3691): deselect without expunging."""
        self._run(self._live().unselect())

    def create(self, mailbox: str, special_use: str | None = None) -> None:
        """CREATE (``special_use="\\\\Archive"`` with CREATE-SPECIAL-USE)."""
        self._run(self._live().create(mailbox, special_use))

    def delete(self, mailbox: str) -> None:
        """DELETE."""
        self._run(self._live().delete(mailbox))

    def rename(self, mailbox: str, new_name: str) -> None:
        """RENAME."""
        self._run(self._live().rename(mailbox, new_name))

    def subscribe(self, mailbox: str) -> None:
        """SUBSCRIBE."""
        self._run(self._live().subscribe(mailbox))

    def unsubscribe(self, mailbox: str) -> None:
        """UNSUBSCRIBE."""
        self._run(self._live().unsubscribe(mailbox))

    def status(self, mailbox: str, items: Iterable[str] | None = None) -> dict[str, int]:
        """STATUS: ``{"MESSAGES": 3, "RECENT": 0, "UIDNEXT": 12, "UIDVALIDITY": 1,
        "UNSEEN": 1}`` by default; name other items (``SIZE``...) in ``items``."""
        return self._run(self._live().status(mailbox, items))

    # -- messages ---------------------------------------------------------------------

    def search(self, criteria: object = None, charset: str | None = None,
               **keys: object) -> list[int]:
        """UID SEARCH: the UIDs of the matching messages.

        Criteria are Python values (see :mod:`mimekit.imap` docs):
        ``"UNSEEN"``; ``[("SINCE", date(2024, 1, 1)), ("FROM", "alice")]``;
        ``("OR", "FLAGGED", ("SUBJECT", "urgent"))``; raw text
        ``"FROM alice SINCE 1-Jan-2024"``; keyword arguments such as
        ``seen=False, since=date(2024, 1, 1), from_="alice"`` (ANDed). A
        non-ASCII string sends ``CHARSET UTF-8``.

        Raises:
            ValueError: criteria that are not SEARCH keys (nothing was sent).
        """
        return self._run(self._live().search(criteria, charset, **keys))

    def search_summary(self, criteria: object = None, charset: str | None = None, *,
                       uids: bool = False, **keys: object) -> SearchSummary:
        """UID SEARCH for a summary: how many messages match, the lowest and
        highest UID, and (with ``uids=True``) every UID, as a compact set.

        Uses RFC 4731 ESEARCH (``RETURN (MIN MAX COUNT)``) where the server
        offers it, so a search matching 100,000 messages answers in one short
        line; elsewhere it is worked out from a plain UID SEARCH. Criteria as
        for :meth:`search`.
        """
        return self._run(self._live().search_summary(criteria, charset, uids=uids, **keys))

    def sort(self, order: str | Iterable[str], criteria: object = None,
             charset: str = "UTF-8", **keys: object) -> list[int]:
        """UID SORT (RFC 5256): the UIDs of the matching messages, sorted
        by the server.

        Args:
            order: Sort keys, most significant first: ``"REVERSE DATE"``
                or ``["SUBJECT", "REVERSE", "ARRIVAL"]``; the keys are
                ``ARRIVAL``, ``CC``, ``DATE``, ``FROM``, ``SIZE``,
                ``SUBJECT``, ``TO`` and (RFC 5957) ``DISPLAYFROM``,
                ``DISPLAYTO``; ``REVERSE`` turns the key after it around.
            criteria, keys: Which messages, as for :meth:`search` (all by
                default).
            charset: The charset of the criteria (RFC 5256 requires one).

        Raises:
            ValueError: ``order`` holds something that is not a sort key.
            IMAPNotSupportedError: the server does not offer SORT.
        """
        return self._run(self._live().sort(order, criteria, charset, **keys))

    def fetch(self, uids: int | str | Iterable[int], items: str | Iterable[str]
              ) -> dict[int, FetchResult]:
        """UID FETCH: ``{uid: FetchResult}`` with typed items.

        Args:
            uids: A UID, UIDs, or a UID set string (``"1:*"``).
            items: ``"FLAGS"``, ``"ENVELOPE"``, ``"BODYSTRUCTURE"``,
                ``"INTERNALDATE"``, ``"RFC822.SIZE"``,
                ``"BODY.PEEK[1.2]<0.1024>"``...

        Each :class:`FetchResult` maps item names to values (``FLAGS`` a
        tuple, ``ENVELOPE`` an :class:`Envelope`, ``BODYSTRUCTURE`` a
        :class:`BodyStructure`, ``INTERNALDATE`` a datetime, body sections
        bytes) and finds an item by the requested name
        (``result["BODY.PEEK[]"]``).
        """
        return self._run(self._live().fetch(uids, items))

    def fetch_bytes(self, uid: int) -> bytes:
        """The message exactly as stored (BODY.PEEK[]: \\Seen is not set).

        Raises:
            IMAPNoSuchMessage: no message has this UID.
        """
        return self._run(self._live().fetch_bytes(uid))

    def fetch_message(self, uid: int) -> Message:
        """The message as a :class:`~mimekit.Message` (see :meth:`fetch_bytes`)."""
        return parse(self.fetch_bytes(uid))

    def append(self, mailbox: str, message: Any, flags: Iterable[str] = (),
               date: datetime | None = None) -> AppendResult | None:
        """APPEND a message (a :class:`~mimekit.Message` or its bytes, sent
        unchanged: use CRLF line endings).

        Args:
            flags: Flags to set (``["\\\\Seen"]``).
            date: The INTERNALDATE (default: the server's now).

        Returns:
            The UIDPLUS result (``uidvalidity``, ``uid``), or None when the
            server does not report one.
        """
        return self._run(self._live().append(mailbox, message, flags, date))

    def store(self, uids: int | str | Iterable[int], *, add_flags: Iterable[str] | None = None,
              remove_flags: Iterable[str] | None = None, set_flags: Iterable[str] | None = None,
              silent: bool = False) -> dict[int, tuple[str, ...]]:
        """UID STORE: add, remove or replace flags.

        Returns:
            ``{uid: flags after the change}`` as the server reported them
            (empty with ``silent=True``).
        """
        return self._run(self._live().store(uids, add_flags=add_flags, remove_flags=remove_flags,
                                            set_flags=set_flags, silent=silent))

    def copy(self, uids: int | str | Iterable[int], mailbox: str) -> CopyResult | None:
        """UID COPY; the COPYUID mapping (RFC 4315) when the server gives one.

        Raises:
            IMAPCommandError: e.g. with code ``TRYCREATE`` when the target
                does not exist.
        """
        return self._run(self._live().copy(uids, mailbox))

    def move(self, uids: int | str | Iterable[int], mailbox: str) -> CopyResult | None:
        """UID MOVE (RFC 6851) when offered, else UID COPY, STORE \\Deleted
        and UID EXPUNGE (plain EXPUNGE without UIDPLUS, which also removes
        other messages already marked \\Deleted)."""
        return self._run(self._live().move(uids, mailbox))

    def expunge(self, uids: int | str | Iterable[int] | None = None) -> list[int]:
        """EXPUNGE (or UID EXPUNGE of ``uids`` only, UIDPLUS); returns the
        expunged sequence numbers as reported."""
        return self._run(self._live().expunge(uids))

    def idle(self, timeout: float | None = None, *, renew: float = IDLE_RENEW
             ) -> Iterator[Response]:
        """IDLE (RFC 2177): yield the server's updates as they come.

        ::

            for event in c.idle(timeout=300):
                if isinstance(event, ExistsResponse): ...

        Events are response objects: :class:`ExistsResponse`,
        :class:`ExpungeResponse`, :class:`FetchResponse` (flag changes),
        :class:`RecentResponse`, untagged :class:`StatusResponse`...

        The iterator ends normally after ``timeout`` seconds (None: never),
        having ended IDLE with DONE. Breaking out of the loop (or closing
        the iterator) also ends IDLE cleanly; the connection stays usable.
        IDLE is re-issued every ``renew`` seconds (29 minutes, RFC 2177).

        A dropped connection, a BYE from the server (an idle timeout, a
        shutdown) or a silent peer (TCP keepalive fails within about two
        minutes) ends the iterator with :class:`IMAPDisconnected` (or
        :class:`IMAPTimeoutError` when the server does not answer DONE);
        the socket is then closed and ``connect()`` may start over.

        Raises:
            IMAPNotSupportedError: the server does not offer IDLE.
        """
        self._finish_idle()
        driver = self._drive(self._live().idle(timeout, renew))
        self._active_idle = driver
        return driver
