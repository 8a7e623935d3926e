"""The user agent against ``mimekit serve`` (a real process on 127.0.0.1):
send through submission (STARTTLS, AUTH) with a local Sent copy, and fetch
over POP3: incremental, interrupted at each point of storing a message,
--delete, --since."""

from __future__ import annotations

import shutil
import smtplib
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from agent_helpers import Served, message, mimekit_serve, serve_account

from mimekit import compose
from mimekit.agent import (
    Connector,
    PasswordResolver,
    Reporter,
    digest,
    fetch,
    fetch_state_path,
    parse_config,
    send,
)
from mimekit.agent._fetch import _source
from mimekit.mailstore import Maildir


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    with mimekit_serve(0) as s:
        yield s


@pytest.fixture
def local(served: Served, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[object, Path]]:
    monkeypatch.setenv("TEST_PW", "secret")
    for user in ("alice", "bob"):
        for sub in ("new", "cur"):
            d = served.mailbox(user) / sub
            if d.is_dir():
                for f in d.iterdir():
                    f.unlink()
    work = Path(tempfile.mkdtemp(prefix="mimekit-ua-local-"))
    config = parse_config(serve_account(served, work / "mail"), work / "accounts.toml")
    try:
        yield config.account(), work / "mail"
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _connector() -> Connector:
    return Connector(PasswordResolver())


def _smtp_deliver(served: Served, *messages: bytes, rcpt: str = "alice@example.test") -> None:
    with smtplib.SMTP("127.0.0.1", served.ports["smtp"], timeout=10) as s:
        for raw in messages:
            s.sendmail("bob@example.test", [rcpt], raw)


def _server_digests(served: Served, user: str = "alice") -> list[str]:
    return sorted(digest(p.read_bytes()) for p in served.wait_for(user, 0, timeout=0))


def _local_digests(maildir: Path) -> list[str]:
    md = Maildir(maildir)
    return sorted(digest(md.get_bytes(k)) for k in md)


def test_send_arrives_bcc_hidden_sent_copy_kept(served: Served, local: tuple) -> None:
    account, maildir = local
    msg = compose(from_="Alice <alice@example.test>", to="bob@example.test",
                  bcc="alice@example.test", subject="lunch?", text="at noon\n")
    outcome = send(account, _connector(), msg)
    assert set(outcome.accepted) == {"bob@example.test", "alice@example.test"}
    assert not outcome.refused and outcome.sent_error is None
    (bob,) = served.wait_for("bob", 1)
    assert b"Subject: lunch?" in bob.read_bytes() and b"Bcc" not in bob.read_bytes()
    assert served.wait_for("alice", 1)
    sent = Maildir(maildir).folder("Sent")
    (key,) = sent.keys()
    assert sent.get_flags(key) == "S"
    assert b"Bcc: alice@example.test" in sent.get_bytes(key)  # the sender's own record
    assert outcome.sent_copy == str(sent.path)


def test_send_partial_refusal_is_a_result(served: Served, local: tuple) -> None:
    account, _maildir = local
    msg = compose(from_="alice@example.test", to=["bob@example.test", "nobody@example.test"],
                  subject="x", text="y")
    outcome = send(account, _connector(), msg)
    assert list(outcome.accepted) == ["bob@example.test"]
    assert list(outcome.refused) == ["nobody@example.test"]
    assert outcome.refused["nobody@example.test"].startswith("550")


def test_fetch_pop3_incremental(served: Served, local: tuple) -> None:
    account, maildir = local
    _smtp_deliver(served, *(message(i) for i in range(3)))
    served.wait_for("alice", 3)
    first = fetch(account, _connector())
    assert (first.fetched, first.source) == (3, "pop3://alice@127.0.0.1")
    assert _local_digests(maildir) == _server_digests(served)
    assert fetch(account, _connector()).fetched == 0
    _smtp_deliver(served, message(10), message(11))
    served.wait_for("alice", 5)
    assert fetch(account, _connector()).fetched == 2
    assert _local_digests(maildir) == _server_digests(served)
    assert len(Maildir(maildir)) == 5


class Crash(Exception):
    pass


@pytest.mark.parametrize("point", ["stored", "recorded"])
def test_fetch_pop3_interrupted_resumes_without_duplicates(served: Served, local: tuple,
                                                           point: str) -> None:
    account, maildir = local
    _smtp_deliver(served, *(message(i) for i in range(6)))
    served.wait_for("alice", 6)
    calls: list[str] = []

    def hook(event: str, uid: str) -> None:
        calls.append(event)
        if event == point and calls.count(point) == 3:
            raise Crash(f"killed at {event} of {uid}")

    with pytest.raises(Crash):
        fetch(account, _connector(), hook=hook)
    # Killed after storing the third message; the state may or may not say so.
    assert len(Maildir(maildir)) == 3
    again = fetch(account, _connector())
    assert again.fetched == 3
    assert again.recovered == (1 if point == "stored" else 0)
    assert _local_digests(maildir) == _server_digests(served)
    assert fetch(account, _connector()).fetched == 0


def test_fetch_pop3_delete_and_since(served: Served, local: tuple) -> None:
    account, maildir = local
    old = message("old").replace(b"Date: Mon, 01 Jan 2024", b"Date: Fri, 01 Jan 2010")
    _smtp_deliver(served, old, message(1), message(2))
    served.wait_for("alice", 3)
    since = fetch(account, _connector(), since=__import__("datetime").date(2020, 1, 1))
    assert (since.fetched, since.skipped) == (2, 1)
    # --delete removes what is fetched now and what earlier runs fetched.
    out = fetch(account, _connector(), delete=True)
    assert (out.fetched, out.deleted) == (1, 3)
    assert served.wait_for("alice", 0, timeout=0) == []
    assert len(Maildir(maildir)) == 3
    # The state forgot the deleted messages (compacted at the next run).
    fetch(account, _connector())
    state = fetch_state_path(maildir, _source(account.pop3, None)).read_text()
    assert state.count("\n") == 1


def test_reporter_progress_counts(served: Served, local: tuple) -> None:
    account, _maildir = local
    _smtp_deliver(served, *(message(i) for i in range(4)))
    served.wait_for("alice", 4)

    class Counting(Reporter):
        def __init__(self) -> None:
            self.made: list[object] = []

        def progress(self, label: str, total: int | None) -> object:  # type: ignore[override]
            p = super().progress(label, total)
            self.made.append(p)
            return p

    rep = Counting()
    fetch(account, _connector(), reporter=rep)
    (prog,) = rep.made
    assert (prog.label, prog.total, prog.done) == ("fetch", 4, 4)  # type: ignore[attr-defined]
