"""The server-side IMAP store over real Maildirs in temporary directories:
UIDs that survive restarts, flags and keywords, \\Recent, APPEND, COPY,
MOVE, EXPUNGE, and several sessions on one mailbox."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mimekit.imap._mailbox import MailboxHub, MailStore
from mimekit.imap._mailbox_errors import (
    FlagError,
    KeywordLimitError,
    MailboxExistsError,
    MailboxInUseError,
    MessageExpungedError,
    NoSuchMailboxError,
    ReadOnlyError,
    StatusItemError,
)
from mimekit.imap._seqset import SequenceSetError
from mimekit.mailstore import Maildir

MSG = b"From: a@example.org\r\nSubject: %d\r\n\r\nbody %d\r\n"


def msg(i: int) -> bytes:
    return MSG % (i, i)


@pytest.fixture
def store(tmp_path: Path) -> MailStore:
    return MailStore(tmp_path / "alice", hub=MailboxHub())


def reopen(store: MailStore) -> MailStore:
    """A new process's view of the same store: new hub, nothing cached."""
    return MailStore(store.root, hub=MailboxHub())


# -- UIDs across restarts -------------------------------------------------------------


def test_uids_persist_across_restarts(store: MailStore) -> None:
    uids = [store.append("INBOX", msg(i)).uid for i in range(5)]
    assert uids == [1, 2, 3, 4, 5]
    view = store.select("INBOX")
    validity = view.uidvalidity
    view.store([2], "+", ["\\Deleted"])
    view.expunge()
    view.unselect()

    again = reopen(store).select("INBOX")
    assert again.uidvalidity == validity
    assert again.uids == [1, 3, 4, 5]
    assert again.uidnext == 6
    assert reopen(store).append("INBOX", msg(9)).uid == 6


def test_files_added_and_removed_by_others(store: MailStore) -> None:
    view = store.select("INBOX")
    md = Maildir(store.root)
    keys = [md.add(msg(i)) for i in range(3)]  # another program delivers
    changes = view.refresh()
    assert changes.exists == 3 and view.uids == [1, 2, 3]
    assert changes.recent == 3  # first session to see them
    md.remove(keys[1])  # ... and deletes one
    md.set_flags(keys[2], "S")  # ... and reads one
    changes = view.refresh()
    assert changes.expunged == [2]
    assert changes.flags == [(2, 3, ("\\Seen", "\\Recent"))]
    assert view.uids == [1, 3]


def test_new_files_get_uids_in_delivery_order(store: MailStore) -> None:
    md = Maildir(store.root)
    keys = [md.add(msg(i)) for i in range(20)]
    view = store.select("INBOX")
    assert [view.folder.msgs[u].key for u in view.uids] == keys


def test_uidvalidity_is_new_after_delete_and_create(store: MailStore) -> None:
    store.create("Box")
    first = store.status("Box", ["UIDVALIDITY"])["UIDVALIDITY"]
    store.append("Box", msg(1))
    store.delete("Box")
    store.create("Box")
    status = store.status("Box", ["UIDVALIDITY", "UIDNEXT", "MESSAGES"])
    assert status["UIDVALIDITY"] > first
    assert status["UIDNEXT"] == 1 and status["MESSAGES"] == 0


def test_damaged_uidlist_starts_a_new_uid_epoch(store: MailStore) -> None:
    store.append("INBOX", msg(1))
    before = store.status("INBOX", ["UIDVALIDITY"])["UIDVALIDITY"]
    (store.root / "mimekit-uidlist").write_bytes(b"garbage\n")
    view = reopen(store).select("INBOX")
    assert view.uidvalidity > before and view.uids == [1]


def test_uidlist_torn_line_and_compaction(store: MailStore) -> None:
    for i in range(3):
        store.append("INBOX", msg(i))
    path = store.root / "mimekit-uidlist"
    with open(path, "ab") as f:
        f.write(b"A 99 torn-by-a-cra")  # a crash in the middle of a line
    other = reopen(store)
    assert other.select("INBOX").uids == [1, 2, 3]
    assert other.append("INBOX", msg(4)).uid == 4
    assert b"torn" not in path.read_bytes()
    # Many expunges: the log is rewritten rather than growing.
    view = other.select("INBOX")
    for i in range(200):
        other.append("INBOX", msg(i))
    view.refresh()
    view.store(view.resolve("1:*"), "+", ["\\Deleted"])
    view.expunge()
    for i in range(3):
        other.append("INBOX", msg(i))
    assert path.read_bytes().count(b"\n") < 20
    assert reopen(store).select("INBOX").uids == [205, 206, 207]


def test_concurrent_processes_never_share_a_uid(store: MailStore) -> None:
    code = ("import sys\nfrom mimekit.imap._mailbox import MailStore\n"
            "s = MailStore(sys.argv[1])\n"
            "print(' '.join(str(s.append('INBOX', b'Subject: x\\r\\n\\r\\nx').uid) "
            "for _ in range(40)))\n")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(store.root)],
                              stdout=subprocess.PIPE, text=True) for _ in range(2)]
    mine = [store.append("INBOX", msg(i)).uid for i in range(40)]
    theirs = [int(u) for p in procs for u in p.communicate(timeout=60)[0].split()]
    assert all(p.returncode == 0 for p in procs)
    everything = mine + theirs
    assert len(set(everything)) == 120
    assert reopen(store).select("INBOX").uids == sorted(everything)


# -- flags and keywords ----------------------------------------------------------------


def test_flags_map_to_maildir_letters(store: MailStore) -> None:
    store.append("INBOX", msg(1), ["\\Seen", "\\answered", "\\Flagged", "\\Deleted", "\\Draft"])
    view = store.select("INBOX")
    name = os.listdir(store.root / "cur")[0]
    assert name.endswith(":2,DFRST")
    assert view.message_flags(1)[:5] == ("\\Answered", "\\Flagged", "\\Deleted", "\\Seen",
                                         "\\Draft")


def test_keywords_are_kept_in_dovecot_keywords(store: MailStore) -> None:
    store.append("INBOX", msg(1), ["$Forwarded", "Work"])
    view = store.select("INBOX")
    assert (store.root / "dovecot-keywords").read_text() == "0 $Forwarded\n1 Work\n"
    assert os.listdir(store.root / "cur")[0].endswith(":2,ab")
    view.store([1], "+", ["work", "Other"])  # case-insensitive, spelling kept
    assert view.message_flags(1) == ("$Forwarded", "Work", "Other", "\\Recent")
    assert "Other" in view.flags and "\\*" in view.permanent_flags
    view.store([1], "-", ["$FORWARDED"])
    assert view.message_flags(1) == ("Work", "Other", "\\Recent")
    view.store([1], "", ["\\Seen"])
    assert view.message_flags(1) == ("\\Seen", "\\Recent")
    assert reopen(store).select("INBOX").flags[-3:] == ("$Forwarded", "Work", "Other")


def test_keyword_limit(store: MailStore) -> None:
    store.append("INBOX", msg(1), [f"k{i}" for i in range(26)])
    view = store.select("INBOX")
    assert "\\*" not in view.permanent_flags
    with pytest.raises(KeywordLimitError):
        view.store([1], "+", ["one-too-many"])
    with pytest.raises(KeywordLimitError):
        store.append("INBOX", msg(2), ["another"])


@pytest.mark.parametrize("flag", ["\\Recent", "\\Bogus", "with space", "a(b", "", "x]"])
def test_invalid_flags(store: MailStore, flag: str) -> None:
    store.append("INBOX", msg(1))
    view = store.select("INBOX")
    with pytest.raises(FlagError):
        view.store([1], "+", [flag])
    with pytest.raises(FlagError):
        store.append("INBOX", msg(2), [flag])


_KEYWORDS = st.sampled_from(["$Forwarded", "$MDNSent", "Junk", "NonJunk", "work", "k-1"])
_SYSTEM = st.sampled_from(["\\Seen", "\\Answered", "\\Flagged", "\\Deleted", "\\Draft"])


@settings(max_examples=40, deadline=None)
@given(first=st.sets(_SYSTEM | _KEYWORDS), second=st.sets(_SYSTEM | _KEYWORDS),
       mode=st.sampled_from(["+", "-", ""]))
def test_flags_round_trip(tmp_path_factory: pytest.TempPathFactory, first: set[str],
                          second: set[str], mode: str) -> None:
    store = MailStore(tmp_path_factory.mktemp("flags") / "u")
    store.append("INBOX", msg(1), sorted(first))
    view = store.select("INBOX", readonly=False)
    view.store([1], mode, sorted(second))
    want = first | second if mode == "+" else first - second if mode == "-" else second
    assert set(view.message_flags(1)) - {"\\Recent"} == want
    # The same flags come back from the disk alone.
    again = reopen(store).select("INBOX", readonly=True)
    assert set(again.message_flags(1)) - {"\\Recent"} == want


# -- \\Recent ---------------------------------------------------------------------------


def test_recent_goes_to_the_first_session(store: MailStore) -> None:
    store.append("INBOX", msg(1))
    peek = store.select("INBOX", readonly=True)  # EXAMINE does not take it
    assert peek.recent == {1}
    first = store.select("INBOX")
    second = store.select("INBOX")
    assert first.recent == {1} and second.recent == set()
    assert "\\Recent" in first.message_flags(1)
    assert store.status("INBOX", ["RECENT"]) == {"RECENT": 0}
    # Seen by a reader: the file moved from new/ to cur/.
    assert os.listdir(store.root / "new") == [] and len(os.listdir(store.root / "cur")) == 1
    store.append("INBOX", msg(2))
    assert store.status("INBOX", ["RECENT"]) == {"RECENT": 1}
    second.refresh()
    first.refresh()
    assert second.recent == {2} and first.recent == {1}


# -- sessions see each other ---------------------------------------------------------------


def test_two_sessions_see_each_others_changes(store: MailStore) -> None:
    for i in range(4):
        store.append("INBOX", msg(i))
    a, b = store.select("INBOX"), store.select("INBOX")
    woken = threading.Event()
    b.set_listener(woken.set)
    assert a.store([1, 2], "+", ["\\Seen"]) == [(1, 1, ("\\Seen", "\\Recent")),
                                               (2, 2, ("\\Seen", "\\Recent"))]
    assert woken.is_set()
    changes = b.refresh()
    assert changes.flags == [(1, 1, ("\\Seen",)), (2, 2, ("\\Seen",))]
    assert not a.refresh()  # a's own change is not reported back to it
    a.store([2, 3], "+", ["\\Deleted"])
    assert a.expunge().expunged == [3, 2]  # highest first: each stays valid
    # b is inside FETCH: no EXPUNGE now, the numbers stay ...
    changes = b.refresh(allow_expunge=False)
    assert changes.expunged == [] and b.exists == 4 and b.is_expunged(2)
    with pytest.raises(MessageExpungedError):
        b.message_data(2)
    # ... until b may send them.
    changes = b.refresh()
    assert changes.expunged == [3, 2] and b.uids == [1, 4]
    store.append("INBOX", msg(9))
    assert b.refresh().exists == 3 and a.refresh().exists == 3


def test_hub_notify_wakes_a_session(store: MailStore) -> None:
    view = store.select("INBOX")
    woken = threading.Event()
    view.set_listener(woken.set)
    Maildir(store.root).add(msg(1))  # delivered by SMTP in this process
    store.hub.notify(store.root)
    assert woken.is_set()
    assert view.refresh().exists == 1
    view.set_listener(None)


def test_delete_under_a_selected_session(store: MailStore) -> None:
    store.create("Box")
    store.append("Box", msg(1))
    view = store.select("Box")
    store.delete("Box")
    changes = view.refresh()
    assert changes.gone and changes.expunged == [1]


# -- APPEND, COPY, MOVE, EXPUNGE, CLOSE -----------------------------------------------------


def test_append_internal_date_and_size(store: MailStore) -> None:
    when = datetime(2020, 2, 29, 12, 30, tzinfo=UTC)
    r = store.append("INBOX", b"Subject: x\n\nbody\n", ["\\Seen"], when)
    view = store.select("INBOX")
    assert view.internal_date(1) == when
    assert view.rfc822_size(1) == 20  # CRLF terms: 17 bytes + 3 bare LFs
    assert len(view.message_data(1).section("")) == 20
    assert r.uidvalidity == view.uidvalidity and r.uid == 1
    with pytest.raises(NoSuchMailboxError):
        store.append("Nope", msg(1))


def test_copy_and_move_give_copyuid(store: MailStore) -> None:
    for i in range(3):
        store.append("INBOX", msg(i), ["\\Seen", "Tag"] if i == 1 else [])
    store.create("Dest")
    store.append("Dest", msg(99))
    view = store.select("INBOX")
    copied = view.copy([2, 3], "Dest")
    assert copied.pairs == ((2, 2), (3, 3))
    assert copied.uidvalidity == store.status("Dest", ["UIDVALIDITY"])["UIDVALIDITY"]
    moved = view.move(view.resolve("1:2"), "Dest")
    assert moved.source_uids == [1, 2] and moved.dest_uids == [4, 5]
    assert view.refresh().expunged == [2, 1]
    dest = store.select("Dest")
    assert dest.message_flags(2)[:2] == ("\\Seen", "Tag")
    assert dest.message_flags(5)[:2] == ("\\Seen", "Tag")
    assert dest.internal_date(5) == dest.internal_date(2)
    assert dest.message_data(4).section("") == msg(0)
    with pytest.raises(NoSuchMailboxError):
        view.copy([1], "Nope")


def test_uid_expunge_only_deleted_and_named(store: MailStore) -> None:
    for i in range(4):
        store.append("INBOX", msg(i))
    view = store.select("INBOX")
    view.store([1, 2, 3], "+", ["\\Deleted"])
    changes = view.expunge(uids=[2, 3, 4])
    assert changes.expunged == [3, 2]
    assert view.uids == [1, 4]


def test_close_expunges_silently_and_examine_does_not(store: MailStore) -> None:
    for i in range(2):
        store.append("INBOX", msg(i), ["\\Deleted"])
    ro = store.select("INBOX", readonly=True)
    with pytest.raises(ReadOnlyError):
        ro.store([1], "-", ["\\Deleted"])
    with pytest.raises(ReadOnlyError):
        ro.expunge()
    assert ro.mark_seen([1]) == []
    ro.close()
    assert store.status("INBOX", ["MESSAGES"]) == {"MESSAGES": 2}
    store.select("INBOX").close()
    assert store.status("INBOX", ["MESSAGES"]) == {"MESSAGES": 0}


def test_mark_seen(store: MailStore) -> None:
    store.append("INBOX", msg(1))
    view = store.select("INBOX")
    assert view.mark_seen([1]) == [(1, 1, ("\\Seen", "\\Recent"))]
    assert view.mark_seen([1]) == []


def test_status_items(store: MailStore) -> None:
    store.append("INBOX", msg(1), ["\\Seen"])
    store.append("INBOX", msg(2), ["\\Deleted"])
    status = store.status("INBOX", ["messages", "UNSEEN", "SIZE", "DELETED", "UIDNEXT"])
    assert status == {"MESSAGES": 2, "UNSEEN": 1, "SIZE": 2 * len(msg(1)), "DELETED": 1,
                      "UIDNEXT": 3}
    with pytest.raises(StatusItemError):
        store.status("INBOX", ["HIGHESTMODSEQ"])
    with pytest.raises(NoSuchMailboxError):
        store.status("Nope", ["MESSAGES"])


def test_sequence_sets_in_a_view(store: MailStore) -> None:
    for i in range(5):
        store.append("INBOX", msg(i))
    view = store.select("INBOX")
    view.store([2], "+", ["\\Deleted"])
    view.expunge()
    assert view.resolve("2:*") == [2, 3, 4]
    assert view.resolve("*:3") == [3, 4]
    assert view.resolve("2,4:5", uid=True) == [3, 4]  # UID 2 is gone: ignored
    assert view.resolve("100:*", uid=True) == [4]  # RFC 3501: n:* names the largest
    with pytest.raises(SequenceSetError):
        view.resolve("5")
    with pytest.raises(SequenceSetError):
        view.resolve("0:3")
    assert view.first_unseen == 1


# -- mailboxes ----------------------------------------------------------------------------------


def test_special_use_folders_at_first_login(store: MailStore) -> None:
    assert store.ensure_special_use() == ["Drafts", "Sent", "Trash", "Junk", "Archive"]
    assert store.ensure_special_use() == []
    entries = {e.name: e.attributes for e in store.list("", "*")}
    assert entries["Sent"] == ("\\HasNoChildren", "\\Sent")
    assert entries["Archive"] == ("\\HasNoChildren", "\\Archive")
    assert set(store.subscriptions()) == {"Drafts", "Sent", "Trash", "Junk", "Archive"}
    assert (store.root / ".Sent" / "maildirfolder").exists()


def test_list_patterns(store: MailStore) -> None:
    for name in ("Lists/python/dev", "Lists/rust", "Work", "INBOX/sub", "Ärger"):
        store.create(name)
    (store.root / ".Lists").rename(store.root / ".Lists-gone")  # only children remain
    for sub in ("cur", "new", "tmp"):
        (store.root / ".Lists-gone" / sub).rmdir()
    names = [e.name for e in store.list("", "*")]
    assert names == ["INBOX", "INBOX/sub", "Lists", "Lists/python", "Lists/python/dev",
                     "Lists/rust", "Work", "Ärger"]
    top = {e.name: e.attributes for e in store.list("", "%")}
    assert top == {"INBOX": ("\\HasChildren",), "Lists": ("\\Noselect", "\\HasChildren"),
                   "Work": ("\\HasNoChildren",), "Ärger": ("\\HasNoChildren",)}
    assert [e.name for e in store.list("Lists/", "%")] == ["Lists/python", "Lists/rust"]
    assert [e.name for e in store.list("", "inbox*")] == ["INBOX", "INBOX/sub"]
    assert [e.name for e in store.list("", "*/dev")] == ["Lists/python/dev"]
    assert store.list("", "") == [store.list("", "")[0]]
    assert store.list("", "")[0].attributes == ("\\Noselect",)
    assert (store.root / ".&AMQ-rger").is_dir()  # modified UTF-7 on disk


def test_create_delete_rename(store: MailStore) -> None:
    store.create("A/")  # a trailing delimiter declares a parent: allowed
    store.create("a/b/c")
    assert store.exists("a/b") and store.exists("A")
    with pytest.raises(MailboxExistsError):
        store.create("A")
    with pytest.raises(MailboxExistsError):
        store.create("inbox")
    store.append("a/b", msg(1))
    store.rename("a", "z/y")
    assert [e.name for e in store.list("", "z*")] == ["z", "z/y", "z/y/b", "z/y/b/c"]
    assert store.status("z/y/b", ["MESSAGES"]) == {"MESSAGES": 1}
    with pytest.raises(MailboxExistsError):
        store.rename("A", "z")
    with pytest.raises(NoSuchMailboxError):
        store.rename("nope", "x")
    with pytest.raises(ValueError):
        store.rename("A", "A/inside")
    store.delete("z/y")  # the children stay; z/y lives on as a parent
    assert {e.name: e.attributes for e in store.list("", "z/*")}["z/y"][0] == "\\Noselect"
    with pytest.raises(MailboxInUseError):
        store.delete("z/y")
    with pytest.raises(MailboxInUseError):
        store.delete("INBOX")
    with pytest.raises(NoSuchMailboxError):
        store.delete("never")


def test_rename_inbox_moves_its_messages(store: MailStore) -> None:
    store.create("INBOX/keep")
    for i in range(3):
        store.append("INBOX", msg(i))
    validity = store.status("INBOX", ["UIDVALIDITY"])["UIDVALIDITY"]
    store.rename("INBOX", "Old")
    assert store.status("Old", ["MESSAGES"]) == {"MESSAGES": 3}
    assert store.status("INBOX", ["MESSAGES", "UIDVALIDITY"]) == {"MESSAGES": 0,
                                                                  "UIDVALIDITY": validity}
    assert store.exists("INBOX/keep")  # inferiors of INBOX are not moved


def test_subscriptions(store: MailStore) -> None:
    store.subscribe("Later/Box")
    store.subscribe("INBOX")
    store.subscribe("Later/Box")
    assert store.subscriptions() == ["Later/Box", "INBOX"]
    lsub = {e.name: e.attributes for e in store.lsub("", "*")}
    assert lsub == {"INBOX": (), "Later": ("\\Noselect",), "Later/Box": ("\\Noselect",)}
    assert [e.name for e in store.lsub("", "%")] == ["INBOX", "Later"]
    store.unsubscribe("Later/Box")
    store.unsubscribe("never")
    assert store.subscriptions() == ["INBOX"]
    assert (store.root / "subscriptions").read_text() == "INBOX\n"
