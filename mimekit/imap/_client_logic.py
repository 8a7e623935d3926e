"""What the IMAP clients do, written once for the sync and the asyncio client.

Each operation is a generator over one :class:`~._connection.ClientConnection`.
It yields I/O requests and gets their results back:

* ``bytes``: write them (the result is None);
* :data:`READ`: read until the core has the next response event, and send
  it back (a closed connection is *thrown* into the generator as
  :class:`IMAPDisconnected`, a timeout as :class:`IMAPTimeoutError`);
* :class:`Wait`: like READ, but give up after ``seconds`` and send back
  None (IDLE waits for updates this way; no event in time is no error);
* :data:`START_TLS`: do the TLS handshake on the socket (STARTTLS);
* :class:`Deliver`: hand an event to the caller (only IDLE's iterator).

:class:`~._client.IMAPClient` and :class:`~._async_client.AsyncIMAPClient`
only carry these requests out, so every decision (literal synchronization,
capability refreshes, the MOVE fallback, IDLE's renewal) is the same in
both by construction (DESIGN.md convention 6). The mailbox and message
operations are in :mod:`._client_ops`.
"""

from __future__ import annotations

import contextlib
from collections import deque
from collections.abc import Generator
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from .._client_driver import READ, START_TLS, Op
from .._guard import is_loopback
from ..codecs import decode_imap_utf7, encode_imap_utf7
from ..smtp._errors import SMTPNotSupportedError
from ..smtp._sasl import PLAINTEXT_MECHANISMS, SASLError, client_mechanism
from ._command_events import AuthenticateData
from ._commands import (
    Authenticate,
    Capability,
    Command,
    Enable,
    Id,
    Login,
    Logout,
    Namespace,
    Noop,
    StartTLS,
)
from ._connection import ClientConnection
from ._errors import (
    IMAPAuthenticationError,
    IMAPCommandError,
    IMAPDisconnected,
    IMAPError,
    IMAPNotSupportedError,
)
from ._responses import (
    ContinuationRequest,
    EnabledResponse,
    ExistsResponse,
    ExpungeResponse,
    IdResponse,
    NamespaceResponse,
    Response,
    StatusResponse,
)
from ._results import Namespaces, SelectInfo
from ._states import State

__all__ = [
    "READ",
    "START_TLS",
    "Deliver",
    "Request",
    "SessionBase",
    "Step",
    "Wait",
    "is_loopback",
]


@dataclass(frozen=True, slots=True)
class Wait:
    """Request: read the next response event, or None after ``seconds``."""

    seconds: float


@dataclass(frozen=True, slots=True)
class Deliver:
    """Request: hand ``event`` to the caller (IDLE's iterator)."""

    event: Response


Request = bytes | Op | Wait | Deliver
T = TypeVar("T")
#: An operation: yields requests, receives a Response (READ/Wait) or None.
Step = Generator[Request, "Response | None", T]

#: More "+" challenges than any SASL mechanism we speak needs.
_MAX_SASL_ROUNDS = 8
#: Untagged responses no command consumed, kept for the caller (bounded:
#: a client that never reads them must not grow without end).
_MAX_UPDATES = 10_000


class SessionBase:
    """The client's state over one connection, and the session operations.

    Args:
        allow_insecure_auth: Allow LOGIN and plaintext SASL without TLS to a
            server that is not on loopback.
        max_line: Passed to the core (bound on one response's non-literal part).
    """

    def __init__(self, *, allow_insecure_auth: bool = False,
                 max_line: int | None = None) -> None:
        kwargs: dict[str, Any] = {} if max_line is None else {"max_line": max_line}
        self.conn = ClientConnection(**kwargs)
        self.allow_insecure_auth = allow_insecure_auth
        #: The connection is encrypted (implicit TLS, or after STARTTLS).
        self.tls = False
        #: The server is on a loopback address (set by the adapter).
        self.loopback = False
        #: The user we logged in as, or None.
        self.authenticated: str | None = None
        #: The greeting.
        self.greeting: StatusResponse | None = None
        #: The selected mailbox (exists kept current), or None.
        self.selected: SelectInfo | None = None
        #: Untagged responses no command consumed (EXISTS, EXPUNGE, flag
        #: changes, alerts), oldest first.
        self.updates: deque[Response] = deque(maxlen=_MAX_UPDATES)

    # -- helpers --------------------------------------------------------------------

    @property
    def capabilities(self) -> frozenset[str]:
        """The server's capabilities, upper-cased."""
        return self.conn.capabilities

    @property
    def utf8(self) -> bool:
        """UTF8=ACCEPT is enabled: mailbox names travel as UTF-8 (RFC 6855)."""
        return "UTF8=ACCEPT" in self.conn.enabled

    def wire_name(self, mailbox: str) -> str:
        """A mailbox name as sent: modified UTF-7 unless UTF8=ACCEPT is on."""
        if not isinstance(mailbox, str):
            raise TypeError(f"mailbox name must be str, not {type(mailbox).__name__}")
        return mailbox if self.utf8 else encode_imap_utf7(mailbox)

    def decode_name(self, raw: str) -> str:
        """A mailbox name as received, decoded (leniently)."""
        return raw if self.utf8 else decode_imap_utf7(raw)

    def _require(self, capability: str, what: str) -> None:
        if capability not in self.capabilities:
            raise IMAPNotSupportedError(f"{what} needs the {capability} capability, which "
                                        "the server does not offer")

    def _observe(self, event: Response) -> None:
        """Keep the selected mailbox's message count current."""
        selected = self.selected
        if selected is None:
            return
        if isinstance(event, ExistsResponse):
            self.selected = replace(selected, exists=event.count)
        elif isinstance(event, ExpungeResponse):
            self.selected = replace(selected, exists=max(selected.exists - 1, 0))

    def _read(self) -> Step[Response]:
        event = yield READ
        assert event is not None
        return event

    def command(self, command: Command, name: str | None = None, *,
                keep: tuple[type, ...] = ()) -> Step[tuple[StatusResponse, list[Response]]]:
        """Send a command and read to its tagged completion.

        Synchronizing literals are sent as the server invites them. The
        untagged responses that arrive meanwhile are returned (those whose
        type is in ``keep``) or queued in :attr:`updates`.

        Raises:
            IMAPCommandError: the server answered NO or BAD.
            IMAPDisconnected: the server said BYE (the session is over).
        """
        if self.conn.state is State.LOGOUT:
            raise IMAPDisconnected("the session has ended")
        yield self.conn.send(command)
        tag = self.conn.last_tag
        collected: list[Response] = []
        while True:
            event = yield from self._read()
            if isinstance(event, ContinuationRequest):
                yield self.conn.continue_literal()
                continue
            if isinstance(event, StatusResponse):
                if event.tag == tag:
                    if event.status != "OK":
                        raise IMAPCommandError(event.status, event.text, event.code,
                                               name or command.name)
                    return event, collected
                if event.tag is None and event.status == "BYE" \
                        and not isinstance(command, Logout):
                    raise IMAPDisconnected(f"the server ended the session: {event.text}",
                                           bye=event.text)
            self._observe(event)
            if isinstance(event, keep):
                collected.append(event)
            else:
                self.updates.append(event)

    # -- session ----------------------------------------------------------------------

    def greet(self) -> Step[StatusResponse]:
        """Read the greeting; ask for the capabilities if it did not list them."""
        event = yield from self._read()
        assert isinstance(event, StatusResponse)
        if event.status == "BYE":
            raise IMAPDisconnected(f"the server refused the connection: {event.text}",
                                   bye=event.text)
        self.greeting = event
        if not self.capabilities:
            yield from self.capability()
        return event

    def capability(self) -> Step[frozenset[str]]:
        """CAPABILITY: ask the server again (the core records the answer)."""
        yield from self.command(Capability())
        return self.capabilities

    def starttls(self) -> Step[None]:
        """STARTTLS (RFC 3501 6.2.1), the handshake, and CAPABILITY again:
        what was offered before TLS is forgotten."""
        if self.tls:
            raise IMAPError("TLS is already active")
        self._require("STARTTLS", "STARTTLS")
        yield from self.command(StartTLS())
        yield START_TLS
        self.conn.tls_established()
        self.tls = True
        yield from self.capability()

    def _plaintext_ok(self, what: str) -> None:
        if not (self.tls or self.loopback or self.allow_insecure_auth):
            raise IMAPNotSupportedError(
                f"{what} would send the password in clear text without TLS; use "
                "tls='starttls' or 'implicit', or pass allow_insecure_auth=True")

    def _after_login(self, user: str, tagged: StatusResponse, updates_before: int) -> Step[None]:
        self.authenticated = user
        # RFC 3501 6.2.3: capabilities may change after login. Dovecot puts
        # them in the OK's code; otherwise ask.
        if self.conn.capability_updates == updates_before:
            yield from self.capability()

    def login(self, user: str, password: str) -> Step[StatusResponse]:
        """LOGIN (RFC 3501 6.2.3); see :meth:`IMAPClient.login`."""
        if "LOGINDISABLED" in self.capabilities:
            raise IMAPNotSupportedError("the server disabled LOGIN (LOGINDISABLED): use TLS "
                                        "or authenticate() with a mechanism it offers")
        self._plaintext_ok("LOGIN")
        before = self.conn.capability_updates
        try:
            tagged, _ = yield from self.command(Login(user=user, password=password))
        except IMAPCommandError as exc:
            raise IMAPAuthenticationError(exc.status, exc.text, exc.code, "LOGIN") from None
        yield from self._after_login(user, tagged, before)
        return tagged

    def authenticate(self, mechanism: str, user: str, password: str | None = None, *,
                     token: str | None = None, authzid: str = "") -> Step[StatusResponse]:
        """AUTHENTICATE (RFC 3501 6.2.2, SASL-IR RFC 4959); see
        :meth:`IMAPClient.authenticate`."""
        name = mechanism.upper()
        if f"AUTH={name}" not in self.capabilities:
            offered = sorted(c[5:] for c in self.capabilities if c.startswith("AUTH="))
            raise IMAPNotSupportedError(f"the server does not offer AUTHENTICATE {name} "
                                        f"(it offers {' '.join(offered) or 'none'})")
        if name in PLAINTEXT_MECHANISMS:
            self._plaintext_ok(f"AUTHENTICATE {name}")
        try:
            mech = client_mechanism(name, user, password, token=token, authzid=authzid)
        except SMTPNotSupportedError as exc:
            raise IMAPNotSupportedError(str(exc)) from None
        initial = mech.initial_response()
        sasl_ir = "SASL-IR" in self.capabilities and initial is not None
        before = self.conn.capability_updates
        yield self.conn.send(Authenticate(mechanism=name,
                                          initial_response=initial if sasl_ir else None))
        tag = self.conn.last_tag
        pending_initial = None if sasl_ir else initial
        rounds = 0
        while True:
            event = yield from self._read()
            if isinstance(event, ContinuationRequest):
                rounds += 1
                try:
                    if rounds > _MAX_SASL_ROUNDS:
                        raise SASLError("too many challenges")
                    if pending_initial is not None:
                        # No SASL-IR: the initial response answers the empty
                        # first challenge ("=" is SASL-IR's spelling of empty).
                        answer = "" if pending_initial == "=" else pending_initial
                        pending_initial = None
                    else:
                        answer = mech.respond(event.text)
                except SASLError as exc:
                    yield self.conn.send(AuthenticateData(cancelled=True))
                    final = yield from self._read_tagged(tag)
                    raise IMAPAuthenticationError(final.status, f"{exc} ({final.text})",
                                                  final.code, f"AUTHENTICATE {name}") from exc
                yield self.conn.send(AuthenticateData(data=answer))
                continue
            if isinstance(event, StatusResponse) and event.tag == tag:
                if event.status != "OK":
                    detail = getattr(mech, "error", None)
                    text = event.text + (f" [{detail}]" if detail else "")
                    raise IMAPAuthenticationError(event.status, text, event.code,
                                                  f"AUTHENTICATE {name}")
                yield from self._after_login(user, event, before)
                return event
            self.updates.append(event)

    def _read_tagged(self, tag: str) -> Step[StatusResponse]:
        while True:
            event = yield from self._read()
            if isinstance(event, StatusResponse) and event.tag == tag:
                return event
            self.updates.append(event)

    def noop(self) -> Step[list[Response]]:
        """NOOP: returns the untagged responses it brought (mailbox updates)."""
        _, got = yield from self.command(Noop(), keep=(Response,))
        return got

    def logout(self) -> Step[None]:
        """LOGOUT; errors are swallowed (the connection is closed either way)."""
        if self.conn.state is State.LOGOUT or self.conn.pending:
            return
        with contextlib.suppress(IMAPError):
            yield from self.command(Logout())

    def namespace(self) -> Step[Namespaces]:
        """NAMESPACE (RFC 2342)."""
        self._require("NAMESPACE", "NAMESPACE")
        _, got = yield from self.command(Namespace(), keep=(NamespaceResponse,))
        for event in got:
            assert isinstance(event, NamespaceResponse)
            return Namespaces(personal=event.personal, other=event.other, shared=event.shared)
        return Namespaces()

    def id(self, params: dict[str, str | None] | None) -> Step[dict[str, str | None] | None]:
        """ID (RFC 2971): send ours, return the server's."""
        self._require("ID", "ID")
        _, got = yield from self.command(Id(params=params), keep=(IdResponse,))
        for event in got:
            assert isinstance(event, IdResponse)
            return event.params
        return None

    def enable(self, capabilities: tuple[str, ...]) -> Step[frozenset[str]]:
        """ENABLE (RFC 5161): returns what the server enabled."""
        self._require("ENABLE", "ENABLE")
        if not capabilities:
            raise ValueError("name at least one capability to enable")
        _, got = yield from self.command(Enable(capabilities=capabilities),
                                         keep=(EnabledResponse,))
        out: set[str] = set()
        for event in got:
            assert isinstance(event, EnabledResponse)
            out |= {c.upper() for c in event.capabilities}
        return frozenset(out)

