"""Real IMAP clients against our server.

* **imapclient**: its parsed results (SELECT data, LIST flags, ENVELOPE,
  BODYSTRUCTURE, flags, APPENDUID/COPYUID) and IDLE.
* **mbsync** (isync): a two-way sync of folders and flags, then changes on
  both sides, then an incremental run, then a run with nothing to do.
* **fetchmail** and **getmail6** over IMAP: keep, then delete.
* **our own IMAPClient**: every method, bytes identical to those appended.

Our server runs in a thread on a free loopback port; the clients' work dirs
come from ``tempfile.mkdtemp`` under /tmp (they run as ``nobody`` in places).
Skips only when a client is not installed.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from imap_server_fixtures import (
    MSG,
    PASSWORD,
    PEERS,
    Running,
    mail_client,
    message,
    running_server,
    workdir,
)

from mimekit.imap import ExistsResponse, IMAPClient, IMAPServerConfig, SearchSummary
from mimekit.mailstore import Maildir

if not (PEERS / "mail-client").exists():
    pytest.skip(f"shared/peers not found at {PEERS}", allow_module_level=True)

EIGHT_BIT = "From: José <jose@example.test>\nSubject: Grüße\n\nÄpfel und Birnen\n".encode()


@pytest.fixture(scope="module")
def srv() -> Iterator[Running]:
    root = workdir("mimekit-imapsrv-interop-")
    try:
        with running_server(IMAPServerConfig(auth_failure_delay=0.0, idle_poll=1.0),
                            root=root) as running:
            yield running
    finally:
        shutil.rmtree(root, ignore_errors=True)


def lf(data: bytes) -> bytes:
    return data.replace(b"\r\n", b"\n")


def same_message(got: bytes, want: bytes) -> bool:
    """``got`` is ``want`` as a client stored it: line ends may be LF, and
    the client may have added header fields (trace fields, mbsync's X-TUID,
    getmail's X-getmail-retrieved-from-mailbox), but the body is the same and
    every field of ``want`` is there."""
    g_head, _, g_body = lf(got).partition(b"\n\n")
    w_head, _, w_body = lf(want).partition(b"\n\n")
    return g_body == w_body and all(line in g_head.split(b"\n")
                                    for line in w_head.split(b"\n"))


def same_messages(got: list[bytes], want: list[bytes]) -> None:
    assert len(got) == len(want), (len(got), len(want))
    for w in want:
        assert any(same_message(g, w) for g in got), w[:80]


# -- imapclient ---------------------------------------------------------------------------


def test_imapclient_parsed_results_and_idle(srv: Running) -> None:
    imapclient = pytest.importorskip("imapclient")
    c = imapclient.IMAPClient("127.0.0.1", port=srv.port, ssl=False, timeout=15)
    c.login("ic-user", PASSWORD)
    assert b"IDLE" in c.capabilities() and b"MOVE" in c.capabilities()
    folders = {name: flags for flags, _delim, name in c.list_folders()}
    assert b"\\Sent" in folders["Sent"] and b"\\HasNoChildren" in folders["INBOX"]
    assert c.find_special_folder(imapclient.imapclient.TRASH) == "Trash"
    uid = int(c.append("INBOX", MSG, flags=[imapclient.SEEN]).split()[2].rstrip(b"]"))
    c.append("INBOX", EIGHT_BIT)
    info = c.select_folder("INBOX")
    assert info[b"EXISTS"] == 2 and info[b"UIDNEXT"] == 3 and info[b"READ-WRITE"]
    assert b"\\Deleted" in info[b"PERMANENTFLAGS"] and info[b"UIDVALIDITY"] > 0
    assert c.search(["UNSEEN"]) == [2] and c.search(["SUBJECT", "hello"]) == [uid]
    data = c.fetch([1, 2], ["ENVELOPE", "BODYSTRUCTURE", "FLAGS", "RFC822.SIZE", "BODY.PEEK[]",
                            "INTERNALDATE"])
    env = data[1][b"ENVELOPE"]
    assert env.subject == b"hello" and env.from_[0].mailbox == b"carol"
    assert env.from_[0].host == b"far.test" and env.message_id == b"<1@far.test>"
    assert data[1][b"BODY[]"] == MSG and data[1][b"RFC822.SIZE"] == len(MSG)
    assert data[2][b"BODY[]"] == EIGHT_BIT.replace(b"\n", b"\r\n")  # sent with CRLF
    assert data[2][b"BODYSTRUCTURE"][:2] == (b"text", b"plain")
    assert data[1][b"FLAGS"] == (b"\\Seen", b"\\Recent")
    c.add_flags([2], [imapclient.FLAGGED, "$Work"])
    assert c.get_flags([2])[2] == (b"\\Flagged", b"$Work", b"\\Recent")
    c.remove_flags([2], [imapclient.FLAGGED])
    copied = c.copy([1], "Archive")
    assert copied is None or b"COPYUID" in copied
    c.move([2], "Archive")
    assert c.search() == [1]
    c.delete_messages([1])
    c.expunge()
    assert c.folder_status("Archive", ["MESSAGES", "UNSEEN"]) == {b"MESSAGES": 2, b"UNSEEN": 1}
    c.create_folder("Projects/x")
    c.rename_folder("Projects/x", "Projects/y")
    assert c.folder_exists("Projects/y") and not c.folder_exists("Projects/x")
    assert c.namespace().personal == (("", "/"),)
    assert c.id_({"name": "imapclient"})[0][:2] == (b"name", b"mimekit")

    # IDLE: a message appended by another session is reported at once.
    c.select_folder("INBOX")
    c.idle()
    other = srv.imap("ic-user")
    other.append("INBOX", None, None, MSG)
    responses = c.idle_check(timeout=5)
    assert (2, b"EXISTS") in responses or (1, b"EXISTS") in responses
    c.idle_done()
    other.logout()
    c.logout()


# -- mbsync ------------------------------------------------------------------------------


def _mbsync(srv: Running, out: Path) -> None:
    mail_client("mbsync", "--port", str(srv.port), "--user", "mb-user", "--pass", PASSWORD,
                "--out", str(out))


def _local(out: Path, folder: str) -> dict[str, tuple[str, bytes]]:
    """{file name without flags: (flags, bytes)} of a local mbsync folder."""
    found: dict[str, tuple[str, bytes]] = {}
    for sub in ("new", "cur"):
        for f in (out / folder / sub).iterdir():
            base, _, info = f.name.partition(":2,")
            found[base] = (info, f.read_bytes())
    return found


@pytest.mark.skipif(shutil.which("mbsync") is None, reason="mbsync (isync) not installed")
def test_mbsync_two_way_incremental(srv: Running) -> None:
    c = srv.imap("mb-user")
    for n in range(1, 4):
        c.append("INBOX", r"(\Seen)" if n == 1 else None, None, message(n))
    c.create("Lists/python")
    c.append("Lists/python", r"(\Flagged)", None, message(10))
    c.logout()
    out = workdir("mimekit-mbsync-")
    try:
        _mbsync(srv, out)
        inbox = _local(out, "INBOX")
        same_messages([b for _f, b in inbox.values()], [message(n) for n in (1, 2, 3)])
        assert sorted(f for f, _b in inbox.values()) == ["", "", "S"]
        assert [f for f, _b in _local(out, "Lists/python").values()] == ["F"]
        for special in ("Sent", "Drafts", "Trash", "Junk", "Archive"):
            assert (out / special / "cur").is_dir()

        # Changes on both sides.
        first_names = set(inbox)
        seen_base = next(k for k, (f, _b) in inbox.items() if f == "")
        src = next(p for sub in ("new", "cur") for p in (out / "INBOX" / sub).iterdir()
                   if p.name.startswith(seen_base))
        src.rename(out / "INBOX" / "cur" / (seen_base + ":2,FS"))  # flag locally
        local_new = Maildir(out / "INBOX", create=False)
        local_new.add(message(20, "written locally"))
        local_folder = Maildir(out / "Local", create=True)
        local_folder.add(message(30, "in a new local folder"))
        c = srv.imap("mb-user")
        c.append("INBOX", None, None, message(4, "new on the server"))
        c.select("Lists/python")
        c.store("1", "+FLAGS", r"(\Seen)")
        c.logout()
        time.sleep(1.1)  # mbsync skips Maildirs modified within the last second
        _mbsync(srv, out)

        c = srv.imap("mb-user")
        c.select("INBOX")
        _typ, data = c.fetch("1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        server_inbox = {line[1].decode().strip(): line[0].decode() for line in data
                        if isinstance(line, tuple)}
        subjects = [s.removeprefix("Subject: ") for s in server_inbox]
        assert sorted(subjects) == ["message 1", "message 2", "message 3",
                                    "new on the server", "written locally"]
        flagged = [s for s, head in server_inbox.items() if "\\Flagged" in head]
        assert len(flagged) == 1
        assert "Local" in str(c.list()[1])
        c.select("Local")
        assert c.search(None, "ALL")[1] == [b"1"]
        c.logout()
        inbox = _local(out, "INBOX")
        assert first_names <= set(inbox)  # nothing was fetched again
        assert len(inbox) == 5 and any(same_message(b, message(4, "new on the server"))
                                       for _f, b in inbox.values())
        assert [f for f, _b in _local(out, "Lists/python").values()] == ["FS"]

        # A deletion travels too (Expunge Both), and an idle run changes nothing.
        victim = next(p for p in (out / "INBOX" / "cur").iterdir() if ":2,FS" in p.name)
        victim.unlink()
        time.sleep(1.1)
        _mbsync(srv, out)
        c = srv.imap("mb-user")
        c.select("INBOX")
        assert len(c.search(None, "ALL")[1][0].split()) == 4  # type: ignore[union-attr]
        uidnext = c.status("INBOX", "(UIDNEXT)")[1][0]
        c.logout()
        before = {p.name for p in (out / "INBOX").rglob("*")}
        time.sleep(1.1)
        _mbsync(srv, out)
        assert {p.name for p in (out / "INBOX").rglob("*")} == before
        c = srv.imap("mb-user")
        assert c.status("INBOX", "(UIDNEXT)")[1][0] == uidnext
        c.logout()
    finally:
        shutil.rmtree(out, ignore_errors=True)


# -- fetchmail, getmail6 ------------------------------------------------------------------


def _fetched(out: Path) -> list[bytes]:
    return [f.read_bytes() for f in sorted((out / "new").iterdir())]


@pytest.mark.skipif(shutil.which("fetchmail") is None, reason="fetchmail not installed")
def test_fetchmail_imap_keep_then_delete(srv: Running) -> None:
    msgs = [message(n) for n in range(1, 4)] + [EIGHT_BIT]
    c = srv.imap("fm-user")
    for m in msgs:
        c.append("INBOX", None, None, m)
    c.logout()
    out = workdir("mimekit-fetchmail-")
    try:
        common = ["fetchmail", "--proto", "imap", "--port", str(srv.port), "--user",
                  "fm-user", "--pass", PASSWORD]
        mail_client(*common, "--out", str(out / "keep"))
        same_messages(_fetched(out / "keep"), msgs)
        c = srv.imap("fm-user")
        c.select("INBOX")
        assert c.search(None, "SEEN")[1][0] == b"1 2 3 4"  # kept, marked read
        c.logout()
        mail_client(*common, "--out", str(out / "delete"), "--delete")
        same_messages(_fetched(out / "delete"), msgs)
        c = srv.imap("fm-user")
        c.select("INBOX")
        assert c.search(None, "ALL")[1] == [b""]
        c.logout()
    finally:
        shutil.rmtree(out, ignore_errors=True)


@pytest.mark.skipif(shutil.which("getmail") is None, reason="getmail6 not installed")
def test_getmail_imap(srv: Running) -> None:
    msgs = [message(n) for n in range(1, 4)] + [EIGHT_BIT]
    c = srv.imap("gm-user")
    for m in msgs:
        c.append("INBOX", None, None, m)
    c.logout()
    out = workdir("mimekit-getmail-")
    try:
        common = ["getmail", "--proto", "imap", "--port", str(srv.port), "--user", "gm-user",
                  "--pass", PASSWORD]
        mail_client(*common, "--out", str(out / "keep"))
        same_messages(_fetched(out / "keep"), msgs)
        mail_client(*common, "--out", str(out / "delete"), "--delete")
        same_messages(_fetched(out / "delete"), msgs)
        c = srv.imap("gm-user")
        c.select("INBOX")
        assert c.search(None, "ALL")[1] == [b""]
        c.logout()
    finally:
        shutil.rmtree(out, ignore_errors=True)


# -- our own client -------------------------------------------------------------------------


def test_our_client_every_method(srv: Running) -> None:
    big = b"From: a@example.test\r\nSubject: big\r\n\r\n" + b"0123456789abcdef\r\n" * 60_000
    with IMAPClient("127.0.0.1", srv.port, timeout=15) as c:
        c.login("own-user", PASSWORD)
        assert {"IDLE", "MOVE", "UIDPLUS", "SPECIAL-USE"} <= c.capability()
        boxes = {m.name: m for m in c.list_mailboxes()}
        assert boxes["Sent"].special_use == "\\Sent" and boxes["INBOX"].selectable
        c.create("Entwürfe")
        assert "Entwürfe" in {m.name for m in c.list_mailboxes()}
        appended = [c.append("INBOX", raw) for raw in (MSG, EIGHT_BIT, big)]
        assert [a.uid for a in appended if a is not None] == [1, 2, 3]
        st = c.select("INBOX")
        assert st.exists == 3 and st.uidnext == 4
        for uid, raw in zip((1, 2, 3), (MSG, EIGHT_BIT, big), strict=True):
            assert c.fetch_bytes(uid) == raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        assert c.fetch_message(1).subject == "hello"
        items = c.fetch([1, 2], ["FLAGS", "ENVELOPE", "BODYSTRUCTURE"])
        assert items[2].envelope is not None and items[2].envelope.subject == "Grüße"
        assert items[1].bodystructure is not None
        assert items[1].bodystructure.mime_type == "text/plain"
        assert c.search("UNSEEN") == [1, 2, 3]
        c.store([1], add_flags=["\\Seen", "$Done"])
        assert c.search("SEEN") == [1] and c.search(keyword="$Done") == [1]
        assert c.search(subject="Grüße") == [2]
        # ESEARCH (RFC 4731) on the wire: one short answer, not every UID.
        assert c.search_summary("UNSEEN", uids=True) == SearchSummary(
            count=2, min=2, max=3, uids=(2, 3))
        assert c.search_summary(keyword="$None") == SearchSummary(count=0)
        # SORT (RFC 5256): base subjects "hello", "Grüße", and the big one.
        assert c.sort("REVERSE ARRIVAL") == [3, 2, 1]
        assert c.sort(["REVERSE", "SIZE"], "UNSEEN") == [3, 2]
        copied = c.copy([1], "Archive")
        assert copied is not None and copied.dest_uids == (1,)
        moved = c.move([2], "Entwürfe")
        assert moved is not None and moved.source_uids == (2,)
        c.store([3], add_flags=["\\Deleted"])
        assert c.expunge() == [2] and c.search() == [1]  # sequence numbers
        assert c.status("Entwürfe")["MESSAGES"] == 1
        c.rename("Entwürfe", "Drafts/old")
        c.subscribe("Drafts/old")
        c.unsubscribe("Drafts/old")
        c.delete("Drafts/old")
        assert c.namespace().personal[0][1] == "/"
        assert c.id({"name": "mimekit-test"})["name"] == "mimekit"

        # IDLE, woken by another session's APPEND.
        def later() -> None:
            time.sleep(0.3)
            other = srv.imap("own-user")
            other.append("INBOX", None, None, MSG)
            other.logout()

        thread = threading.Thread(target=later)
        thread.start()
        got = []
        for event in c.idle(timeout=5):
            got.append(event)
            if isinstance(event, ExistsResponse):
                break
        thread.join()
        assert any(isinstance(e, ExistsResponse) for e in got)
        c.logout()
    assert os.path.isdir(srv.maildir("own-user") / ".Archive")
