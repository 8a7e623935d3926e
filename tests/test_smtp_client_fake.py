"""Both SMTP clients against a scripted server on a real loopback socket.

The server (``smtp_client_helpers.FakeServer``) drives our own
``ServerConnection`` core in a thread and records every byte, so these tests
see pipelining batches, BDAT chunks, RSET after failures, timeouts and
dropped connections. Every test runs for the sync and the asyncio client.
"""

from __future__ import annotations

import base64

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from smtp_client_helpers import CLIENTS, DEFAULT_EXTENSIONS, FakeServer, Script

import mimekit
from mimekit.smtp import (
    DSN,
    Auth,
    Bdat,
    Data,
    Ehlo,
    Helo,
    Mail,
    Quit,
    Rcpt,
    Reply,
    Rset,
    SMTPAuthenticationError,
    SMTPDataError,
    SMTPNotSupportedError,
    SMTPRecipientsRefused,
    SMTPReplyError,
    SMTPSenderRefused,
    SMTPServerDisconnected,
    SMTPSizeError,
    SMTPTimeoutError,
    StartTLS,
)

MSG = (b"From: Alice <alice@example.test>\r\nTo: bob@example.test, carol@example.test\r\n"
       b"Cc: Dave <dave@example.test>\r\nBcc: eve@example.test\r\n"
       b"Subject: hello\r\nMessage-ID: <m1@example.test>\r\n\r\n.leading dot\r\nbody\r\n")
STRIPPED = MSG.replace(b"Bcc: eve@example.test\r\n", b"")
ALL_RCPTS = ["bob@example.test", "carol@example.test", "dave@example.test", "eve@example.test"]
NO_CHUNKING = tuple(e for e in DEFAULT_EXTENSIONS if e != "CHUNKING")

pytestmark = pytest.mark.parametrize("kind", sorted(CLIENTS))


def client(kind: str, server: FakeServer, **kw: object):  # type: ignore[no-untyped-def]
    kw.setdefault("timeout", 5)
    return CLIENTS[kind]("127.0.0.1", server.port, **kw)


def canonical(data: bytes) -> bytes:
    out = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").replace(b"\n", b"\r\n")
    return out if not out or out.endswith(b"\r\n") else out + b"\r\n"


def client_writes(server: FakeServer) -> list[bytes]:
    return [data for who, data in server.transcript[-1] if who == "C"]


# -- sending ---------------------------------------------------------------------------


def test_pipelined_data_and_bcc_never_transmitted(kind: str) -> None:
    with FakeServer(Script(extensions=NO_CHUNKING)) as srv:
        with client(kind, srv) as c:
            result = c.send(MSG)
        assert list(result.accepted) == ALL_RCPTS and not result.refused
        assert result.reply.code == 250 and result.message_id == "m1@example.test"
        assert not result.chunking
        (got,) = srv.messages
        assert got.content == STRIPPED and not got.bdat
        assert got.recipients == ALL_RCPTS and got.sender == "alice@example.test"
        assert got.mail_params["SIZE"] == str(len(STRIPPED))
        # MAIL, every RCPT and DATA went out in one write (RFC 2920).
        batch = next(w for w in client_writes(srv) if w.startswith(b"MAIL"))
        assert batch.count(b"RCPT TO:") == 4 and batch.endswith(b"DATA\r\n")
        assert b"eve@example.test" not in b"".join(client_writes(srv)).split(b"DATA\r\n", 1)[1]


def test_without_pipelining_one_command_per_write(kind: str) -> None:
    ext = tuple(e for e in NO_CHUNKING if e != "PIPELINING")
    with FakeServer(Script(extensions=ext)) as srv, client(kind, srv) as c:
        c.send(MSG)
        writes = client_writes(srv)
        assert all(w.count(b"\r\n") == 1 for w in writes if w[:4] in (b"MAIL", b"RCPT", b"DATA"))
        assert srv.messages[0].content == STRIPPED


def test_bdat_in_chunks_without_dot_stuffing(kind: str) -> None:
    ext = tuple(e if not e.startswith("SIZE") else "SIZE 0" for e in DEFAULT_EXTENSIONS)
    body = b"".join(b".line %d\n" % i for i in range(300_000))  # ~3.3 MB, bare LFs
    raw = b"From: a@example.test\nTo: b@example.test\n\n" + body
    with FakeServer(Script(extensions=ext)) as srv, client(kind, srv) as c:
        result = c.send(raw)
        assert result.chunking and result.size == len(canonical(raw))
        (got,) = srv.messages
        assert got.bdat and got.content == canonical(raw)
        bdats = [e for e in srv.commands if isinstance(e, Bdat)]
        assert len(bdats) == 4 and [b.last for b in bdats] == [False, False, False, True]
        assert sum(b.size for b in bdats) == len(canonical(raw))
        assert not any(isinstance(e, Data) for e in srv.commands)
        assert "SIZE" not in got.mail_params or got.mail_params["SIZE"] == str(result.size)


def test_empty_body_with_bdat(kind: str) -> None:
    with FakeServer() as srv, client(kind, srv) as c:
        c.send(b"From: a@example.test\r\nTo: b@example.test\r\n\r\n")
        assert srv.messages[0].content == b"From: a@example.test\r\nTo: b@example.test\r\n\r\n"


def test_message_object_and_explicit_envelope(kind: str) -> None:
    msg = mimekit.parse(MSG)
    with FakeServer() as srv, client(kind, srv) as c:
        result = c.send(msg, sender="bounce@example.test",
                        recipients=["x@example.test", "x@EXAMPLE.test", "y@example.test"])
        assert list(result.accepted) == ["x@example.test", "y@example.test"]
        assert srv.messages[0].content == STRIPPED
        assert srv.messages[0].sender == "bounce@example.test"
    assert bytes(msg) == MSG  # the caller's message is untouched


def test_size_refused_before_sending(kind: str) -> None:
    ext = tuple(e if not e.startswith("SIZE") else "SIZE 100" for e in DEFAULT_EXTENSIONS)
    with FakeServer(Script(extensions=ext)) as srv, client(kind, srv) as c:
        with pytest.raises(SMTPSizeError) as info:
            c.send(MSG)
        assert info.value.limit == 100 and info.value.size == len(STRIPPED)
        assert isinstance(info.value, SMTPNotSupportedError)
        assert not any(isinstance(e, Mail) for e in srv.commands)
        assert c.noop().code == 250  # still usable


UTF8_HEADER = "From: Jörg <a@example.test>\r\nTo: b@example.test\r\n\r\nhi\r\n".encode()
EIGHT_BIT_BODY = b"From: a@example.test\r\nTo: b@example.test\r\n\r\ncaf\xc3\xa9\r\n"


@pytest.mark.parametrize(("raw", "recipients", "missing"), [
    (UTF8_HEADER, None, "SMTPUTF8"),
    (MSG, ["jörg@example.test"], "SMTPUTF8"),
    (EIGHT_BIT_BODY, None, "8BITMIME"),
])
def test_refuses_what_the_server_cannot_carry(kind: str, raw: bytes, recipients: list[str] | None,
                                              missing: str) -> None:
    ext = tuple(e for e in DEFAULT_EXTENSIONS if e != missing)
    with FakeServer(Script(extensions=ext)) as srv, client(kind, srv) as c:
        with pytest.raises(SMTPNotSupportedError, match=missing):
            c.send(raw, recipients=recipients)
        assert not any(isinstance(e, Mail) for e in srv.commands)


def test_utf8_and_8bit_parameters(kind: str) -> None:
    with FakeServer() as srv, client(kind, srv) as c:
        c.send(UTF8_HEADER)
        c.send(EIGHT_BIT_BODY)
        c.send(MSG, recipients=["jörg@bücher.example"])
        first, second, third = (m.mail_params for m in srv.messages)
        assert "SMTPUTF8" in first and first["BODY"] == "8BITMIME"
        assert "SMTPUTF8" not in second and second["BODY"] == "8BITMIME"
        assert "SMTPUTF8" in third and "BODY" not in third
        assert srv.messages[0].content == UTF8_HEADER


def test_dsn_parameters(kind: str) -> None:
    dsn = DSN(notify=("success", "failure"), ret="hdrs", envid="id+1 x", orcpt=True)
    with FakeServer() as srv, client(kind, srv) as c:
        result = c.send(MSG, recipients=["bob@example.test"], dsn=dsn,
                        mail_options=["X-TEST=1"], rcpt_options={"X-R": None})
        assert result.dsn
        got = srv.messages[0]
        assert got.mail_params["RET"] == "HDRS" and got.mail_params["ENVID"] == "id+2B1+20x"
        assert got.mail_params["X-TEST"] == "1"
        assert got.rcpt_params[0] == {"X-R": None, "NOTIFY": "SUCCESS,FAILURE",
                                      "ORCPT": "rfc822;bob@example.test"}
    ext = tuple(e for e in DEFAULT_EXTENSIONS if e != "DSN")
    with FakeServer(Script(extensions=ext)) as srv, client(kind, srv) as c:
        result = c.send(MSG, dsn={"notify": "NEVER"})
        assert not result.dsn and "NOTIFY" not in srv.messages[0].rcpt_params[0]


# -- refusals -----------------------------------------------------------------------------


def _refuse(*who: str):  # type: ignore[no-untyped-def]
    def rcpt(ev: Rcpt) -> Reply | None:
        if ev.recipient in who:
            return Reply(code=550, lines=("no such user",), enhanced=(5, 1, 1))
        return None
    return rcpt


@pytest.mark.parametrize("ext", [DEFAULT_EXTENSIONS, NO_CHUNKING, ("8BITMIME",)],
                         ids=["bdat", "pipelined-data", "plain"])
def test_partial_refusal_is_a_result(kind: str, ext: tuple[str, ...]) -> None:
    with FakeServer(Script(extensions=ext, rcpt=_refuse("carol@example.test"))) as srv, \
            client(kind, srv) as c:
        result = c.send(MSG)
        assert list(result.refused) == ["carol@example.test"]
        assert result.refused["carol@example.test"].enhanced == (5, 1, 1)
        assert len(result.accepted) == 3
        assert srv.messages[0].recipients == [r for r in ALL_RCPTS if r != "carol@example.test"]


@pytest.mark.parametrize("ext", [DEFAULT_EXTENSIONS, NO_CHUNKING, ("8BITMIME",)],
                         ids=["bdat", "pipelined-data", "plain"])
def test_total_refusal_raises_and_resets(kind: str, ext: tuple[str, ...]) -> None:
    with FakeServer(Script(extensions=ext, rcpt=_refuse(*ALL_RCPTS))) as srv, \
            client(kind, srv) as c:
        with pytest.raises(SMTPRecipientsRefused) as info:
            c.send(MSG)
        assert set(info.value.refused) == set(ALL_RCPTS)
        assert info.value.code == 550 and info.value.enhanced == (5, 1, 1)
        assert isinstance(srv.commands[-1], Rset)
        assert not srv.messages
        # The connection is still usable.
        c.send(MSG, recipients=["ok@example.test"])
        assert srv.messages[0].recipients == ["ok@example.test"]


def test_sender_refused(kind: str) -> None:
    refuse = Reply(code=553, lines=("sender not allowed",), enhanced=(5, 7, 1))
    with FakeServer(Script(mail=lambda ev: refuse)) as srv, client(kind, srv) as c:
        with pytest.raises(SMTPSenderRefused) as info:
            c.send(MSG)
        assert (info.value.code, info.value.enhanced, info.value.text) == (
            553, (5, 7, 1), "sender not allowed")
        assert "MAIL FROM:<alice@example.test>" in str(info.value)
        assert isinstance(srv.commands[-1], Rset)
        assert c.noop().code == 250


@pytest.mark.parametrize("ext", [DEFAULT_EXTENSIONS, NO_CHUNKING], ids=["bdat", "data"])
def test_message_refused_at_the_end(kind: str, ext: tuple[str, ...]) -> None:
    end = Reply(code=554, lines=("spam",), enhanced=(5, 7, 1))
    with FakeServer(Script(extensions=ext, end=end)) as srv, client(kind, srv) as c:
        with pytest.raises(SMTPDataError) as info:
            c.send(MSG)
        assert info.value.code == 554 and info.value.text == "spam"
        assert isinstance(srv.commands[-1], Rset)
        assert c.noop().code == 250


def test_data_refused(kind: str) -> None:
    data = Reply(code=451, lines=("try later",), enhanced=(4, 3, 0))
    with FakeServer(Script(extensions=NO_CHUNKING, data=data)) as srv, client(kind, srv) as c:
        with pytest.raises(SMTPDataError) as info:
            c.send(MSG)
        assert info.value.is_transient
        assert isinstance(srv.commands[-1], Rset)


def test_421_closes(kind: str) -> None:
    bye = Reply(code=421, lines=("shutting down",), enhanced=(4, 3, 2))
    with FakeServer(Script(rcpt=lambda ev: bye)) as srv, client(kind, srv) as c:
        with pytest.raises(SMTPReplyError) as info:
            c.send(MSG)
        assert info.value.code == 421
        assert not c.connected


def test_greeting_refused(kind: str) -> None:
    script = Script(greeting=Reply(code=554, lines=("go away",)))
    with FakeServer(script) as srv, pytest.raises(SMTPReplyError) as info, client(kind, srv):
        pass
    assert info.value.code == 554


# -- connection problems -------------------------------------------------------------------


def test_timeout(kind: str) -> None:
    with FakeServer(Script(stall_on=Mail)) as srv:
        c = client(kind, srv, timeout=0.3)
        with c:
            with pytest.raises(SMTPTimeoutError):
                c.send(MSG)
            assert not c.connected
            with pytest.raises(SMTPServerDisconnected):
                c.noop()


def test_dropped_connection(kind: str) -> None:
    with FakeServer(Script(extensions=NO_CHUNKING, drop_on=Data)) as srv, \
            client(kind, srv) as c:
        with pytest.raises(SMTPServerDisconnected):
            c.send(MSG)
        assert not c.connected


def test_connection_refused(kind: str) -> None:
    srv = FakeServer()
    port = srv.port
    srv.close()
    with pytest.raises(SMTPServerDisconnected, match="cannot connect"), \
            CLIENTS[kind]("127.0.0.1", port, timeout=2):
        pass


def test_not_connected(kind: str) -> None:
    c = CLIENTS[kind]("127.0.0.1", 1)
    try:
        with pytest.raises(SMTPServerDisconnected, match="not connected"):
            c.send(MSG)
        assert c.extensions == {} and not c.connected and c.quit() is None
    finally:
        if hasattr(c, "shutdown"):
            c.shutdown()


def test_ehlo_refused_falls_back_to_helo(kind: str) -> None:
    script = Script(ehlo=Reply(code=502, lines=("no ESMTP",), enhanced=(5, 5, 1)))
    with FakeServer(script) as srv, client(kind, srv) as c:
        assert c.extensions == {}
        assert any(isinstance(e, Helo) for e in srv.commands)
        c.send(MSG)
        with pytest.raises(SMTPNotSupportedError, match="8BITMIME"):
            c.send(EIGHT_BIT_BODY)


def test_starttls_required_but_not_offered(kind: str) -> None:
    with FakeServer() as srv, pytest.raises(SMTPNotSupportedError, match="STARTTLS"), \
            client(kind, srv, tls="starttls"):
        pass
    assert not any(isinstance(e, StartTLS) for e in srv.commands)


def test_quit_and_commands(kind: str) -> None:
    with FakeServer() as srv:
        c = client(kind, srv, local_hostname="client.example")
        with c:
            assert c.noop().code == 250 and c.rset().code == 250
            assert c.ehlo().code == 250 and "PIPELINING" in c.extensions
        assert not c.connected
        assert srv.commands[0] == Ehlo(domain="client.example")
        assert isinstance(srv.commands[-1], Quit)


# -- AUTH -----------------------------------------------------------------------------------


def test_login_picks_cram_md5(kind: str) -> None:
    with FakeServer() as srv, client(kind, srv) as c:
        assert c.login("alice", "secret").code == 235
        assert c.authenticated == "alice"
        assert next(e for e in srv.commands if isinstance(e, Auth)).mechanism == "CRAM-MD5"


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN", "CRAM-MD5"])
def test_login_mechanisms_and_bad_password(kind: str, mechanism: str) -> None:
    with FakeServer() as srv, client(kind, srv) as c:
        with pytest.raises(SMTPAuthenticationError) as info:
            c.login("alice", "wrong", mechanism)
        assert info.value.code == 535 and info.value.enhanced == (5, 7, 8)
        assert c.login("alice", "secret", mechanism.lower()).code == 235
        c.send(MSG)  # the session goes on after AUTH


def test_login_without_auth_offered(kind: str) -> None:
    ext = tuple(e for e in DEFAULT_EXTENSIONS if not e.startswith("AUTH"))
    with FakeServer(Script(extensions=ext)) as srv, client(kind, srv) as c:
        with pytest.raises(SMTPNotSupportedError, match="AUTH"):
            c.login("alice", "secret")
        with pytest.raises(SMTPNotSupportedError):
            c.login("alice", "secret", "PLAIN")


def test_plaintext_auth_refused_off_loopback(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # Pretend the server is remote: PLAIN/LOGIN without TLS are refused.
    import mimekit.smtp._client_logic as logic

    monkeypatch.setattr(logic, "is_loopback", lambda address: False)
    ext = tuple(e if not e.startswith("AUTH") else "AUTH PLAIN LOGIN" for e in DEFAULT_EXTENSIONS)
    with FakeServer(Script(extensions=ext)) as srv:
        with client(kind, srv) as c:
            with pytest.raises(SMTPNotSupportedError, match="clear text"):
                c.login("alice", "secret")
            with pytest.raises(SMTPNotSupportedError, match="clear text"):
                c.login("alice", "secret", "LOGIN")
            assert not any(isinstance(e, Auth) for e in srv.commands)
        with client(kind, srv, allow_insecure_auth=True) as c:
            assert c.login("alice", "secret").code == 235


def test_xoauth2(kind: str) -> None:
    ext = (*DEFAULT_EXTENSIONS, "AUTH XOAUTH2")
    with FakeServer(Script(extensions=ext)) as srv, client(kind, srv) as c:
        with pytest.raises(SMTPAuthenticationError, match="401"):
            c.oauth2("alice", "bad-token")
        assert c.login("alice", token="good-token").code == 235
        first = next(e for e in srv.commands if isinstance(e, Auth))
        assert base64.b64decode(first.initial_response) == (
            b"user=alice\x01auth=Bearer bad-token\x01\x01")


# -- content survives any message --------------------------------------------------------


_bodies = st.lists(st.sampled_from([b".", b"..", b"\r", b"\n", b"\r\n", b"x", b"\xff", b" ",
                                    b"\r\n.\r\n", b".\r\n", b"From "]),
                   max_size=40).map(b"".join)


@pytest.mark.parametrize("chunking", [True, False], ids=["bdat", "data"])
def test_any_content_arrives_canonical(kind: str, chunking: bool) -> None:
    head = b"From: a@example.test\r\nTo: b@example.test\r\nBcc: hidden@example.test\r\n\r\n"
    with FakeServer() as srv, client(kind, srv, chunking=chunking) as c:

        @settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow],
                  deadline=None)
        @given(_bodies)
        def check(body: bytes) -> None:
            before = len(srv.messages)
            result = c.send(head + body)
            got = srv.messages[before]
            want = canonical(head.replace(b"Bcc: hidden@example.test\r\n", b"") + body)
            assert got.content == want and got.bdat == chunking
            assert result.size == len(want)
            assert got.recipients == ["b@example.test", "hidden@example.test"]

        check()
