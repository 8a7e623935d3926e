"""What the SMTP clients do, written once for the sync and the asyncio client.

Each operation (greeting and EHLO, STARTTLS, AUTH, a mail transaction...)
is a generator over one :class:`~._connection.ClientConnection`. It yields
I/O requests and gets their results back:

* ``bytes``: write them (the result is None);
* :data:`READ`: read until the core has the next :class:`Reply`, and send
  it back (a closed connection is *thrown* into the generator as
  :class:`SMTPServerDisconnected`, a timeout as :class:`SMTPTimeoutError`);
* :data:`START_TLS`: do the TLS handshake on the socket (STARTTLS).

:class:`~._client.SMTPClient` and :class:`~._async_client.AsyncSMTPClient`
only carry these requests out (:func:`run` and its async twin), so the
decisions (pipelining, BDAT, refusals, RSET after a failure) are the same
in both by construction (DESIGN.md convention 6).
"""

from __future__ import annotations

import contextlib
import ipaddress
import ssl
from collections.abc import Generator, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .._client_driver import READ, START_TLS, DriverSpec, Request, T
from .._guard import is_loopback
from ._connection import NEED_DATA, ClientConnection
from ._errors import (
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
    ConnectionClosed,
    Data,
    Ehlo,
    EndOfMessage,
    Helo,
    Mail,
    MessageData,
    Noop,
    Quit,
    Rcpt,
    Reply,
    Rset,
    StartTLS,
)
from ._outgoing import DSN, OutgoingMessage, canonical_chunks, normalize_options, prepare, xtext
from ._sasl import PLAINTEXT_MECHANISMS, SASLError, choose_mechanism, client_mechanism
from ._states import State

__all__ = [
    "CHUNK_SIZE",
    "READ",
    "START_TLS",
    "ClientBase",
    "ClientSession",
    "Request",
    "SendResult",
    "DRIVER_SPEC",
    "Step",
    "ehlo_name",
]


#: An operation: yields requests, receives a Reply (for READ) or None.
Step = Generator[Request, "Reply | None", T]

#: Content is read and sent in pieces of this size (and BDAT chunks are
#: about this big): bounded memory for messages of any size.
CHUNK_SIZE = 1 << 20
#: Below this, a BDAT command and its chunk go out in one write.
_SMALL = 1 << 16
#: More 334 challenges than any mechanism we speak needs.
_MAX_SASL_ROUNDS = 8


@dataclass(frozen=True, slots=True, kw_only=True)
class SendResult:
    """The outcome of :meth:`SMTPClient.send`: the message was accepted for
    at least one recipient.

    Attributes:
        sender: The envelope sender used.
        accepted: ``{recipient: Reply}`` for each accepted recipient.
        refused: ``{recipient: Reply}`` for each refused one (a partial
            refusal is not an exception).
        reply: The server's final reply (to the end of DATA or BDAT LAST).
        message_id: The message's Message-ID (without angle brackets), or None.
        size: The content size in octets, CRLF line endings.
        chunking: The content went with BDAT (RFC 3030) rather than DATA.
        dsn: DSN parameters were sent (the server offers DSN).
    """

    sender: str
    accepted: dict[str, Reply] = field(default_factory=dict)
    refused: dict[str, Reply] = field(default_factory=dict)
    reply: Reply
    message_id: str | None = None
    size: int = 0
    chunking: bool = False
    dsn: bool = False


def _size_limit(value: str) -> int | None:
    """RFC 1870: ``SIZE [number]``; absent or 0 means no fixed limit."""
    digits = value.split()[0] if value.split() else ""
    return int(digits) if digits.isdigit() and int(digits) > 0 else None


class ClientSession:
    """The client's state over one connection, and its operations as generators.

    Args:
        local_hostname: The name for EHLO/HELO.
        allow_insecure_auth: Allow PLAIN/LOGIN/XOAUTH2 without TLS even to a
            server that is not on loopback.
        chunking: Use BDAT when the server offers CHUNKING.
    """

    def __init__(self, local_hostname: str, *, allow_insecure_auth: bool = False,
                 chunking: bool = True) -> None:
        self.conn = ClientConnection()
        self.local_hostname = local_hostname
        self.allow_insecure_auth = allow_insecure_auth
        self.chunking = chunking
        #: The connection is encrypted (implicit TLS, or after STARTTLS).
        self.tls = False
        #: The server is on a loopback address (set by the adapter).
        self.loopback = False
        #: The user we authenticated as, or None.
        self.authenticated: str | None = None
        #: The reply to the last EHLO (or HELO).
        self.ehlo_reply: Reply | None = None

    @property
    def extensions(self) -> dict[str, str]:
        """The extensions the last EHLO offered (keyword -> parameters)."""
        return self.conn.extensions

    # -- helpers --------------------------------------------------------------

    def _read(self) -> Step[Reply]:
        reply = yield READ
        assert isinstance(reply, Reply)
        if reply.code == 421:
            # The server is closing the session (RFC 5321 section 3.8).
            raise SMTPReplyError(reply.code, reply.text, reply.enhanced, "421")
        return reply

    def _command(self, event: Any, verb: str) -> Step[Reply]:
        """Send one command, read its reply, raise on a refusal."""
        yield self.conn.send(event)
        reply = yield from self._read()
        if not (reply.is_positive or reply.is_intermediate):
            raise SMTPReplyError(reply.code, reply.text, reply.enhanced, verb)
        return reply

    def _require_ready(self) -> None:
        state = self.conn.state
        if state is State.CLOSED:
            raise SMTPServerDisconnected("not connected")
        if state is not State.READY or self.conn.waiting:
            raise SMTPError(f"the session is not ready for a command (state {state.value}); "
                            "connect() first")

    def _reset(self) -> Step[None]:
        """RSET after a failed transaction, so the connection stays usable.
        A failure here must not hide the error being reported, so it is
        swallowed (a dead connection shows on the next command)."""
        if self.conn.state is State.CLOSED:
            return
        with contextlib.suppress(SMTPError):
            yield self.conn.send(Rset())
            yield from self._read()

    # -- session ----------------------------------------------------------------

    def greet(self) -> Step[Reply]:
        """Read the greeting (220) and send EHLO."""
        greeting = yield from self._read()
        if greeting.code != 220:
            raise SMTPReplyError(greeting.code, greeting.text, greeting.enhanced, "greeting")
        return (yield from self.ehlo())

    def ehlo(self) -> Step[Reply]:
        """EHLO, falling back to HELO when the server refuses EHLO (RFC 5321
        section 4.1.4: a server that does not know EHLO answers 500 or 502)."""
        yield self.conn.send(Ehlo(domain=self.local_hostname))
        reply = yield from self._read()
        if not reply.is_positive and reply.is_permanent:
            yield self.conn.send(Helo(domain=self.local_hostname))
            reply = yield from self._read()
        if not reply.is_positive:
            raise SMTPReplyError(reply.code, reply.text, reply.enhanced, "EHLO")
        self.ehlo_reply = reply
        return reply

    def starttls(self) -> Step[Reply]:
        """STARTTLS (RFC 3207), the handshake, and EHLO again: the extensions
        offered before TLS are forgotten (section 4.2) and read anew."""
        if self.tls:
            raise SMTPError("TLS is already active")
        if "STARTTLS" not in self.extensions:
            raise SMTPNotSupportedError("the server does not offer STARTTLS")
        yield from self._command(StartTLS(), "STARTTLS")
        yield START_TLS
        self.conn.tls_established()
        self.tls = True
        return (yield from self.ehlo())

    def simple(self, name: str) -> Step[Reply]:
        """NOOP or RSET."""
        if self.conn.state is State.CLOSED:
            raise SMTPServerDisconnected("not connected")
        event = Noop() if name == "NOOP" else Rset()
        return (yield from self._command(event, name))

    def quit(self) -> Step[Reply | None]:
        """QUIT; errors are swallowed (the connection is closed either way)."""
        if self.conn.state is State.CLOSED or self.conn.waiting:
            return None
        try:
            yield self.conn.send(Quit())
            return (yield from self._read())
        except SMTPError:
            return None

    # -- AUTH ---------------------------------------------------------------------

    def login(self, user: str, password: str | None = None, *, mechanism: str | None = None,
              token: str | None = None, authzid: str = "") -> Step[Reply]:
        """AUTH (RFC 4954) with the best offered mechanism, or the one named.

        Raises:
            SMTPNotSupportedError: no AUTH, no usable mechanism, or a
                plaintext mechanism without TLS off loopback (see
                :func:`~._sasl.choose_mechanism`).
            SMTPAuthenticationError: the server refused.
        """
        self._require_ready()
        offered = self.extensions.get("AUTH")
        if offered is None:
            hint = (" before STARTTLS (use tls='starttls')"
                    if "STARTTLS" in self.extensions and not self.tls else "")
            raise SMTPNotSupportedError(f"the server does not offer AUTH{hint}")
        secure = self.tls or self.loopback or self.allow_insecure_auth
        if mechanism is None:
            name = choose_mechanism(offered, tls=secure, have_token=token is not None)
        else:
            name = mechanism.upper()
            if name not in offered.upper().split():
                raise SMTPNotSupportedError(f"the server does not offer AUTH {name} "
                                            f"(it offers {offered})")
            if name in PLAINTEXT_MECHANISMS and not secure:
                raise SMTPNotSupportedError(
                    f"AUTH {name} would send the secret in clear text without TLS; use TLS "
                    "or pass allow_insecure_auth=True")
        mech = client_mechanism(name, user, password, token=token, authzid=authzid)
        yield self.conn.send(Auth(mechanism=name, initial_response=mech.initial_response()))
        reply = yield from self._read()
        rounds = 0
        while reply.code == 334:
            rounds += 1
            try:
                if rounds > _MAX_SASL_ROUNDS:
                    raise SASLError("too many challenges")
                response = mech.respond(reply.lines[0] if reply.lines else "")
            except SASLError as exc:
                # RFC 4954 section 4: "*" cancels; the server answers 501.
                yield self.conn.send(AuthResponse(data="", cancelled=True))
                final = yield from self._read()
                raise SMTPAuthenticationError(final.code, f"{exc} ({final.text})",
                                              final.enhanced, f"AUTH {name}") from exc
            yield self.conn.send(AuthResponse(data=response))
            reply = yield from self._read()
        if not reply.is_positive:
            detail = getattr(mech, "error", None)
            text = reply.text + (f" [{detail}]" if detail else "")
            raise SMTPAuthenticationError(reply.code, text, reply.enhanced, f"AUTH {name}")
        self.authenticated = user
        return reply

    # -- sending ----------------------------------------------------------------

    def _mail_params(self, out: OutgoingMessage, options: dict[str, str | None],
                     dsn: DSN | None) -> dict[str, str | None]:
        ext = self.extensions
        params = dict(options)
        if out.needs_smtputf8:
            if "SMTPUTF8" not in ext:
                raise SMTPNotSupportedError(
                    "the message needs SMTPUTF8 (UTF-8 in an address or in the header "
                    "fields) and the server does not offer it (RFC 6531)")
            params["SMTPUTF8"] = None
        if out.eight_bit:
            if "8BITMIME" not in ext:
                raise SMTPNotSupportedError(
                    "the message has 8-bit content and the server does not offer 8BITMIME "
                    "(RFC 6152); encode the parts with quoted-printable or base64")
            params.setdefault("BODY", "8BITMIME")
        if "SIZE" in ext:
            limit = _size_limit(ext["SIZE"])
            if limit is not None and out.size > limit:
                raise SMTPSizeError(out.size, limit)
            params["SIZE"] = str(out.size)
        if dsn is not None and "DSN" in ext:
            if dsn.ret:
                params["RET"] = dsn.ret
            if dsn.envid:
                params["ENVID"] = xtext(dsn.envid)
        return params

    def _rcpt_params(self, recipient: str, options: dict[str, str | None],
                     dsn: DSN | None) -> dict[str, str | None]:
        params = dict(options)
        if dsn is not None and "DSN" in self.extensions:
            if dsn.notify:
                params["NOTIFY"] = ",".join(dsn.notify)
            if dsn.orcpt:
                # RFC 6533: with SMTPUTF8 the address type is utf-8.
                kind = "rfc822" if recipient.isascii() else "utf-8"
                params["ORCPT"] = f"{kind};{xtext(recipient)}"
        return params

    def send(self, message: Any, sender: str | None = None,
             recipients: Iterable[Any] | str | None = None, *,
             mail_options: Mapping[str, str | None] | Iterable[str] | None = None,
             rcpt_options: Mapping[str, str | None] | Iterable[str] | None = None,
             dsn: DSN | None = None) -> Step[SendResult]:
        """One mail transaction; see :meth:`SMTPClient.send` for the rules."""
        self._require_ready()
        out = prepare(message, sender, recipients)
        mail = Mail(sender=out.sender,
                    params=self._mail_params(out, normalize_options(mail_options), dsn))
        rcpt_opts = normalize_options(rcpt_options)
        rcpts = [Rcpt(recipient=r, params=self._rcpt_params(r, rcpt_opts, dsn))
                 for r in out.recipients]
        bdat = self.chunking and "CHUNKING" in self.extensions
        try:
            accepted, refused = yield from self._envelope(mail, rcpts, bdat)
            if bdat:
                final = yield from self._send_bdat(out)
            else:
                final = yield from self._send_data(out)
        except SMTPReplyError as exc:
            if exc.code != 421:
                yield from self._reset()
            raise
        return SendResult(sender=out.sender, accepted=accepted, refused=refused, reply=final,
                          message_id=out.message_id, size=out.size, chunking=bdat,
                          dsn=dsn is not None and "DSN" in self.extensions)

    def _envelope(self, mail: Mail, rcpts: list[Rcpt], bdat: bool
                  ) -> Step[tuple[dict[str, Reply], dict[str, Reply]]]:
        """MAIL, RCPT... (and DATA unless BDAT): one write with PIPELINING
        (RFC 2920; DATA ends the batch), else one command at a time."""
        accepted: dict[str, Reply] = {}
        refused: dict[str, Reply] = {}
        conn = self.conn
        if "PIPELINING" in self.extensions:
            batch = [conn.send(mail), *(conn.send(r) for r in rcpts)]
            if not bdat:
                batch.append(conn.send(Data()))
            yield b"".join(batch)
            mail_reply = yield from self._read()
            for rcpt in rcpts:
                reply = yield from self._read()
                (accepted if reply.is_positive else refused)[rcpt.recipient] = reply
            data_reply = None if bdat else (yield from self._read())
        else:
            yield conn.send(mail)
            mail_reply = yield from self._read()
            data_reply = None
            if mail_reply.is_positive:
                for rcpt in rcpts:
                    yield conn.send(rcpt)
                    reply = yield from self._read()
                    (accepted if reply.is_positive else refused)[rcpt.recipient] = reply
        if not mail_reply.is_positive:
            raise SMTPSenderRefused(mail_reply.code, mail_reply.text, mail_reply.enhanced,
                                    f"MAIL FROM:<{mail.sender}>")
        if not accepted:
            raise SMTPRecipientsRefused({r: (rep.code, rep.enhanced, rep.text)
                                         for r, rep in refused.items()})
        if not bdat:
            if data_reply is None:
                yield conn.send(Data())
                data_reply = yield from self._read()
            if data_reply.code != 354:
                raise SMTPDataError(data_reply.code, data_reply.text, data_reply.enhanced,
                                    "DATA")
        return accepted, refused

    def _send_data(self, out: OutgoingMessage) -> Step[Reply]:
        # The core canonicalizes line endings and dot-stuffs (RFC 5321 4.5.2).
        # Small pieces are gathered so that a small message and its end
        # marker leave in one write (no Nagle/delayed-ACK stall).
        pending = bytearray()
        for piece in out.chunks(CHUNK_SIZE):
            pending += self.conn.send(MessageData(data=piece))
            if len(pending) >= CHUNK_SIZE:
                yield bytes(pending)
                pending.clear()
        pending += self.conn.send(EndOfMessage())
        yield bytes(pending)
        final = yield from self._read()
        if not final.is_positive:
            raise SMTPDataError(final.code, final.text, final.enhanced, "end of DATA")
        return final

    def _send_bdat(self, out: OutgoingMessage) -> Step[Reply]:
        # RFC 3030: chunks go raw (no dot-stuffing), canonical CRLF lines.
        final: Reply | None = None
        for chunk, last in canonical_chunks(out.chunks(CHUNK_SIZE), CHUNK_SIZE):
            command = self.conn.send(Bdat(size=len(chunk), last=last))
            data = self.conn.send(MessageData(data=chunk)) if chunk else b""
            if len(data) < _SMALL:
                yield command + data
            else:
                yield command
                yield data
            final = yield from self._read()
            if not final.is_positive:
                raise SMTPDataError(final.code, final.text, final.enhanced,
                                    "BDAT LAST" if last else "BDAT")
        assert final is not None
        return final


# -- what both adapters share ---------------------------------------------------------------

_TLS_MODES = (None, "starttls", "implicit")
_DEFAULT_PORTS = {None: 25, "starttls": 587, "implicit": 465}


def ehlo_name(fqdn: str, local_address: str | None) -> str:
    """The name to greet with: the host's FQDN when it has a dot, else an
    address literal of the local end (RFC 5321 section 4.1.3), as smtplib
    does; ``localhost.localdomain``-style names say nothing to a server."""
    if "." in fqdn and fqdn.isascii() and not fqdn.startswith("localhost"):
        return fqdn
    try:
        ip = ipaddress.ip_address((local_address or "127.0.0.1").split("%")[0])
    except ValueError:
        return "[127.0.0.1]"
    return f"[IPv6:{ip}]" if ip.version == 6 else f"[{ip}]"


def make_dsn(dsn: DSN | Mapping[str, Any] | None) -> DSN | None:
    """Accept ``DSN(...)`` or a mapping of its fields (``{"notify": [...]}``)."""
    if dsn is None or isinstance(dsn, DSN):
        return dsn
    fields = dict(dsn)
    if fields.get("notify") is not None:
        notify = fields["notify"]
        fields["notify"] = (notify,) if isinstance(notify, str) else tuple(notify)
    return DSN(**fields)


#: How :mod:`mimekit._client_driver` runs this protocol's operations.
DRIVER_SPEC = DriverSpec(disconnected=SMTPServerDisconnected, timed_out=SMTPTimeoutError,
                         closed_event=ConnectionClosed, need_data=NEED_DATA, answer="reply")


class ClientBase:
    """Configuration and state both client adapters share; see
    :class:`~._client.SMTPClient` for the arguments."""

    def __init__(self, host: str = "localhost", port: int | None = None, *,
                 tls: str | None = None, ssl_context: ssl.SSLContext | None = None,
                 timeout: float | None = 30.0, local_hostname: str | None = None,
                 allow_insecure_auth: bool = False, chunking: bool = True) -> None:
        if tls not in _TLS_MODES:
            raise ValueError(f"tls must be None, 'starttls' or 'implicit', not {tls!r}")
        self.host = host
        self.port = _DEFAULT_PORTS[tls] if port is None else port
        self.tls_mode = tls
        self.timeout = timeout
        self.local_hostname = local_hostname
        self.allow_insecure_auth = allow_insecure_auth
        self.chunking = chunking
        self._ssl_context = ssl_context
        self._session: ClientSession | None = None

    def _context(self) -> ssl.SSLContext:
        # Certificates and host names are verified unless the caller passes
        # a context that does otherwise (the security default).
        if self._ssl_context is None:
            self._ssl_context = ssl.create_default_context()
        return self._ssl_context

    def _new_session(self, fqdn: str, local: str | None, peer: str | None) -> ClientSession:
        session = ClientSession(self.local_hostname or ehlo_name(fqdn, local),
                                allow_insecure_auth=self.allow_insecure_auth,
                                chunking=self.chunking)
        session.tls = self.tls_mode == "implicit"
        session.loopback = is_loopback(peer)
        return session

    def _live(self) -> ClientSession:
        if self._session is None:
            raise SMTPServerDisconnected("not connected: call connect() or use 'with'")
        return self._session

    @staticmethod
    def _keeps_connection(session: ClientSession, exc: BaseException) -> bool:
        """After an exception, is the connection still in a known, usable
        state? Only between transactions, with no reply outstanding, and not
        after a timeout, a dropped connection or garbage from the server."""
        conn = session.conn
        return (conn.state in (State.READY, State.INIT) and not conn.waiting
                and not isinstance(exc, SMTPServerDisconnected | SMTPTimeoutError
                                   | RemoteProtocolError))

    @property
    def extensions(self) -> dict[str, str]:
        """The extensions of the last EHLO: ``{"SIZE": "10240000", "PIPELINING": ""}``."""
        return dict(self._session.extensions) if self._session else {}

    @property
    def connected(self) -> bool:
        """A connection is open."""
        return self._session is not None

    @property
    def tls(self) -> bool:
        """The connection is encrypted (implicit TLS, or after STARTTLS)."""
        return self._session is not None and self._session.tls

    @property
    def authenticated(self) -> str | None:
        """The user we authenticated as, or None."""
        return self._session.authenticated if self._session else None
