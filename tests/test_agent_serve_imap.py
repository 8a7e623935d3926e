"""The user agent against ``mimekit serve --imap-port``: the whole local
system end to end (submission with an IMAP Sent copy, fetch over IMAP, sync
both ways with a deletion on each side). Skipped when this build of
``mimekit serve`` has no IMAP server."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from agent_helpers import Served, local_view, message, mimekit_serve, remote_view

import mimekit.imap
from mimekit import compose
from mimekit.agent import Connector, PasswordResolver, fetch, parse_config, send, sync
from mimekit.imap import IMAPClient
from mimekit.mailstore import Maildir

pytestmark = pytest.mark.skipif(not hasattr(mimekit.imap, "IMAPServer"),
                                reason="mimekit serve has no IMAP server in this build")


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    with mimekit_serve(80, imap=True) as s:
        yield s


@pytest.fixture
def work(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("TEST_PW", "secret")
    path = Path(tempfile.mkdtemp(prefix="mimekit-ua-serve-imap-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _account(served: Served, work: Path, user: str) -> object:
    text = f"""
[accounts.x]
from = "{user}@example.test"
user = "{user}"
maildir = "{work / 'mail'}"
password_env = "TEST_PW"
ca_file = "{served.ca}"
[accounts.x.smtp]
host = "127.0.0.1"
port = {served.ports['submission']}
tls = "starttls"
[accounts.x.imap]
host = "127.0.0.1"
port = {served.ports['imap']}
tls = "starttls"
"""
    return parse_config(text, work / "accounts.toml").account()


def _imap(served: Served, user: str) -> IMAPClient:
    client = IMAPClient("127.0.0.1", served.ports["imap"], tls="starttls",
                        ssl_context=__import__("ssl").create_default_context(
                            cafile=str(served.ca)))
    client.connect()
    client.login(user, "secret")
    return client


def test_send_fetch_sync_on_the_local_system(served: Served, work: Path) -> None:
    account = _account(served, work, "alice")
    connector = Connector(PasswordResolver())
    msg = compose(from_="alice@example.test", to="bob@example.test", subject="to bob",
                  text="over submission\n")
    outcome = send(account, connector, msg)  # type: ignore[arg-type]
    assert list(outcome.accepted) == ["bob@example.test"]
    assert outcome.sent_copy == "imap Sent"
    assert served.wait_for("bob", 1)

    server = Maildir(served.mailbox("alice"), create=True)
    for i in range(3):
        server.add(message(i))
    assert fetch(account, connector).fetched == 3  # type: ignore[arg-type]

    # sync pairs what fetch stored (by content) and brings down the Sent copy.
    first = sync(account, connector)  # type: ignore[arg-type]
    assert first.matched == 3 and first.downloaded == 1 and not first.conflicts
    md = Maildir(work / "mail")
    md.add_flag(md.keys()[0], "F")
    md.remove(md.keys()[1])
    md.add(message("local"))
    server.add(message("remote"))
    server.remove(server.keys()[2])
    second = sync(account, connector)  # type: ignore[arg-type]
    assert (second.uploaded, second.downloaded) == (1, 1)
    assert (second.deleted_local, second.deleted_remote, second.flags_remote) == (1, 1, 1)
    client = _imap(served, "alice")
    try:
        assert remote_view(client, "INBOX") == local_view(md)
        assert remote_view(client, "Sent") == local_view(md.folder("Sent"))
    finally:
        client.logout()
