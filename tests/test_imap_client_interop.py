"""Our IMAP clients against a real Dovecot (shared/peers), sync and asyncio.

Every client method, bytes identical to those appended (APPEND then FETCH
BODY[] gives the same octets, 8-bit and a 2 MB message included), IDLE woken
by a delivery (Dovecot's own LDA), MOVE with COPYUID, SEARCH with dates and
non-ASCII text, STARTTLS and implicit TLS with certificate checks.

Dovecot runs once for the module in a work dir under /tmp (the peers must be
reachable by ``nobody``, so not ``tmp_path``), on port base 13000 (IMAP
13143) plus 300 per xdist worker. Skips only when Dovecot is not installed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import ssl
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from conftest import TESTS
from imap_client_helpers import CLIENTS

from mimekit import compose
from mimekit.imap import (
    ExistsResponse,
    IMAPAuthenticationError,
    IMAPCommandError,
    IMAPNoSuchMessage,
    IMAPNotSupportedError,
    SearchSummary,
    State,
)

PEERS = Path(os.environ.get("MIMEKIT_PEERS", TESTS.parent.parent / "shared" / "peers")).resolve()

pytestmark = pytest.mark.parametrize("kind", sorted(CLIENTS))


def _base(request: pytest.FixtureRequest) -> int:
    worker = str(getattr(request.config, "workerinput", {}).get("workerid", "master"))
    n = 0 if worker == "master" else int(worker.lstrip("gw"))
    return 13000 + 300 * n


@pytest.fixture(scope="module")
def dovecot(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    if not (PEERS / "dovecot-up").exists():
        pytest.skip(f"shared/peers not found at {PEERS}")
    if shutil.which("dovecot") is None and not Path("/usr/sbin/dovecot").exists():
        pytest.skip("dovecot not installed: run shared/peers/install-peers")
    wd = tempfile.mkdtemp(prefix="mimekit-imap-dovecot-", dir="/tmp")
    run = None
    for attempt in range(5):
        run = subprocess.run([str(PEERS / "dovecot-up"), wd, str(_base(request) + 100 * attempt)],
                             capture_output=True, text=True)
        if run.returncode == 0 or "in use" not in run.stderr:
            break
    assert run is not None
    if run.returncode:
        shutil.rmtree(wd, ignore_errors=True)
        raise RuntimeError(f"dovecot-up failed: {run.stderr.strip()}")
    info = dict(line.split("=", 1) for line in run.stdout.splitlines() if "=" in line)
    info["WORKDIR"] = wd
    try:
        yield info
    finally:
        subprocess.run([str(PEERS / "dovecot-down"), wd, "--purge"], capture_output=True)


def deliver(dovecot: dict[str, str], user: str, raw: bytes) -> None:
    subprocess.run([str(PEERS / "dovecot-deliver"), dovecot["WORKDIR"], user], input=raw,
                   check=True, capture_output=True)


@contextlib.contextmanager
def session(kind: str, dovecot: dict[str, str], user: str = "alice",
            **kwargs: Any) -> Iterator[Any]:
    with CLIENTS[kind]("127.0.0.1", int(dovecot["IMAP_PORT"]), **kwargs) as c:
        c.login(user, "secret")
        yield c


def _ca(dovecot: dict[str, str]) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=dovecot["CA_CERT"])


MESSAGES = [
    b"From: Alice <alice@example.test>\r\nTo: bob@example.test\r\nSubject: plain\r\n"
    b"Date: Mon, 01 Jan 2024 10:00:00 +0000\r\nMessage-ID: <p1@example.test>\r\n\r\n"
    b"Hello,\r\n.with a dot\r\n\r\n",
    # 8-bit header and body, no final line break, odd whitespace.
    "From: Jürgen <j@example.test>\r\nSubject: Grüße aus Köln\r\n"
    "X-Trailing: spaces   \r\n\r\nÄpfel\tund Birnen".encode(),
    # A multipart with an attachment: for ENVELOPE and BODYSTRUCTURE.
    b"From: =?utf-8?q?R=C3=A9mi?= <remi@example.test>\r\nTo: a@example.test, "
    b"Team: b@example.test, c@example.test;\r\nSubject: =?utf-8?q?r=C3=A9sum=C3=A9?=\r\n"
    b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
    b"--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nsee attached\r\n"
    b"--b1\r\nContent-Type: application/pdf; name=\"cv.pdf\"\r\n"
    b"Content-Disposition: attachment; filename=\"cv.pdf\"\r\n"
    b"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--b1--\r\n",
]


def test_login_capabilities_and_session_commands(kind: str, dovecot: dict[str, str]) -> None:
    port = int(dovecot["IMAP_PORT"])
    with CLIENTS[kind]("127.0.0.1", port) as c:
        before = c.capabilities
        assert "AUTH=PLAIN" in before and "IMAP4REV1" in before
        c.login("alice", "secret")
        # Refreshed after login: Dovecot lists far more once logged in.
        assert {"MOVE", "UIDPLUS", "SPECIAL-USE", "IDLE"} <= c.capabilities
        assert c.namespace().personal == (("", "/"),)
        assert (c.id({"name": "mimekit", "version": "0"}) or {}).get("name") == "Dovecot"
        assert c.enable("CONDSTORE") == {"CONDSTORE"}
        assert c.noop() == [] and c.capability() == c.capabilities
    with CLIENTS[kind]("127.0.0.1", port) as c:
        c.authenticate("PLAIN", "bob", "secret")
        assert c.state is State.AUTHENTICATED and "MOVE" in c.capabilities


def test_tls(kind: str, dovecot: dict[str, str]) -> None:
    port, tls_port = int(dovecot["IMAP_PORT"]), int(dovecot["IMAPS_PORT"])
    with CLIENTS[kind]("localhost", port, tls="starttls", ssl_context=_ca(dovecot)) as c:
        assert c.tls and "STARTTLS" not in c.capabilities
        c.login("alice", "secret")
    with CLIENTS[kind]("127.0.0.1", tls_port, tls="implicit", ssl_context=_ca(dovecot)) as c:
        c.authenticate("PLAIN", "alice", "secret")
        assert c.select("INBOX").uidvalidity
    # The default context verifies: Dovecot's self-signed certificate is refused.
    for mode, p in (("implicit", tls_port), ("starttls", port)):
        client = CLIENTS[kind]("127.0.0.1", p, tls=mode)
        with pytest.raises(ssl.SSLError):
            client.__enter__()
        if kind == "async":
            client.shutdown()


def test_mailbox_commands(kind: str, dovecot: dict[str, str]) -> None:
    with session(kind, dovecot) as c:
        boxes = {m.name: m for m in c.list_mailboxes()}
        assert {"INBOX", "Drafts", "Sent", "Trash", "Junk", "Archive"} <= set(boxes)
        assert boxes["Sent"].special_use == "\\Sent" and boxes["INBOX"].special_use is None
        assert {m.name for m in c.list_mailboxes(special_use=True)} >= {"Sent", "Trash"}
        name = f"Entwürfe {kind}/2024 & mehr"
        c.create(name)
        listed = {m.name: m for m in c.list_mailboxes(f"Entwürfe {kind}*")}
        assert name in listed and "&APw-" in listed[name].raw_name
        c.subscribe(name)
        assert name in {m.name for m in c.list_mailboxes(subscribed=True)}
        c.unsubscribe(name)
        assert name not in {m.name for m in c.list_mailboxes(subscribed=True)}
        renamed = f"Ablage {kind} ☃"
        c.rename(name, renamed)
        status = c.status(renamed)
        assert status["MESSAGES"] == 0 and status["UIDNEXT"] == 1 and status["UIDVALIDITY"] > 0
        info = c.select(renamed)
        assert info.exists == 0 and not info.readonly and info.uidvalidity == status["UIDVALIDITY"]
        assert c.examine(renamed).readonly
        c.unselect()
        with pytest.raises(IMAPCommandError) as err:
            c.create(renamed)
        assert err.value.code_name == "ALREADYEXISTS"
        c.delete(renamed)
        with pytest.raises(IMAPCommandError) as err:
            c.select(renamed)
        assert err.value.status == "NO"
        assert c.state is State.AUTHENTICATED


def test_append_and_fetch_bytes_identical(kind: str, dovecot: dict[str, str]) -> None:
    box = f"bytes-{kind}"
    big = b"Subject: big\r\n\r\n" + b"".join(b"line %07d of a big message\r\n" % i
                                           for i in range(70_000))
    with session(kind, dovecot) as c:
        c.create(box)
        uids = []
        for raw in [*MESSAGES, big]:
            result = c.append(box, raw, flags=["\\Seen", "$Label1"])
            assert result is not None
            uids.append(result.uid)
        info = c.select(box)
        assert info.exists == len(uids) and info.uidnext == uids[-1] + 1
        assert result.uidvalidity == info.uidvalidity
        for uid, raw in zip(uids, [*MESSAGES, big], strict=True):
            assert c.fetch_bytes(uid) == raw
        got = c.fetch(uids, ["BODY.PEEK[]", "RFC822.SIZE", "FLAGS"])
        for uid, raw in zip(uids, [*MESSAGES, big], strict=True):
            assert got[uid]["BODY[]"] == raw
            assert set(got[uid].flags) >= {"\\Seen", "$Label1"}
        # A partial fetch: the first 16 octets of the body text.
        part = c.fetch(uids[0], ["BODY.PEEK[TEXT]<0.16>"])[uids[0]]
        assert part["BODY.PEEK[TEXT]<0.16>"] == b"Hello,\r\n.with a "
        message = compose(from_="a@example.test", to=["b@example.test"], subject="composed",
                          text="Grüße\n", attachments=[("x.bin", bytes(range(256)),
                                                       "application/octet-stream")])
        uid = c.append(box, message).uid
        assert c.fetch_bytes(uid) == message.to_bytes()
        assert c.fetch_message(uid).attachments[0].get_bytes() == bytes(range(256))
        with pytest.raises(IMAPNoSuchMessage):
            c.fetch_bytes(99_999)
        c.close_mailbox()
        c.delete(box)


def test_envelope_bodystructure_and_dates(kind: str, dovecot: dict[str, str]) -> None:
    box = f"struct-{kind}"
    when = datetime(2023, 6, 7, 8, 9, 10, tzinfo=timezone(timedelta(hours=2)))
    with session(kind, dovecot) as c:
        c.create(box)
        uid = c.append(box, MESSAGES[2], date=when).uid
        c.select(box)
        item = c.fetch(uid, ["ENVELOPE", "BODYSTRUCTURE", "INTERNALDATE", "RFC822.SIZE"])[uid]
        env = item.envelope
        assert env is not None and env.subject == "résumé"
        assert env.from_[0].name == "Rémi" and env.from_[0].addr_spec == "remi@example.test"
        assert env.sender == env.from_  # RFC 3501: filled from From
        assert [type(a).__name__ for a in env.to] == ["Mailbox", "Group"]
        assert env.to.addr_specs == ("a@example.test", "b@example.test", "c@example.test")
        body = item.bodystructure
        assert body is not None and body.mime_type == "multipart/mixed"
        assert body.params["boundary"] == "b1"
        text, pdf = body.parts
        # "see attached" then the boundary's CRLF: no line break of its own.
        assert text.charset == "utf-8" and text.lines == 0 and text.section == "1"
        assert pdf.filename == "cv.pdf" and pdf.disposition == "attachment"
        assert pdf.encoding == "base64" and pdf.size == 12 and pdf.section == "2"
        assert c.fetch(uid, "BODY.PEEK[2]")[uid]["BODY[2]"] == b"JVBERi0xLjQK"
        assert item.internaldate == when and item.size == len(MESSAGES[2])
        c.close_mailbox()
        c.delete(box)


def test_search_store_copy_move_expunge(kind: str, dovecot: dict[str, str]) -> None:
    box, archive = f"ops-{kind}", f"ops-archive-{kind}"
    with session(kind, dovecot) as c:
        c.create(box)
        c.create(archive)
        old = datetime(2020, 5, 5, 12, tzinfo=UTC)
        new = datetime(2024, 5, 5, 12, tzinfo=UTC)
        u1 = c.append(box, MESSAGES[0], date=old).uid
        u2 = c.append(box, MESSAGES[1], flags=["\\Seen"], date=new).uid
        u3 = c.append(box, MESSAGES[2], flags=["\\Flagged"], date=new).uid
        c.select(box)
        assert c.search() == [u1, u2, u3]
        assert c.search("UNSEEN") == [u1, u3]
        assert c.search(["UNSEEN", ("SINCE", date(2024, 1, 1))]) == [u3]
        assert c.search(before=date(2021, 1, 1)) == [u1]
        assert c.search(subject="Grüße") == [u2]            # raw 8-bit header
        assert c.search(("SUBJECT", "résumé")) == [u3]       # RFC 2047 encoded header
        assert c.search(from_="jürgen") == [u2]
        assert c.search(("OR", "FLAGGED", ("FROM", "alice"))) == [u1, u3]
        assert c.search("FROM alice NOT SEEN") == [u1]
        assert c.search(("HEADER", "X-Trailing", "spaces")) == [u2]
        assert c.search_summary("UNSEEN", uids=True) == SearchSummary(
            count=2, min=u1, max=u3, uids=(u1, u3))
        assert c.search_summary(("HEADER", "X-None", "zzz")) == SearchSummary(count=0)
        # Dovecot's SORT: u2 and u3 arrived at the same time, a tie kept in
        # mailbox order even under REVERSE (as our server does).
        assert c.sort("REVERSE ARRIVAL") == [u2, u3, u1]
        assert c.sort(["SIZE"], "UNSEEN") == sorted(
            [u1, u3], key=lambda u: len(MESSAGES[[u1, u2, u3].index(u)]))
        assert c.search(uid=[u2, u3], seen=False) == [u3]
        assert c.search(larger=max(len(MESSAGES[0]), len(MESSAGES[1])) + 2) == [u3]
        flags = c.store([u1, u2], add_flags=["\\Answered", "$Done"])
        assert set(flags[u1]) >= {"\\Answered", "$Done"} and "\\Seen" in flags[u2]
        assert c.store(u1, remove_flags=["$Done"], silent=True) == {}
        assert "$Done" not in c.fetch(u1, "FLAGS")[u1].flags
        # \Recent is the server's alone (RFC 3501 2.3.2): it stays.
        assert set(c.store(u1, set_flags=["\\Draft"])[u1]) - {"\\Recent"} == {"\\Draft"}
        copied = c.copy([u1, u2], archive)
        assert copied is not None and copied.source_uids == (u1, u2)
        assert copied.uidvalidity == c.status(archive)["UIDVALIDITY"]
        with pytest.raises(IMAPCommandError) as err:
            c.copy(u1, "no-such-box")
        assert err.value.code_name == "TRYCREATE"
        moved = c.move([u3], archive)
        assert moved is not None and moved.source_uids == (u3,)
        assert len(moved.dest_uids) == 1
        assert c.search() == [u1, u2] and c.selected.exists == 2
        c.store(u1, add_flags=["\\Deleted"])
        assert c.expunge(u1) == [1]
        assert c.search() == [u2] and c.selected.exists == 1
        c.select(archive)
        assert c.fetch(moved.dest_uids[0], "BODY.PEEK[]")[moved.dest_uids[0]]["BODY[]"] == \
            MESSAGES[2]
        c.close_mailbox()
        c.delete(archive)
        c.delete(box)


def test_idle_woken_by_a_delivery(kind: str, dovecot: dict[str, str]) -> None:
    with session(kind, dovecot, user="bob") as c:
        start = c.select("INBOX").exists
        subject = f"idle wake-up {kind} {time.time()}"

        def later() -> None:
            time.sleep(0.3)
            deliver(dovecot, "bob", f"Subject: {subject}\r\n\r\nwake up\r\n".encode())

        thread = threading.Thread(target=later)
        thread.start()
        seen = []
        t0 = time.monotonic()
        for event in c.idle(timeout=20):
            seen.append(event)
            if isinstance(event, ExistsResponse):
                break
        thread.join()
        assert time.monotonic() - t0 < 10
        assert seen[-1] == ExistsResponse(count=start + 1)
        assert c.selected.exists == start + 1
        (uid,) = c.search(subject=subject)
        assert c.fetch_message(uid).subject == subject
        # A short IDLE that sees nothing ends on its own; the session goes on.
        assert list(c.idle(timeout=0.2)) == []
        assert c.noop() is not None


def test_plaintext_login_needs_tls_off_loopback(kind: str, dovecot: dict[str, str]) -> None:
    with CLIENTS[kind]("127.0.0.1", int(dovecot["IMAP_PORT"]), ssl_context=_ca(dovecot)) as c:
        c._session.loopback = False  # as if Dovecot were across the network
        with pytest.raises(IMAPNotSupportedError):
            c.login("alice", "secret")
        c.starttls()
        assert c.tls and "AUTH=PLAIN" in c.capabilities
        c.login("alice", "secret")


def test_wrong_password(kind: str, dovecot: dict[str, str]) -> None:
    # Last in the module, and once: Dovecot delays every later login from an
    # address that failed (its auth penalty, 4 s after the second failure).
    # Both clients run the same logic; the fake-server tests cover both.
    if kind != "async":
        return
    with CLIENTS[kind]("127.0.0.1", int(dovecot["IMAP_PORT"])) as c, \
            pytest.raises(IMAPAuthenticationError) as info:
        c.login("alice", "wrong")
    assert info.value.code_name == "AUTHENTICATIONFAILED" and info.value.status == "NO"
