"""Both POP3 clients against a scripted server on a real loopback socket.

The server (``pop3_helpers.FakeServer``) drives our own ``ServerConnection``
core in a thread and records every command, so these tests see which login
method was chosen, CAPA after STLS, timeouts, dropped connections and
misbehaving servers. Every test runs for the sync and the asyncio client.
"""

from __future__ import annotations

import io
import ssl
import tracemalloc
from pathlib import Path

import pytest
from pop3_helpers import CLIENTS, TIMESTAMP, FakeServer, Script

from mimekit.pop3 import (
    Apop,
    Auth,
    Capa,
    Dele,
    LocalProtocolError,
    Pass,
    POP3AuthenticationError,
    POP3Error,
    POP3InUseError,
    POP3NotSupportedError,
    POP3ResponseError,
    POP3ServerDisconnected,
    POP3TimeoutError,
    Quit,
    RemoteProtocolError,
    Response,
    Retr,
    Stat,
    Stls,
    User,
    apop_digest,
)
from mimekit.serve._tls import ensure_self_signed, server_context

pytestmark = pytest.mark.parametrize("kind", sorted(CLIENTS))

MSG1 = b"From: a@example.test\nSubject: first\n\n.leading dot\nline 2\n.\nlast\n"
MSG2 = b"Subject: second\r\n\r\nbody\r\n"


def client(kind: str, server: FakeServer, **kw: object):  # type: ignore[no-untyped-def]
    kw.setdefault("timeout", 5)
    return CLIENTS[kind]("127.0.0.1", server.port, **kw)


def crlf(data: bytes) -> bytes:
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


@pytest.fixture(scope="module")
def tls_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return ensure_self_signed(tmp_path_factory.mktemp("pop3tls"), "localhost")


def test_every_command(kind: str) -> None:
    with FakeServer(Script(messages=[MSG1, MSG2])) as srv, client(kind, srv) as c:
        assert c.greeting is not None and c.apop_offered
        caps = c.capabilities()
        assert caps["SASL"] == ["PLAIN", "LOGIN", "CRAM-MD5"] and "TOP" in caps
        c.login("alice", "secret")
        assert c.authenticated == "alice"
        # On loopback without TLS: AUTH PLAIN with an initial response.
        auth = next(e for e in srv.commands if isinstance(e, Auth))
        assert auth.mechanism == "PLAIN" and auth.initial_response
        size1 = len(crlf(MSG1))
        assert c.stat() == (2, size1 + len(MSG2))
        assert c.list() == [(1, size1), (2, len(MSG2))]
        assert c.list(2) == [(2, len(MSG2))]
        assert c.uidl() == [(1, "uid-1"), (2, "uid-2")]
        assert c.uidl(1) == [(1, "uid-1")]
        assert c.retrieve_bytes(1) == crlf(MSG1)  # exact, stuffing undone
        msg = c.retrieve(2)
        assert msg.subject == "second" and bytes(msg) == MSG2
        assert c.top_bytes(1, 1) == crlf(b"From: a@example.test\nSubject: first\n\n.leading dot\n")
        assert c.top(1).subject == "first"
        sink = io.BytesIO()
        assert c.retrieve_to(1, sink) == size1 and sink.getvalue() == crlf(MSG1)
        c.delete(1)
        assert c.stat() == (1, len(MSG2))
        with pytest.raises(POP3ResponseError, match="no such message"):
            c.retrieve_bytes(1)
        c.reset()
        assert c.stat()[0] == 2
        c.noop()
        c.delete(2)
        assert c.quit() == Response(ok=True, text="bye")
        assert not c.connected
    assert srv.deleted == [[2]]


def test_apop(kind: str) -> None:
    with FakeServer(Script(messages=[MSG2])) as srv, client(kind, srv) as c:
        c.login("alice", "secret", apop=True)
        (apop,) = [e for e in srv.commands if isinstance(e, Apop)]
        assert apop.digest == apop_digest(TIMESTAMP, "secret")
        assert c.stat() == (1, len(MSG2))
    no_ts = Script(greeting=Response(ok=True, text="ready"))
    with FakeServer(no_ts) as srv, client(kind, srv) as c:
        assert not c.apop_offered
        with pytest.raises(POP3NotSupportedError, match="APOP"):
            c.login("alice", "secret", apop=True)
        c.login("alice", "secret")  # still usable


def test_login_method_choice(kind: str) -> None:
    # No CAPA at all (an RFC 1939-only server): USER/PASS.
    with FakeServer(Script(capa=None)) as srv, client(kind, srv) as c:
        assert c.capabilities() == {}
        c.login("alice", "secret")
        kinds = [type(e) for e in srv.commands]
        assert User in kinds and Pass in kinds and Auth not in kinds
    # USER only.
    with FakeServer(Script(capa=("TOP", "USER"))) as srv, client(kind, srv) as c:
        c.login("alice", "secret")
        assert any(isinstance(e, User) for e in srv.commands)
    # A forced mechanism.
    with FakeServer() as srv, client(kind, srv) as c:
        c.login("alice", "secret", mechanism="login")
        assert [e.mechanism for e in srv.commands if isinstance(e, Auth)] == ["LOGIN"]
    with FakeServer() as srv, client(kind, srv) as c:
        c.login("alice", "secret", mechanism="CRAM-MD5")
        assert c.authenticated == "alice"
    with FakeServer(Script(capa=("SASL PLAIN",))) as srv, client(kind, srv) as c, \
            pytest.raises(POP3NotSupportedError, match="LOGIN"):
        c.login("alice", "secret", mechanism="LOGIN")
    with FakeServer(Script(capa=("SASL XYZ",))) as srv, client(kind, srv) as c, \
            pytest.raises(POP3NotSupportedError, match="not implemented"):
        c.login("alice", "secret", mechanism="xyz")


def test_plaintext_refused_off_loopback(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # Pretend the server is not on loopback: no password in clear.
    monkeypatch.setattr("mimekit.pop3._client_logic.is_loopback", lambda _addr: False)
    with FakeServer(Script(capa=("USER", "SASL PLAIN LOGIN", "STLS"))) as srv, \
            client(kind, srv) as c:
        with pytest.raises(POP3NotSupportedError, match="STLS"):
            c.login("alice", "secret")
        with pytest.raises(POP3NotSupportedError, match="clear text"):
            c.login("alice", "secret", mechanism="PLAIN")
        assert not any(isinstance(e, User | Pass | Auth) for e in srv.commands)
        c.login("alice", "secret", apop=True)  # APOP never sends the password
    with FakeServer() as srv, client(kind, srv) as c:
        c.login("alice", "secret")  # CRAM-MD5 hides the password: allowed
        assert [e.mechanism for e in srv.commands if isinstance(e, Auth)] == ["CRAM-MD5"]
    with FakeServer(Script(capa=None)) as srv, client(kind, srv) as c, \
            pytest.raises(POP3NotSupportedError, match="allow_insecure_auth"):
        c.login("alice", "secret")
    with FakeServer(Script(capa=None)) as srv, \
            client(kind, srv, allow_insecure_auth=True) as c:
        c.login("alice", "secret")


def test_refusals_carry_text_and_code(kind: str) -> None:
    with FakeServer() as srv, client(kind, srv) as c:
        with pytest.raises(POP3AuthenticationError) as info:
            c.login("alice", "wrong")
        assert info.value.code == "AUTH" and info.value.text == "authentication failed"
        assert "secret" not in str(info.value) and "wrong" not in str(info.value)
        assert not info.value.is_transient
        c.login("alice", "secret")  # the session is still usable
    busy = Script(login_error=Response(ok=False, text="maildrop locked", code="IN-USE"))
    with FakeServer(busy) as srv, client(kind, srv) as c:
        with pytest.raises(POP3InUseError) as locked:
            c.login("alice", "secret")
        assert locked.value.code == "IN-USE" and locked.value.is_transient
        assert str(locked.value) == "AUTH PLAIN: -ERR [IN-USE] maildrop locked"
    refused = Script(greeting=Response(ok=False, text="go away", code="SYS/TEMP"))
    with FakeServer(refused) as srv, pytest.raises(POP3ResponseError, match="go away"):
        client(kind, srv).__enter__()


def test_caller_mistakes_raise_at_once(kind: str) -> None:
    with FakeServer(Script(messages=[MSG2])) as srv, client(kind, srv) as c:
        with pytest.raises(POP3Error, match="log in first"):
            c.stat()
        c.login("alice", "secret")
        with pytest.raises(POP3Error, match="already logged in"):
            c.login("alice", "secret")
        for bad in (lambda: c.retrieve_bytes(0), lambda: c.top(1, -1)):
            with pytest.raises(LocalProtocolError):
                bad()
        assert c.stat() == (1, len(MSG2))  # nothing went out, still usable


def test_starttls(kind: str, tls_pair: tuple[Path, Path]) -> None:
    cert, key = tls_pair
    script = Script(messages=[MSG2], tls=server_context(cert, key))
    ctx = ssl.create_default_context(cafile=str(cert))
    with FakeServer(script) as srv, client(kind, srv, tls="starttls", ssl_context=ctx) as c:
        assert c.tls
        c.login("alice", "secret")
        assert c.retrieve_bytes(1) == MSG2
        # CAPA before STLS, and again after it (RFC 2595 section 4).
        names = [type(e) for e in srv.commands]
        assert names[:3] == [Capa, Stls, Capa]


def test_certificates_are_verified_by_default(kind: str, tls_pair: tuple[Path, Path]) -> None:
    cert, key = tls_pair
    with FakeServer(Script(tls=server_context(cert, key))) as srv, \
            pytest.raises(ssl.SSLCertVerificationError):
        client(kind, srv, tls="starttls").__enter__()


def test_stls_not_offered(kind: str) -> None:
    with FakeServer(Script(capa=("USER",))) as srv, \
            pytest.raises(POP3NotSupportedError, match="STLS"):
        client(kind, srv, tls="starttls").__enter__()


def test_timeout_closes(kind: str) -> None:
    with FakeServer(Script(stall_on=Stat)) as srv:
        c = client(kind, srv, timeout=0.5)
        c.__enter__()
        c.login("alice", "secret")
        with pytest.raises(POP3TimeoutError):
            c.stat()
        assert not c.connected
        if kind == "async":
            c.shutdown()


def test_dropped_connection(kind: str) -> None:
    with FakeServer(Script(messages=[MSG1], drop_on=Retr)) as srv:
        c = client(kind, srv)
        c.__enter__()
        c.login("alice", "secret")
        with pytest.raises(POP3ServerDisconnected):
            c.retrieve_bytes(1)
        assert not c.connected
        assert c.quit() is None  # nothing left to quit
        if kind == "async":
            c.shutdown()


def test_dropped_in_the_middle_of_a_message(kind: str, tmp_path: Path) -> None:
    raw = b"+OK here it comes\r\nSubject: cut\r\n\r\nhalf a mess"
    with FakeServer(Script(messages=[MSG1], raw={Retr: raw})) as srv:
        c = client(kind, srv)
        c.__enter__()
        c.login("alice", "secret")
        target = tmp_path / "partial.eml"
        with pytest.raises(POP3ServerDisconnected):
            c.retrieve_to(1, target)
        assert not target.exists()  # no partial file left behind
        if kind == "async":
            c.shutdown()


def test_garbage_is_a_protocol_error(kind: str) -> None:
    with FakeServer(Script(raw={Stat: b"* OK this is IMAP\r\n"})) as srv:
        c = client(kind, srv)
        c.__enter__()
        c.login("alice", "secret")
        with pytest.raises(RemoteProtocolError):
            c.stat()
        assert not c.connected
        if kind == "async":
            c.shutdown()


def test_quit_error_is_reported(kind: str) -> None:
    raw = b"-ERR [SYS/TEMP] some deleted messages not removed\r\n"
    with FakeServer(Script(messages=[MSG2], raw={Quit: raw})) as srv:
        c = client(kind, srv)
        c.__enter__()
        c.login("alice", "secret")
        c.delete(1)
        with pytest.raises(POP3ResponseError) as info:
            c.quit()
        assert info.value.code == "SYS/TEMP" and info.value.is_transient
        assert not c.connected
        if kind == "async":
            c.shutdown()
    assert any(isinstance(e, Dele) for e in srv.commands)


def test_retrieve_to_streams_in_bounded_memory(kind: str) -> None:
    body = b"".join(b".line %07d of a big message\n" % i for i in range(250_000))  # ~7.5 MB
    big = b"Subject: big\n\n" + body
    with FakeServer(Script(messages=[big], chunk=1 << 15)) as srv, client(kind, srv) as c:
        c.login("alice", "secret")
        sink = _HashSink()
        tracemalloc.start()
        try:
            size = c.retrieve_to(1, sink)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert size == len(crlf(big)) == sink.size
        assert sink.digest == _HashSink.of(crlf(big))
        assert peak < 2_000_000, peak  # a few chunks, never the message


class _HashSink:
    """A write-only file that keeps a hash, not the data."""

    def __init__(self) -> None:
        import hashlib

        self._h = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self._h.update(data)
        self.size += len(data)
        return len(data)

    @property
    def digest(self) -> str:
        return self._h.hexdigest()

    @staticmethod
    def of(data: bytes) -> str:
        import hashlib

        return hashlib.sha256(data).hexdigest()
