"""Security properties, in one place.

Each test states one defence and checks it on the real code path. Several
are also covered in depth elsewhere (noted in the docstrings); this file is
the list a reviewer reads.

* the open-relay matrix of ``mimekit serve``;
* header injection through every API that takes a header value, an
  address or a file name;
* SMTP smuggling vectors;
* plaintext discarded after STARTTLS (SMTP and POP3 here; IMAP over real
  TLS in ``test_imap_server_limits.py``);
* mailbox and folder name traversal (IMAP names over the wire in
  ``test_imap_server_limits.py``); file name traversal in ``extract``;
* passwords stored hashed, and never in the logs of a running server;
* the parser's limits on hostile input.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import smtplib
import tempfile
from pathlib import Path

import pytest

import mimekit
from mimekit import HeaderInjectionError, Mailbox
from mimekit.cli._extract import safe_filename
from mimekit.mailstore import Maildir
from mimekit.serve import MailSystem, ServeOptions
from mimekit.smtp import (
    Data,
    Ehlo,
    EndOfMessage,
    Mail,
    MessageData,
    Rcpt,
    Reply,
    ServerConnection,
    SMTPServer,
)
from mimekit.smtp._syntax import format_command

# -- the open-relay matrix ------------------------------------------------------------------

LOCAL, FOREIGN = "alice@example.test", "someone@elsewhere.test"


async def _relay_matrix() -> dict[tuple[bool, str, str], int]:
    d = Path(tempfile.mkdtemp(prefix="mimekit-relay-"))
    system = MailSystem(ServeOptions(directory=d, domains=["example.test"], smtp_port=0,
                                     submission_port=0, pop3_port=0, imap_port=0,
                                     relay_host="127.0.0.1:9",
                                     allow_plaintext_auth_on_loopback=True), out=io.StringIO())
    system.users.set_password("alice", "secret")
    await system.start()
    from mimekit.serve._handlers import MailSystemHandler
    from mimekit.smtp import ServerConfig

    handler = MailSystemHandler(users=system.users, domains={"example.test"},
                                delivery=system.delivery, queue=system.queue,
                                hostname="example.test", can_relay=True)
    server = SMTPServer(handler, ServerConfig(auth_over_plaintext="loopback"))
    await server.start("127.0.0.1", 0)

    def probe() -> dict[tuple[bool, str, str], int]:
        out = {}
        for authenticated in (False, True):
            for sender in (LOCAL, FOREIGN):
                for rcpt in (LOCAL, FOREIGN):
                    with smtplib.SMTP("127.0.0.1", server.port) as c:
                        c.ehlo()
                        if authenticated:
                            c.login("alice", "secret")
                        c.mail(sender)
                        out[(authenticated, sender, rcpt)] = c.rcpt(rcpt)[0]
        return out

    try:
        return await asyncio.to_thread(probe)
    finally:
        await server.close()
        await system.stop()


def test_never_an_open_relay() -> None:
    """Foreign recipients need AUTH (554 5.7.1); local ones are open to all."""
    matrix = asyncio.run(_relay_matrix())
    for (authenticated, sender, rcpt), code in matrix.items():
        if rcpt == LOCAL or authenticated:
            assert code == 250, (authenticated, sender, rcpt)
        else:
            assert code == 554, (authenticated, sender, rcpt)  # whoever the sender claims


# -- header injection -------------------------------------------------------------------------

BAD = ["x\r\nBcc: victim@example.test", "x\nBcc: v@x", "x\rBcc: v@x", "x\x00y"]


@pytest.mark.parametrize("bad", BAD)
def test_no_header_injection_through_any_api(bad: str) -> None:
    msg = mimekit.parse(b"Subject: x\r\n\r\nbody")
    for call in (
        lambda: msg.headers.set("Subject", bad),
        lambda: msg.headers.add("X-Anything", bad),
        lambda: msg.headers.set("To", f"a@b.c, {bad}"),
        lambda: mimekit.compose(from_="a@b.c", to="d@e.f", subject=bad, text="t"),
        lambda: mimekit.compose(from_="a@b.c", to="d@e.f", headers={"X-A": bad}, text="t"),
        lambda: mimekit.compose(from_="a@b.c", to=[bad], text="t"),
        lambda: mimekit.compose(from_="a@b.c", to="d@e.f", text="t",
                                attachments=[(bad + ".txt", b"data", "text/plain")]),
        lambda: Mailbox(bad, "a@b.c"),
        lambda: msg.reply(text="t", from_=bad),
    ):
        with pytest.raises(ValueError):  # HeaderInjectionError is a ValueError
            call()
    assert bytes(msg) == b"Subject: x\r\n\r\nbody"
    with pytest.raises(HeaderInjectionError):
        msg.headers.set("Subject", bad)


@pytest.mark.parametrize("bad", BAD[:3])
def test_no_smtp_command_injection(bad: str) -> None:
    for command in (Ehlo(domain=bad), Mail(sender=bad), Rcpt(recipient=bad)):
        with pytest.raises(ValueError):
            format_command(command)


# -- SMTP smuggling ---------------------------------------------------------------------------


@pytest.mark.parametrize("vector", [b"\n.\n", b"\r.\r", b"\n.\r\n", b"\r.\n", b"\r\n.\n"])
def test_smtp_smuggling_vectors(vector: bytes) -> None:
    """Only CRLF.CRLF ends DATA; a bare line ending is flagged (tested over
    sockets in test_smtp_server.py and test_serve_e2e.py)."""
    s = ServerConnection()
    s.send(Reply(code=220))
    for line, reply in ((b"EHLO x\r\n", 250), (b"MAIL FROM:<a@b.c>\r\n", 250),
                        (b"RCPT TO:<d@e.f>\r\n", 250), (b"DATA\r\n", 354)):
        s.receive_data(line)
        ev = s.next_event()
        assert isinstance(ev, (Ehlo, Mail, Rcpt, Data))
        s.send(Reply(code=reply))
    s.receive_data(b"x" + vector + b"MAIL FROM:<evil@x>" + vector + b"\r\n.\r\n")
    events = []
    while not isinstance(ev := s.next_event(), EndOfMessage):
        events.append(ev)
    assert ev.bare_line_ending
    assert b"MAIL FROM:<evil@x>" in b"".join(e.data for e in events if isinstance(e, MessageData))


# -- STARTTLS / STLS ----------------------------------------------------------------------------


def test_plaintext_after_starttls_is_discarded() -> None:
    """CVE-2011-0411 (also over real TLS in test_smtp_server.py)."""
    from mimekit.pop3 import ServerConnection as POP3Server
    from mimekit.pop3._events import Response, Stls
    from mimekit.smtp import StartTLS

    s = ServerConnection()
    s.send(Reply(code=220))
    s.receive_data(b"EHLO x\r\n")
    s.next_event()
    s.send(Reply(code=250))
    s.receive_data(b"STARTTLS\r\nMAIL FROM:<injected@x>\r\n")
    assert isinstance(s.next_event(), StartTLS)
    s.send(Reply(code=220))
    assert s.discarded_after_starttls > 0

    p = POP3Server()
    p.send(Response(ok=True, text="ready"))
    p.receive_data(b"STLS\r\nUSER injected\r\n")
    assert isinstance(p.next_event(), Stls)
    p.send(Response(ok=True, text="begin TLS"))
    assert p.discarded_after_stls > 0


# -- names that must not escape ---------------------------------------------------------------


@pytest.mark.parametrize("name", ["..", "../x", "a/../../b", "/abs", "a/./b", "x\x00y",
                                  "a\nb", ""])
def test_folder_names_cannot_escape_the_store(tmp_path: Path, name: str) -> None:
    md = Maildir(tmp_path / "md", create=True)
    with pytest.raises(ValueError):
        md.add_folder(name)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["md"]


@pytest.mark.parametrize(("hostile", "expected"), [
    ("../../etc/passwd", "passwd"), ("..\\..\\win.ini", "win.ini"), ("/abs.txt", "abs.txt"),
    (".hidden", "hidden"), ("nul.txt", "_nul.txt"), ("a/b\x00c", "b_c"),
])
def test_extract_file_names_cannot_escape(hostile: str, expected: str) -> None:
    """(The real command is tested in test_cli_extract.py.)"""
    part = mimekit.parse(b"Content-Type: application/octet-stream\r\n\r\nx")
    assert safe_filename(hostile, part, 1) == expected


# -- passwords ------------------------------------------------------------------------------------


def test_passwords_are_hashed_and_never_logged(tmp_path: Path,
                                               caplog: pytest.LogCaptureFixture) -> None:
    from mimekit.serve import UserDB

    caplog.set_level(logging.DEBUG)
    db = UserDB(tmp_path / "users")
    db.set_password("alice", "correct horse battery staple")
    assert "correct horse" not in (tmp_path / "users").read_text()
    assert db.verify("alice", "correct horse battery staple")
    assert not db.verify("alice", "wrong")
    assert "correct horse" not in caplog.text and "wrong" not in caplog.text


def test_passwords_never_reach_the_logs_of_a_running_server(
        caplog: pytest.LogCaptureFixture) -> None:
    """Right and wrong passwords over every login path of SMTP, POP3 and
    IMAP, with every logger at DEBUG: neither the password nor its base64
    SASL forms appear in any log record (nor in the server's output)."""
    import base64
    import imaplib
    import poplib

    from serve_helpers import PASSWORD, running_mail_system

    wrong = "Wr0ng-Guess-xyzzy"
    caplog.set_level(logging.DEBUG)
    with running_mail_system() as run:
        for password in (PASSWORD, wrong):
            for mechanism in ("PLAIN", "LOGIN"):
                with smtplib.SMTP("127.0.0.1", run.smtp, timeout=10) as c, \
                        contextlib.suppress(smtplib.SMTPAuthenticationError):
                    c.ehlo()
                    c.user, c.password = "alice", password
                    c.auth(mechanism, getattr(c, f"auth_{mechanism.lower()}"))
            p = poplib.POP3("127.0.0.1", run.pop3, timeout=10)
            with contextlib.suppress(poplib.error_proto):
                p.user("alice")
                p.pass_(password)
            p.quit()
            with imaplib.IMAP4("127.0.0.1", run.imap, timeout=10) as i, \
                    contextlib.suppress(imaplib.IMAP4.error):
                i.login("alice", password)
            with imaplib.IMAP4("127.0.0.1", run.imap, timeout=10) as i, \
                    contextlib.suppress(imaplib.IMAP4.error):
                i.authenticate("PLAIN", lambda _challenge, pw=password: f"\0alice\0{pw}".encode())
    secrets = []
    for password in (PASSWORD, wrong):
        secrets += [password, base64.b64encode(password.encode()).decode(),
                    base64.b64encode(f"\0alice\0{password}".encode()).decode()]
    audit = [r.getMessage() for r in caplog.records if r.name == "mimekit.auth"]
    for service in ("smtp", "pop3", "imap"):  # the audit trail is there, and so not empty
        assert any(m.startswith(f"{service} login: user='alice'") for m in audit), audit
        assert any(m.startswith(f"{service} authentication failed: user='alice'")
                   for m in audit), audit
    for secret in secrets:
        assert secret not in caplog.text


# -- hostile input to the parser ------------------------------------------------------------------


def test_parser_limits_hold() -> None:
    """Deep nesting, huge header blocks and many parts end in defects, never
    a crash (linear time is checked in test_tree_files_limits.py)."""
    raw = b"Subject: deep\r\n\r\nx"
    for _ in range(5000):
        raw = b"Content-Type: message/rfc822\r\n\r\n" + raw
    msg = mimekit.parse(raw)
    assert len(list(msg.walk())) <= mimekit.DEFAULT_LIMITS.max_depth + 1
    assert bytes(msg) == raw
    flood = b"X-A: b\r\n" * 20_000 + b"\r\nbody"
    msg = mimekit.parse(flood)
    assert len(msg.headers) == mimekit.DEFAULT_LIMITS.max_header_fields
    assert bytes(msg) == flood
