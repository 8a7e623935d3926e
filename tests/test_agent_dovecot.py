"""The user agent against real peers: Dovecot (IMAP, POP3), Postfix
(submission, delivering by LMTP into Dovecot) and the aiosmtpd sink.

send (the message arrives, Bcc is not transmitted, the Sent copy is
APPENDed), fetch over IMAP and POP3 (incremental, interrupted at each point
of storing, after a UIDVALIDITY change, --delete), and sync (flags both
ways, new messages both ways, a deletion on each side, conflicts, folders,
UIDVALIDITY changes, interruptions), comparing both sides byte for byte.
Each test has its own Dovecot user, so none sees another's mail.
"""

from __future__ import annotations

import mailbox
import shutil
import tempfile
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from agent_helpers import (
    deliver,
    dovecot,
    dovecot_account,
    imap_admin,
    local_view,
    message,
    postfix,
    remote_view,
    reset_uidvalidity,
    smtp_sink,
)

from mimekit import compose
from mimekit.agent import (
    Account,
    Connector,
    PasswordResolver,
    StreamReporter,
    fetch,
    parse_config,
    send,
    sync,
)
from mimekit.mailstore import Maildir


@pytest.fixture(scope="module")
def dv() -> Iterator[dict[str, str]]:
    with dovecot() as info:
        yield info


@pytest.fixture(scope="module")
def sink(dv: dict[str, str]) -> Iterator[dict[str, str]]:
    with smtp_sink() as info:
        yield info


@pytest.fixture
def work(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("TEST_PW", "secret")
    path = Path(tempfile.mkdtemp(prefix="mimekit-ua-dv-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _account(dv: dict[str, str], work: Path, user: str, *, fetch_via: str = "imap",
             smtp: str = "") -> Account:
    text = dovecot_account(dv, work / "mail", user=user, fetch=fetch_via, smtp=smtp)
    return parse_config(text, work / "accounts.toml").account()


def _connector() -> Connector:
    return Connector(PasswordResolver())


class Crash(Exception):
    pass


def _crash_at(point: str, nth: int) -> Any:
    seen: list[str] = []

    def hook(event: str, what: str) -> None:
        seen.append(event)
        if event == point and seen.count(point) == nth:
            raise Crash(f"{event} {what}")
    return hook


# -- send ------------------------------------------------------------------------------


def test_send_via_sink_with_sent_copy_over_imap(dv: dict[str, str], sink: dict[str, str],
                                                work: Path) -> None:
    smtp = f'[accounts.dv.smtp]\nhost = "127.0.0.1"\nport = {sink["SMTP_PORT"]}\ntls = "none"\n'
    account = _account(dv, work, "alice", smtp=smtp)  # a user the sink knows too
    msg = compose(from_="Alice <alice@example.test>", to=["bob@example.test",
                  "nobody@example.test"], bcc="secret-friend@example.test",
                  subject="via the sink", text="hello\n")
    outcome = send(account, _connector(), msg)
    assert set(outcome.accepted) == {"bob@example.test", "secret-friend@example.test"}
    assert list(outcome.refused) == ["nobody@example.test"]
    assert outcome.refused["nobody@example.test"].startswith("550")
    got = [m for m in mailbox.Maildir(sink["MAILDIR"]).values()
           if m["Subject"] == "via the sink"]
    assert len(got) == 1
    raw = got[0].as_bytes()
    assert b"secret-friend@example.test" in got[0]["X-Sink-Rcpt-To"].encode()
    assert b"Bcc" not in raw.split(b"\n\n", 1)[0]
    assert outcome.sent_copy == "imap Sent"
    with imap_admin(dv, "alice") as c:
        c.select("Sent")
        (uid,) = c.search(subject="via the sink")
        item = c.fetch(uid, ["FLAGS", "BODY.PEEK[]"])[uid]
        assert "\\Seen" in item.flags
        assert b"Subject: via the sink" in item["BODY.PEEK[]"]  # type: ignore[operator]


def test_send_via_postfix_submission_arrives_in_dovecot(dv: dict[str, str],
                                                        work: Path) -> None:
    with postfix(dv) as pf:
        smtp = (f'[accounts.dv.smtp]\nhost = "127.0.0.1"\nport = {pf["SUBMISSION_PORT"]}\n'
                'tls = "none"\n')
        account = _account(dv, work, "alice", smtp=smtp)
        msg = compose(from_="alice@example.test", to="bob@example.test",
                      subject="through postfix", text="relayed by LMTP\n")
        outcome = send(account, _connector(), msg)
        assert list(outcome.accepted) == ["bob@example.test"] and not outcome.refused
        deadline = time.monotonic() + 30
        found: list[int] = []
        while not found and time.monotonic() < deadline:
            with imap_admin(dv, "bob") as c:
                c.select("INBOX")
                found = c.search(subject="through postfix")
            if not found:
                time.sleep(0.3)
        assert found, "the message did not arrive in bob's INBOX"
    with imap_admin(dv, "alice") as c:
        c.select("Sent")
        assert c.search(subject="through postfix")


# -- fetch -----------------------------------------------------------------------------


def _stored(md: Maildir) -> list[bytes]:
    return sorted(md.get_bytes(k) for k in md)


def test_fetch_imap_incremental_interrupted_uidvalidity_delete(dv: dict[str, str],
                                                               work: Path) -> None:
    account = _account(dv, work, "dave")
    for i in range(4):
        deliver(dv, "dave", message(i))
    with pytest.raises(Crash):
        fetch(account, _connector(), hook=_crash_at("stored", 2))
    md = Maildir(work / "mail")
    assert len(md) == 2  # the second is stored, its record is not
    again = fetch(account, _connector())
    assert (again.fetched, again.recovered) == (2, 1)
    with imap_admin(dv, "dave") as c:
        server = remote_view(c, "INBOX")
    assert [d for d, _f in server] == [d for d, _f in local_view(md)]
    for i in range(4, 6):
        deliver(dv, "dave", message(i))
    assert fetch(account, _connector()).fetched == 2
    # The server forgets its UIDs: the six messages are recognised, not doubled.
    reset_uidvalidity(dv, "dave")
    rep = StreamReporter(stream=open("/dev/null", "w"))  # noqa: SIM115
    after = fetch(account, _connector(), reporter=rep)
    rep.stream.close()
    assert (after.fetched, after.matched) == (0, 6)
    assert any("UIDVALIDITY changed" in w for w in rep.warnings)
    deliver(dv, "dave", message(6))
    out = fetch(account, _connector(), delete=True)
    assert (out.fetched, out.deleted) == (1, 7)
    assert len(md) == 7
    with imap_admin(dv, "dave") as c:
        assert c.select("INBOX").exists == 0


def test_fetch_imap_keeps_flags_and_since(dv: dict[str, str], work: Path) -> None:
    account = _account(dv, work, "erin")
    deliver(dv, "erin", message(1))
    with imap_admin(dv, "erin") as c:
        c.append("INBOX", message(2), flags=["\\Seen", "\\Flagged"],
                 date=__import__("datetime").datetime(2015, 5, 5, tzinfo=__import__(
                     "datetime").UTC))
    out = fetch(account, _connector(), since=date(2020, 1, 1))
    assert (out.fetched, out.skipped) == (1, 1)
    out = fetch(account, _connector())
    assert out.fetched == 1
    md = Maildir(work / "mail")
    assert sorted(md.get_flags(k) for k in md) == ["", "FS"]


def test_fetch_pop3_from_dovecot(dv: dict[str, str], work: Path) -> None:
    account = _account(dv, work, "frank", fetch_via="pop3")
    for i in range(5):
        deliver(dv, "frank", message(i))
    with pytest.raises(Crash):
        fetch(account, _connector(), hook=_crash_at("recorded", 3))
    out = fetch(account, _connector())
    assert out.fetched == 2 and out.source == "pop3://frank@127.0.0.1"
    md = Maildir(work / "mail")
    with imap_admin(dv, "frank") as c:
        assert [d for d, _f in remote_view(c, "INBOX")] == [d for d, _f in local_view(md)]
    deliver(dv, "frank", message(9))
    out = fetch(account, _connector(), delete=True)
    assert (out.fetched, out.deleted) == (1, 6)
    with imap_admin(dv, "frank") as c:
        assert c.select("INBOX").exists == 0
    assert len(md) == 6


# -- sync ------------------------------------------------------------------------------


def _assert_same(dv: dict[str, str], user: str, root: Path,
                 folders: tuple[str, ...] = ("INBOX",)) -> None:
    md = Maildir(root)
    with imap_admin(dv, user) as c:
        for name in folders:
            local = md if name == "INBOX" else md.folder(name.replace("/", "."))
            assert remote_view(c, name) == local_view(local), name


def _key_with(md: Maildir, text: bytes) -> str:
    (key,) = [k for k in md if text in md.get_bytes(k)]
    return key


def _uid_with(c: Any, text: str) -> int:
    (uid,) = c.search(body=text)
    return int(uid)


def test_sync_both_ways_with_deletions_and_conflicts(dv: dict[str, str], work: Path) -> None:
    user = "grace"
    account = _account(dv, work, user)
    for name in "ABCDXY":
        deliver(dv, user, message(name, body=f"msg-{name}"))
    deliver(dv, user, message("arch", body="msg-arch"), "Archive")
    first = sync(account, _connector())
    assert first.downloaded == 7 and not first.conflicts
    assert {"Sent", "Trash", "Archive"} <= set(first.created_local)
    _assert_same(dv, user, work / "mail", ("INBOX", "Archive", "Sent"))
    md = Maildir(work / "mail")

    # Changes on both sides between two syncs.
    md.add_flag(_key_with(md, b"msg-A"), "F")          # here: A flagged
    md.add_flag(_key_with(md, b"msg-B"), "S")          # here: B read
    md.remove(_key_with(md, b"msg-C"))                 # here: C deleted
    md.add(b"From: g@example.test\nSubject: local new\n\nmsg-local\n", flags="S")
    projects = md.add_folder("Projects")
    projects.add(b"Subject: plan\n\nmsg-plan\n")
    with imap_admin(dv, user) as c:
        c.select("INBOX")
        c.store(_uid_with(c, "msg-A"), add_flags=["\\Seen"])     # there: A read
        d = _uid_with(c, "msg-D")
        c.store(d, add_flags=["\\Deleted"])                      # there: D deleted
        c.expunge([d])
    deliver(dv, user, message("R", body="msg-remote"))          # there: a new one
    second = sync(account, _connector())
    assert not second.conflicts and not second.errors
    assert (second.downloaded, second.uploaded) == (1, 2)
    assert (second.deleted_local, second.deleted_remote) == (1, 1)
    assert second.created_remote == ["Projects"]
    _assert_same(dv, user, work / "mail", ("INBOX", "Archive", "Projects"))
    assert md.get_flags(_key_with(md, b"msg-A")) == "FS"      # merged, both sides
    with imap_admin(dv, user) as c:
        c.select("INBOX", readonly=True)
        for gone in ("msg-C", "msg-D"):
            assert not c.search(body=gone)

    # Conflicts: X deleted here but flagged there; Y deleted there but
    # flagged here. Both are kept on both sides and reported.
    md.remove(_key_with(md, b"msg-X"))
    md.add_flag(_key_with(md, b"msg-Y"), "F")
    with imap_admin(dv, user) as c:
        c.select("INBOX")
        c.store(_uid_with(c, "msg-X"), add_flags=["\\Flagged"])
        y = _uid_with(c, "msg-Y")
        c.store(y, add_flags=["\\Deleted"])
        c.expunge([y])
    third = sync(account, _connector())
    assert len(third.conflicts) == 2
    assert any("deleted here but changed on the server" in t for t in third.conflicts)
    assert any("deleted on the server but changed here" in t for t in third.conflicts)
    _assert_same(dv, user, work / "mail", ("INBOX",))
    assert _key_with(md, b"msg-X") and _key_with(md, b"msg-Y")
    fourth = sync(account, _connector())
    assert (fourth.downloaded, fourth.uploaded, fourth.flags_local, fourth.flags_remote,
            fourth.deleted_local, fourth.deleted_remote, fourth.conflicts) == \
        (0, 0, 0, 0, 0, 0, [])


def test_sync_uidvalidity_changes_lose_nothing(dv: dict[str, str], work: Path) -> None:
    user = "heidi"
    account = _account(dv, work, user)
    for i in range(3):
        deliver(dv, user, message(i))
    for i in range(2):
        deliver(dv, user, message(f"a{i}"), "Archive")
    sync(account, _connector())
    md = Maildir(work / "mail")
    md.add_flag(md.keys()[0], "F")
    # INBOX: the server renumbers (same messages); Archive: deleted and made
    # again on the server, empty (its messages only exist here now).
    reset_uidvalidity(dv, user)
    with imap_admin(dv, user) as c:
        c.delete("Archive")
        c.create("Archive")
    out = sync(account, _connector())
    assert out.matched == 3 and out.downloaded == 0
    assert out.uploaded == 2  # Archive's two, back on the server
    assert out.flags_remote == 1  # the flag set here since the last sync went up
    _assert_same(dv, user, work / "mail", ("INBOX", "Archive"))
    with imap_admin(dv, user) as c:
        assert c.select("INBOX").exists == 3 and c.select("Archive").exists == 2
    assert len(md) == 3 and len(md.folder("Archive")) == 2


def test_first_sync_pairs_what_fetch_already_stored(dv: dict[str, str], work: Path) -> None:
    user = "ivan"
    account = _account(dv, work, user)
    for i in range(3):
        deliver(dv, user, message(i))
    fetch(account, _connector())
    out = sync(account, _connector(), folders=["INBOX"])
    assert (out.matched, out.downloaded, out.uploaded) == (3, 0, 0)
    assert out.folders == ["INBOX"]


@pytest.mark.parametrize("point", ["downloaded", "uploaded"])
def test_sync_interrupted_resumes_without_duplicates(dv: dict[str, str], work: Path,
                                                     point: str) -> None:
    user = "judy" if point == "downloaded" else "mallory"
    account = _account(dv, work, user)
    sync(account, _connector())
    for i in range(3):
        deliver(dv, user, message(f"r{i}"))
    md = Maildir(work / "mail")
    for i in range(3):
        md.add(message(f"l{i}"))
    with pytest.raises(Crash):
        sync(account, _connector(), hook=_crash_at(point, 2))
    out = sync(account, _connector())
    assert out.recovered == 1
    assert out.downloaded + out.uploaded == (4 if point == "downloaded" else 1)
    _assert_same(dv, user, work / "mail")
    with imap_admin(dv, user) as c:
        assert c.select("INBOX").exists == 6
    assert len(md) == 6
