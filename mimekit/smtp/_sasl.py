"""SASL mechanisms for AUTH, both sides, sans-I/O (RFC 4422 framework).

Everything here works on the base64 text that travels on the wire, as SMTP
``AUTH`` (RFC 4954), IMAP ``AUTHENTICATE`` and POP3 ``AUTH`` carry it, so an
adapter passes lines through without decoding them itself.

**Client side.** :func:`client_mechanism` makes a :class:`SaslClient`;
``initial_response()`` gives the optional initial response (``"="`` is an
empty one, None means "send none") and ``respond(challenge)`` answers each
334 challenge::

    mech = client_mechanism("PLAIN", "alice", "secret")
    send(Auth(mechanism=mech.mechanism, initial_response=mech.initial_response()))
    while reply.code == 334:
        send(AuthResponse(data=mech.respond(reply.lines[0])))

:func:`choose_mechanism` picks the best mechanism a server offers, under a
plaintext policy: PLAIN, LOGIN and XOAUTH2 put the secret on the wire in
clear, so they are picked only when the channel is protected (``tls=True``;
the clients also pass True on loopback or with ``allow_insecure_auth``).

**Server side.** :func:`server_mechanism` makes a :class:`SaslServer`; feed
it the ``Auth.initial_response`` first (None when absent), then each
``AuthResponse.data`` (``"*"`` for a cancelled exchange)::

    mech = server_mechanism("PLAIN")
    step = mech.step(event.initial_response)
    if isinstance(step, Challenge):   reply 334 step.challenge
    elif isinstance(step, Failure):   reply step.code step.enhanced step.error
    else:                             check step.username / step.password (Credentials)

Every step result has the attributes ``challenge``, ``error``, ``username``
and ``password`` (None where they do not apply), so a server may also test
``step.challenge is not None`` instead of the class. The server mechanisms
do not check passwords: the application does, with whatever store it has.
Unknown mechanism names give a mechanism whose first step is a ``504``
failure. CRAM-MD5 is available (:class:`ServerCramMD5`), but it yields
:class:`CramMD5Credentials` to verify against a *plaintext* password, so it
is not in :func:`server_mechanisms` (servers that store password hashes
cannot offer it).

Deviation: RFC 4616 asks for SASLprep (RFC 4013) of user names and
passwords; like most implementations (smtplib, Dovecot's client side) we send
and accept the UTF-8 text as given, without normalization.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import os
import time
from dataclasses import dataclass

from .._saslprep import saslprep
from ._errors import SMTPNotSupportedError
from ._events import Reply

__all__ = [
    "CLIENT_PREFERENCE",
    "Challenge",
    "CramMD5Credentials",
    "Credentials",
    "Failure",
    "SASLError",
    "SaslClient",
    "SaslServer",
    "SaslStep",
    "ServerCramMD5",
    "ServerLogin",
    "ServerPlain",
    "choose_mechanism",
    "client_mechanism",
    "decode_base64",
    "encode_base64",
    "server_mechanism",
    "server_mechanisms",
]

#: Mechanisms a client picks, best first (XOAUTH2 only when given a token).
#: CRAM-MD5 never reveals the password, so it comes before the plaintext ones.
CLIENT_PREFERENCE = ("CRAM-MD5", "PLAIN", "LOGIN")
#: Mechanisms that put the secret on the wire readable by an eavesdropper.
PLAINTEXT_MECHANISMS = frozenset({"PLAIN", "LOGIN", "XOAUTH2"})
#: RFC 4616 section 2: a server MUST accept 255 octets per item; we accept
#: more, but bound it so a client cannot make us hold arbitrary data.
MAX_ITEM = 1024


class SASLError(ValueError):
    """A SASL message could not be built or read (bad base64, bad challenge)."""


def encode_base64(data: bytes) -> str:
    """Base64 for the wire; an empty response is ``"="`` (RFC 4954 section 4)."""
    return base64.b64encode(data).decode("ascii") if data else "="


def decode_base64(text: str) -> bytes:
    """Decode base64 from the wire, strictly; ``"="`` and ``""`` are empty.

    Raises:
        SASLError: the text is not canonical base64.
    """
    text = text.strip()
    if text in ("", "="):
        return b""
    try:
        return binascii.a2b_base64(text.encode("ascii"), strict_mode=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise SASLError(f"not valid base64: {text[:40]!r}") from exc


# -- client side ------------------------------------------------------------------------


class SaslClient:
    """A client mechanism: the initial response, then one answer per challenge."""

    mechanism = ""

    def initial_response(self) -> str | None:
        """The base64 initial response (``"="`` for empty), or None for none."""
        return None

    def respond(self, challenge: str) -> str:
        """Answer a 334 challenge (base64 text in, base64 text out).

        Raises:
            SASLError: the challenge makes no sense for this mechanism; the
                caller should cancel the exchange (send ``*``).
        """
        raise SASLError(f"{self.mechanism}: unexpected challenge {challenge[:40]!r}")


def _prepared(text: str) -> str:
    """``text`` prepared by SASLprep, or as given when SASLprep refuses it
    (right-to-left text with digits, say): many servers do not prepare
    passwords at all, and the user should still be able to log in to them."""
    try:
        return saslprep(text, allow_unassigned=True)
    except ValueError:
        return text


class _ClientPlain(SaslClient):
    """RFC 4616: ``message = [authzid] UTF8NUL authcid UTF8NUL passwd``."""

    mechanism = "PLAIN"

    def __init__(self, user: str, password: str, authzid: str = "") -> None:
        for what, value in (("user", user), ("password", password), ("authzid", authzid)):
            if "\x00" in value:
                raise ValueError(f"PLAIN: the {what} contains NUL")
        # RFC 4616 section 2: the client prepares them with SASLprep.
        user, password, authzid = (_prepared(v) for v in (user, password, authzid))
        if not user or not password:
            raise ValueError("PLAIN: user and password must not be empty (RFC 4616)")
        self._message = f"{authzid}\x00{user}\x00{password}".encode()

    def initial_response(self) -> str | None:
        return encode_base64(self._message)

    def respond(self, challenge: str) -> str:
        # A server that ignores initial responses sends an empty challenge.
        if decode_base64(challenge):
            return super().respond(challenge)
        return encode_base64(self._message)


class _ClientLogin(SaslClient):
    """The LOGIN mechanism (draft-murchison-sasl-login): user, then password,
    each answering a prompt ("Username:", "Password:")."""

    mechanism = "LOGIN"

    def __init__(self, user: str, password: str) -> None:
        # As for PLAIN: the same strings, prepared the same way.
        self._answers = [_prepared(v).encode() for v in (user, password)]
        self._sent = 0

    def respond(self, challenge: str) -> str:
        prompt = decode_base64(challenge).lower()
        # Servers localize the prompts; when the prompt names neither, go by order.
        if b"user" in prompt:
            index = 0
        elif b"pass" in prompt:
            index = 1
        elif self._sent < 2:
            index = self._sent
        else:
            return super().respond(challenge)
        self._sent = index + 1
        return encode_base64(self._answers[index])


class _ClientCramMD5(SaslClient):
    """RFC 2195: ``user SP hex(HMAC-MD5(password, challenge))``."""

    mechanism = "CRAM-MD5"

    def __init__(self, user: str, password: str) -> None:
        self._user = user
        self._password = password.encode()
        self._answered = False

    def respond(self, challenge: str) -> str:
        data = decode_base64(challenge)
        if self._answered or not data:
            return super().respond(challenge)
        self._answered = True
        digest = hmac.new(self._password, data, "md5").hexdigest()
        return encode_base64(f"{self._user} {digest}".encode())


class _ClientXOAuth2(SaslClient):
    """Google's and Microsoft's XOAUTH2: ``user=U^Aauth=Bearer T^A^A``.

    A failure comes as a 334 challenge holding a JSON error; the client must
    answer it with an empty line, and the server then sends the final 5xx.
    The decoded JSON is kept in :attr:`error`.
    """

    mechanism = "XOAUTH2"

    def __init__(self, user: str, token: str) -> None:
        if any(c in user + token for c in "\x00\x01\r\n"):
            raise ValueError("XOAUTH2: user or token contains a control character")
        self._message = f"user={user}\x01auth=Bearer {token}\x01\x01".encode()
        self.error: dict[str, object] | None = None

    def initial_response(self) -> str | None:
        return encode_base64(self._message)

    def respond(self, challenge: str) -> str:
        data = decode_base64(challenge)
        try:
            parsed = json.loads(data) if data else {}
        except ValueError:
            parsed = {"raw": data.decode("utf-8", "replace")}
        self.error = parsed if isinstance(parsed, dict) else {"error": parsed}
        return ""  # the empty line that lets the server send its final reply


def client_mechanism(mechanism: str, user: str, password: str | None = None, *,
                     token: str | None = None, authzid: str = "") -> SaslClient:
    """A client mechanism by name.

    Args:
        mechanism: ``PLAIN``, ``LOGIN``, ``CRAM-MD5`` or ``XOAUTH2`` (any case).
        user: The authentication identity.
        password: The password (all but XOAUTH2).
        token: The OAuth 2.0 bearer token (XOAUTH2).
        authzid: PLAIN only: act as this identity (RFC 4616); empty for none.

    Raises:
        ValueError: a needed secret is missing, or contains NUL.
        SMTPNotSupportedError: we do not implement the mechanism.
    """
    name = mechanism.upper()
    if name == "XOAUTH2":
        if token is None:
            raise ValueError("XOAUTH2 needs a token")
        return _ClientXOAuth2(user, token)
    if password is None:
        raise ValueError(f"{name} needs a password")
    if name == "PLAIN":
        return _ClientPlain(user, password, authzid)
    if name == "LOGIN":
        return _ClientLogin(user, password)
    if name == "CRAM-MD5":
        return _ClientCramMD5(user, password)
    raise SMTPNotSupportedError(f"SASL mechanism {mechanism!r} is not implemented")


def choose_mechanism(offered: str, *, tls: bool, have_token: bool) -> str:
    """Pick the best mechanism from an ``AUTH`` extension's list.

    Order: XOAUTH2 when a token is given (and only then), else CRAM-MD5,
    PLAIN, LOGIN. Mechanisms that send the secret in clear (PLAIN, LOGIN,
    XOAUTH2) are picked only when ``tls`` is True.

    Args:
        offered: The mechanisms, space-separated (``"PLAIN LOGIN"``).
        tls: The channel is protected, or the caller accepts clear text (the
            clients pass True under TLS, on loopback, or with
            ``allow_insecure_auth=True``).
        have_token: The caller has an OAuth 2.0 token rather than a password.

    Raises:
        SMTPNotSupportedError: nothing offered is usable; the message says why.
    """
    names = {n.upper() for n in offered.split()}
    wanted = ("XOAUTH2",) if have_token else CLIENT_PREFERENCE
    usable = [m for m in wanted if m in names]
    for mech in usable:
        if tls or mech not in PLAINTEXT_MECHANISMS:
            return mech
    if usable:
        raise SMTPNotSupportedError(
            f"the server offers only {' '.join(usable)} without TLS, which would send the "
            "secret in clear text; use TLS (tls='starttls' or 'implicit') or pass "
            "allow_insecure_auth=True")
    raise SMTPNotSupportedError(
        f"no usable AUTH mechanism: the server offers {offered or 'none'!s}, "
        f"we can use {' '.join(wanted)}")


# -- server side ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class SaslStep:
    """What a server mechanism's step produced. Use a subclass's meaning:
    :class:`Challenge`, :class:`Credentials`, :class:`CramMD5Credentials` or
    :class:`Failure`; the attributes that do not apply are None.

    Attributes:
        challenge: The base64 text of a 334 challenge (``""`` for empty).
        error: The reason of a failure, for the reply text.
        code: The reply code of a failure (501, 504...).
        enhanced: The RFC 3463 code of a failure.
        authzid: The authorization identity (PLAIN), ``""`` if none was given.
        username: The authentication identity.
        password: The password (PLAIN, LOGIN).
    """

    challenge: str | None = None
    error: str | None = None
    code: int | None = None
    enhanced: tuple[int, int, int] | None = None
    authzid: str | None = None
    username: str | None = None
    password: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Challenge(SaslStep):
    """Send ``334 <challenge>`` and feed the client's answer to ``step``."""

    @property
    def reply(self) -> Reply:
        """The 334 reply to send."""
        return Reply(code=334, lines=(self.challenge or "",))


@dataclass(frozen=True, slots=True, kw_only=True)
class Credentials(SaslStep):
    """The exchange is complete: check ``username``/``password`` (and
    decide whether ``username`` may act as ``authzid`` when that is set)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CramMD5Credentials(SaslStep):
    """CRAM-MD5 is complete: call :meth:`verify` with the user's plaintext password.

    Attributes:
        nonce: The challenge we sent (decoded).
        digest: The lower-case hex digest the client sent.
    """

    nonce: bytes = b""
    digest: str = ""

    def verify(self, password: str) -> bool:
        """Whether the digest matches ``password`` (constant time)."""
        expected = hmac.new(password.encode(), self.nonce, "md5").hexdigest()
        return hmac.compare_digest(expected, self.digest)


@dataclass(frozen=True, slots=True, kw_only=True)
class Failure(SaslStep):
    """The exchange failed: send :attr:`reply` (a 5xx), and it is over."""

    @property
    def reply(self) -> Reply:
        """The failure reply to send."""
        return Reply(code=self.code or 501, lines=(self.error or "authentication failed",),
                     enhanced=self.enhanced)


def _failure(code: int, enhanced: tuple[int, int, int], text: str) -> Failure:
    return Failure(code=code, enhanced=enhanced, error=text)


_CANCELLED = _failure(501, (5, 0, 0), "authentication cancelled")


def _undecodable(mechanism: str) -> Failure:
    return _failure(501, (5, 5, 2), f"{mechanism}: cannot decode response")


def _text(data: bytes) -> str | None:
    """UTF-8 text of one SASL item, or None when invalid or too long."""
    if len(data) > MAX_ITEM:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


class SaslServer:
    """A server mechanism: call :meth:`step` with the initial response
    (None if absent), then with each client line, until it returns
    something other than a :class:`Challenge`."""

    mechanism = ""

    def __init__(self) -> None:
        self.done = False

    def step(self, data: str | None) -> SaslStep:
        """Advance the exchange with the client's base64 text (``"*"`` cancels).

        Raises:
            RuntimeError: the exchange is already over (an adapter bug).
        """
        if self.done:
            raise RuntimeError(f"{self.mechanism}: the exchange is already over")
        if data is not None and data.strip() == "*":
            result: SaslStep = _CANCELLED
        else:
            result = self._step(data)
        if not isinstance(result, Challenge):
            self.done = True
        return result

    def _step(self, data: str | None) -> SaslStep:
        raise NotImplementedError


class ServerPlain(SaslServer):
    """RFC 4616 PLAIN, server side.

    ABNF (RFC 4616 section 2)::

        message   = [authzid] UTF8NUL authcid UTF8NUL passwd
        authcid   = 1*SAFE ; MUST accept up to 255 octets
        authzid   = 1*SAFE ; MUST accept up to 255 octets
        passwd    = 1*SAFE ; MUST accept up to 255 octets
        SAFE      = UTF1 / UTF2 / UTF3 / UTF4   ; any UTF-8 except NUL

    Without an initial response, the first step is an empty challenge.
    """

    mechanism = "PLAIN"

    def __init__(self) -> None:
        super().__init__()
        self._asked = False

    def _step(self, data: str | None) -> SaslStep:
        if data is None:
            if self._asked:
                return _undecodable("PLAIN")
            self._asked = True
            return Challenge(challenge="")
        try:
            raw = decode_base64(data)
        except SASLError:
            return _undecodable("PLAIN")
        items = raw.split(b"\x00")
        if len(items) != 3:
            return _failure(501, (5, 5, 2), "PLAIN: expected authzid NUL authcid NUL passwd")
        authzid, user, password = (_text(i) for i in items)
        if authzid is None or user is None or password is None:
            return _failure(501, (5, 5, 2), "PLAIN: not UTF-8, or too long")
        if not user or not password:
            return _failure(501, (5, 5, 2), "PLAIN: empty user or password")
        return Credentials(authzid=authzid, username=user, password=password)


class ServerLogin(SaslServer):
    """LOGIN, server side: prompts ``Username:`` and ``Password:``.

    An initial response (``AUTH LOGIN dXNlcg==``, sent by some clients) is
    the user name.
    """

    mechanism = "LOGIN"
    USER_PROMPT = encode_base64(b"Username:")
    PASSWORD_PROMPT = encode_base64(b"Password:")

    def __init__(self) -> None:
        super().__init__()
        self._user: str | None = None
        self._started = False

    def _step(self, data: str | None) -> SaslStep:
        first = not self._started
        self._started = True
        if first and data is None:
            return Challenge(challenge=self.USER_PROMPT)
        if data is None:
            return _undecodable("LOGIN")
        try:
            text = _text(decode_base64(data))
        except SASLError:
            return _undecodable("LOGIN")
        if text is None or "\x00" in text:
            return _failure(501, (5, 5, 2), "LOGIN: not UTF-8, or too long")
        if self._user is None:
            self._user = text
            return Challenge(challenge=self.PASSWORD_PROMPT)
        return Credentials(authzid="", username=self._user, password=text)


class ServerCramMD5(SaslServer):
    """RFC 2195 CRAM-MD5, server side: a ``<nonce.time@host>`` challenge,
    then ``user SP 32 lower-case hex digits``.

    Args:
        hostname: The host name in the challenge (any text without spaces).
        nonce: The challenge to use (for tests); random by default.
    """

    mechanism = "CRAM-MD5"

    def __init__(self, hostname: str = "localhost", nonce: bytes | None = None) -> None:
        super().__init__()
        self.nonce = nonce or (
            f"<{int.from_bytes(os.urandom(8), 'big')}.{int(time.time())}@{hostname}>".encode())
        self._sent = False

    def _step(self, data: str | None) -> SaslStep:
        if not self._sent:
            if data is not None:
                # RFC 2195 has no initial response (RFC 4954 section 4: 501).
                return _failure(501, (5, 5, 2), "CRAM-MD5 takes no initial response")
            self._sent = True
            return Challenge(challenge=encode_base64(self.nonce))
        if data is None:
            return _undecodable("CRAM-MD5")
        try:
            text = _text(decode_base64(data))
        except SASLError:
            return _undecodable("CRAM-MD5")
        user, _, digest = (text or "").rpartition(" ")
        if not user or len(digest) != 32 or any(c not in "0123456789abcdef" for c in digest):
            return _failure(501, (5, 5, 2), "CRAM-MD5: expected 'user digest'")
        return CramMD5Credentials(authzid="", username=user, nonce=self.nonce, digest=digest)


class _Unsupported(SaslServer):
    def __init__(self, name: str) -> None:
        super().__init__()
        self.mechanism = name

    def _step(self, data: str | None) -> SaslStep:
        return _failure(504, (5, 5, 4), f"unrecognized authentication type {self.mechanism}")


_SERVER: dict[str, type[SaslServer]] = {"PLAIN": ServerPlain, "LOGIN": ServerLogin}


def server_mechanisms() -> tuple[str, ...]:
    """The mechanisms :func:`server_mechanism` serves with a password result
    (safe to advertise by a server that checks passwords): PLAIN, LOGIN."""
    return tuple(_SERVER)


def server_mechanism(mechanism: str, *, hostname: str = "localhost") -> SaslServer:
    """A fresh server mechanism by name (any case).

    ``CRAM-MD5`` is served too (see :class:`ServerCramMD5`). Any other name
    gives a mechanism whose first step is a ``504 5.5.4`` :class:`Failure`.
    """
    name = mechanism.upper()
    if name == "CRAM-MD5":
        return ServerCramMD5(hostname)
    cls = _SERVER.get(name)
    return cls() if cls is not None else _Unsupported(name)
