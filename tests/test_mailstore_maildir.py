"""Maildir++: delivery, keys, flags, folders, concurrency, and interop with
Python's mailbox module (both ways). Dovecot interop is in
test_mailstore_dovecot.py."""

from __future__ import annotations

import io
import mailbox
import multiprocessing
import os
import re
import socket
import time
from multiprocessing.synchronize import Event
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import mimekit
from mimekit.mailstore import Maildir
from mimekit.mailstore._names import (
    decode_folder_name,
    encode_folder_name,
    unique_name,
)

RAW = b"From: Alice <alice@example.org>\nSubject: hello\n\nFrom the start\n"


@pytest.fixture
def md(tmp_path: Path) -> Maildir:
    return Maildir(tmp_path / "Mail", create=True)


def _files(md: Maildir) -> dict[str, list[str]]:
    return {sub: sorted(os.listdir(md.path / sub)) for sub in ("tmp", "new", "cur")}


# -- opening -------------------------------------------------------------------------


def test_create_makes_the_three_directories(tmp_path: Path) -> None:
    md = Maildir(tmp_path / "a" / "b", create=True)
    assert all((md.path / sub).is_dir() for sub in ("tmp", "new", "cur"))
    assert len(md) == 0 and list(md) == []
    assert md.folder_name is None


def test_missing_maildir_raises_without_create(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        Maildir(tmp_path / "nothing")
    (tmp_path / "plain").mkdir()
    with pytest.raises(FileNotFoundError):
        Maildir(tmp_path / "plain")


# -- delivery ----------------------------------------------------------------------------


def test_unique_name_follows_the_spec() -> None:
    name = unique_name()
    m = re.fullmatch(r"(\d+)\.M(\d+)P(\d+)Q(\d+)R([0-9a-f]{16})\.(.+)", name)
    assert m is not None, name
    assert abs(int(m.group(1)) - time.time()) < 5
    assert 0 <= int(m.group(2)) < 1_000_000
    assert int(m.group(3)) == os.getpid()
    host = socket.gethostname().replace("/", "\\057").replace(":", "\\072")
    assert m.group(6) == host.replace(",", "\\054")
    assert "/" not in name and ":" not in name
    assert len({unique_name() for _ in range(1000)}) == 1000


def test_hostname_is_escaped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket, "gethostname", lambda: "evil/host:name,x")
    assert unique_name().endswith(".evil\\057host\\072name\\054x")


def test_add_without_flags_goes_to_new(md: Maildir) -> None:
    key = md.add(RAW)
    files = _files(md)
    assert files == {"tmp": [], "new": [key], "cur": []}
    vsize = len(RAW) + RAW.count(b"\n")
    assert key.endswith(f",S={len(RAW)},W={vsize}")
    assert md.get_bytes(key) == RAW
    assert md.get_flags(key) == "" and md.get_subdir(key) == "new"
    assert md.get_size(key) == len(RAW)


def test_add_with_flags_goes_to_cur_sorted(md: Maildir) -> None:
    key = md.add(RAW, flags="SRa")
    assert _files(md)["cur"] == [f"{key}:2,RSa"]
    assert md.get_flags(key) == "RSa" and md.get_subdir(key) == "cur"


def test_add_accepts_message_bytes_and_file(md: Maildir, tmp_path: Path) -> None:
    msg = mimekit.parse(RAW)
    msg.headers.set("Subject", "changed")
    k1 = md.add(msg)
    assert md.get_bytes(k1) == bytes(msg)
    k2 = md.add(bytearray(RAW))
    k3 = md.add(memoryview(RAW))
    k4 = md.add(io.BytesIO(RAW))
    path = tmp_path / "m.eml"
    path.write_bytes(RAW)
    with open(path, "rb") as f:
        k5 = md.add(f)
    assert [md.get_bytes(k) for k in (k2, k3, k4, k5)] == [RAW] * 4
    assert md.keys() == [k1, k2, k3, k4, k5]  # delivery order
    with pytest.raises(TypeError):
        md.add("text")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        md.add(io.StringIO("text"))  # type: ignore[arg-type]


def test_mbox_from_line_is_not_stored(md: Maildir) -> None:
    mboxed = b"From alice@example.org Mon Jan  1 00:00:00 2024\n" + RAW
    msg = mimekit.parse(mboxed)
    assert msg.mbox_from is not None
    assert md.get_bytes(md.add(msg)) == RAW
    assert md.get_bytes(md.add(mboxed)) == RAW
    assert md.get_bytes(md.add(io.BytesIO(mboxed))) == RAW
    changed = mimekit.parse(mboxed)
    changed.headers.set("Subject", "new")
    assert md.get_bytes(md.add(changed)) == bytes(changed)[len(changed.mbox_from or b""):]
    assert not md.get_bytes(md.add(changed)).startswith(b"From ")


def test_exact_keeps_a_leading_from_line(md: Maildir) -> None:
    mboxed = b"From alice@example.org Mon Jan  1 00:00:00 2024\n" + RAW
    assert md.get_bytes(md.add(mboxed, exact=True)) == mboxed
    assert md.get_bytes(md.add(io.BytesIO(mboxed), exact=True)) == mboxed
    assert md.get_bytes(md.add(mimekit.parse(mboxed), exact=True)) == mboxed
    key = md.add(mboxed, exact=True)
    assert md.get_size(key) == len(mboxed)


def test_big_message_is_streamed_and_read_lazily(md: Maildir) -> None:
    payload = os.urandom(3 << 20).hex().encode()  # 6 MiB of text
    raw = b"Subject: big\r\nContent-Type: text/plain\r\n\r\n" + payload + b"\r\n"
    key = md.add(io.BytesIO(raw), flags="S")
    assert md.get_size(key) == len(raw)
    with md[key] as msg:
        assert msg.subject == "big"
        assert msg.get_bytes() == payload + b"\r\n"
        # Renamed by a flag change while open: the message still reads its file.
        md.set_flags(key, "FS")
        assert msg.get_bytes()[:10] == payload[:10]
    with md.get_file(key) as f:
        assert f.read(9) == b"Subject: "


def test_virtual_size_counts_crlf(md: Maildir) -> None:
    raw = b"A: b\r\nC: d\n\nx\ry\r\n\nz"
    key = md.add(raw)
    assert key.endswith(f",S={len(raw)},W={len(raw) + 3}")


def test_failed_delivery_leaves_nothing(md: Maildir) -> None:
    class Broken(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def readinto(self, b: bytearray) -> int:  # type: ignore[override]
            raise OSError("disk on fire")

    with pytest.raises(OSError, match="disk on fire"):
        md.add(Broken())  # type: ignore[arg-type]
    assert _files(md) == {"tmp": [], "new": [], "cur": []}


def test_date_sets_mtime(md: Maildir) -> None:
    key = md.add(RAW, date=1_000_000_000)
    assert md.get_date(key).timestamp() == 1_000_000_000
    assert md.get_date(key).tzinfo is not None


def test_file_mode_follows_the_directory(tmp_path: Path) -> None:
    md = Maildir(tmp_path / "m", create=True)
    os.chmod(md.path, 0o750)
    key = md.add(RAW)
    assert os.stat(md.get_path(key)).st_mode & 0o777 == 0o640


# -- keys, flags -----------------------------------------------------------------------


def test_mapping_api(md: Maildir) -> None:
    keys = [md.add(RAW), md.add(RAW, flags="S")]
    assert len(md) == 2 and set(md) == set(keys)
    assert keys[0] in md
    assert "nope" not in md
    assert 42 not in md
    assert [k for k, _ in md.items()] == md.keys()
    for msg in md.values():
        assert msg.subject == "hello"
    with pytest.raises(KeyError):
        md["nope"]
    with pytest.raises(KeyError):
        md.get_bytes("../../etc/passwd")
    del md[keys[0]]
    assert md.keys() == [keys[1]]
    md.discard(keys[0])
    with pytest.raises(KeyError):
        md.remove(keys[0])


def test_flag_changes_keep_the_key(md: Maildir) -> None:
    key = md.add(RAW)
    md.add_flag(key, "S")
    assert md.get_subdir(key) == "cur" and md.get_flags(key) == "S"
    md.add_flag(key, ["R", "F"])
    assert md.get_flags(key) == "FRS"
    md.remove_flag(key, "RT")
    assert md.get_flags(key) == "FS"
    md.set_flags(key, "")
    assert md.get_flags(key) == ""
    assert _files(md)["cur"] == [f"{key}:2,"]
    assert list(md) == [key]


def test_move_to_cur_keeps_flags(md: Maildir) -> None:
    key = md.add(RAW)
    md.move_to_cur(key)
    assert _files(md)["cur"] == [f"{key}:2,"] and md.get_flags(key) == ""
    md.set_flags(key, "S")
    md.move_to_cur(key)
    assert md.get_flags(key) == "S"


@pytest.mark.parametrize("bad", ["X", " ", "S,", ":", "A", "1", "SS\n", "é"])
def test_bad_flags_raise_value_error(md: Maildir, bad: str) -> None:
    with pytest.raises(ValueError):
        md.add(RAW, flags=bad)
    key = md.add(RAW, flags="S")
    with pytest.raises(ValueError):
        md.set_flags(key, bad)
    assert md.get_flags(key) == "S"


@given(st.sets(st.sampled_from("DFPRSTabcxyz")), st.sets(st.sampled_from("DFPRSTabcxyz")))
def test_flags_round_trip(tmp_path_factory: pytest.TempPathFactory,
                          first: set[str], second: set[str]) -> None:
    md = Maildir(tmp_path_factory.mktemp("flags"), create=True)
    key = md.add(RAW, flags="".join(first))
    assert md.get_flags(key) == "".join(sorted(first))
    md.set_flags(key, "".join(second))
    assert md.get_flags(key) == "".join(sorted(second))
    md.add_flag(key, first)
    assert md.get_flags(key) == "".join(sorted(first | second))
    md.remove_flag(key, second)
    assert md.get_flags(key) == "".join(sorted(first - second))
    assert mailbox.Maildir(md.path, create=False).get_message(key).get_flags() == \
        "".join(sorted(first - second))


# -- other programs at work -----------------------------------------------------------


def test_lookup_follows_a_rename_by_someone_else(md: Maildir) -> None:
    key = md.add(RAW)
    assert md.get_flags(key) == ""
    # Another program marks it seen behind our back: our listing is stale.
    os.rename(md.path / "new" / key, md.path / "cur" / f"{key}:2,S")
    assert md.get_flags(key) == "S"
    os.rename(md.path / "cur" / f"{key}:2,S", md.path / "cur" / f"{key}:2,RS")
    assert md.get_bytes(key) == RAW
    md.add_flag(key, "F")
    assert md.get_flags(key) == "FRS"
    os.unlink(md.get_path(key))
    with pytest.raises(KeyError):
        md.get_bytes(key)
    assert key not in md


def _flip_flags(path: str, keys: list[str], ready: Event, stop: Event) -> None:
    other = Maildir(path)
    ready.set()
    i = 0
    while not stop.is_set():
        for key in keys:
            other.set_flags(key, "S" if i % 2 else "FS")
        i += 1


def test_iteration_survives_concurrent_renames(md: Maildir) -> None:
    keys = [md.add(RAW + b"%d\n" % i) for i in range(40)]
    # spawn, not fork: forking a process that may have threads is unsafe.
    ctx = multiprocessing.get_context("spawn")
    ready, stop = ctx.Event(), ctx.Event()
    proc = ctx.Process(target=_flip_flags, args=(str(md.path), keys, ready, stop))
    proc.start()
    try:
        assert ready.wait(30)
        rounds = 0
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            seen = []
            for key, msg in md.items():
                seen.append(key)
                assert msg.subject == "hello"
            # A listing can miss a file renamed within cur/ while it is read;
            # every lookup by key must still succeed.
            assert set(seen) <= set(keys)
            assert all(md.get_flags(k) in ("S", "FS", "") for k in keys)
            rounds += 1
        assert rounds > 2
    finally:
        stop.set()
        proc.join(30)
    assert proc.exitcode == 0
    assert md.keys() == keys


def test_clean_removes_old_tmp_files(md: Maildir) -> None:
    old = md.path / "tmp" / "old"
    young = md.path / "tmp" / "young"
    old.write_bytes(b"x")
    young.write_bytes(b"x")
    then = time.time() - 37 * 3600
    os.utime(old, (then, then))
    assert md.clean() == 1
    assert os.listdir(md.path / "tmp") == ["young"]


def test_dot_files_are_ignored(md: Maildir) -> None:
    (md.path / "new" / ".hidden").write_bytes(b"x")
    assert list(md) == []


# -- folders -------------------------------------------------------------------------------


def test_folders_are_maildirplusplus(md: Maildir) -> None:
    sent = md.add_folder("Sent")
    assert (md.path / ".Sent" / "maildirfolder").is_file()
    assert sent.folder_name == "Sent"
    key = sent.add(RAW, flags="S")
    nested = sent.add_folder("2024")
    assert nested.path == md.path / ".Sent.2024"
    assert nested.folder_name == "Sent.2024"
    md.add_folder("Lists.python")
    assert md.list_folders() == ["Lists.python", "Sent", "Sent.2024"]
    assert sent.list_folders() == ["2024"]
    assert md.folder("Sent").get_bytes(key) == RAW
    assert md.folder("Sent.2024").path == nested.path
    assert md.folder("Sent").folder("2024").path == nested.path
    assert md.add_folder("Sent").keys() == [key]  # existing: opened
    # Opened by path, a folder still knows where its sub-folders go.
    assert Maildir(md.path / ".Sent").folder("2024").path == nested.path
    with pytest.raises(FileNotFoundError):
        md.folder("Nope")
    assert md.folder("Nope", create=True).path == md.path / ".Nope"


def test_folder_names_use_modified_utf7(md: Maildir) -> None:
    md.add_folder("Entwürfe & Co")
    assert (md.path / ".Entw&APw-rfe &- Co").is_dir()
    assert md.list_folders() == ["Entwürfe & Co"]
    assert encode_folder_name("日本語") == "&ZeVnLIqe-"
    assert decode_folder_name("&ZeVnLIqe-") == "日本語"
    assert decode_folder_name("bad&-run&AAA") == "bad&run&AAA"


@given(st.text(st.characters(exclude_characters="./\x00\r\n", exclude_categories=["Cs"]),
               min_size=1))
def test_folder_name_encoding_round_trips(name: str) -> None:
    encoded = encode_folder_name(name)
    assert encoded.isascii() and "/" not in encoded
    assert decode_folder_name(encoded) == name


@pytest.mark.parametrize("bad", ["", ".A", "A.", "A..B", "a/b", "x\x00", "\n"])
def test_bad_folder_names_raise(md: Maildir, bad: str) -> None:
    with pytest.raises(ValueError):
        md.add_folder(bad)


def test_remove_folder(md: Maildir) -> None:
    trash = md.add_folder("Trash")
    key = trash.add(RAW)
    (trash.path / "dovecot-uidlist").write_bytes(b"3 V1 N2\n")
    with pytest.raises(OSError, match="still holds messages"):
        md.remove_folder("Trash")
    trash.remove(key)
    md.remove_folder("Trash")
    assert md.list_folders() == []
    with pytest.raises(FileNotFoundError):
        md.remove_folder("Trash")


# -- Python's mailbox module, both ways ------------------------------------------------------


def test_stdlib_reads_ours(md: Maildir) -> None:
    k_new = md.add(RAW)
    k_cur = md.add(b"Subject: two\n\nbody\n", flags="RS")
    md.add_folder("Sent").add(b"Subject: sent\n\nx\n", flags="S")
    std = mailbox.Maildir(md.path, create=False)
    assert sorted(std.keys()) == sorted([k_new, k_cur])
    assert std.get_bytes(k_new) == RAW
    assert std[k_new].get_subdir() == "new" and std[k_new].get_flags() == ""
    assert std[k_cur].get_subdir() == "cur" and std[k_cur].get_flags() == "RS"
    assert std[k_cur]["subject"] == "two"
    assert std.list_folders() == ["Sent"]
    assert [m["subject"] for m in std.get_folder("Sent")] == ["sent"]


def test_we_read_stdlib(tmp_path: Path) -> None:
    std = mailbox.Maildir(tmp_path / "std", create=True)
    plain = std.add(RAW)
    flagged_msg = mailbox.MaildirMessage(b"Subject: flagged\n\nx\n")
    flagged_msg.set_subdir("cur")
    flagged_msg.set_flags("FS")
    flagged = std.add(flagged_msg)
    std.add_folder("Archive").add(b"Subject: archived\n\ny\n")
    md = Maildir(tmp_path / "std")
    assert set(md) == {plain, flagged}
    assert md.get_bytes(plain) == RAW
    assert md.get_flags(flagged) == "FS" and md.get_subdir(flagged) == "cur"
    assert md[flagged].subject == "flagged"
    assert md.list_folders() == ["Archive"]
    assert [m.subject for m in md.folder("Archive").values()] == ["archived"]
    # Changes we make are seen by the stdlib.
    md.set_flags(plain, "S")
    std2 = mailbox.Maildir(tmp_path / "std", create=False)
    assert std2[plain].get_flags() == "S" and std2[plain].get_subdir() == "cur"


def test_a_dot_named_top_level_maildir_is_not_a_folder(tmp_path: Path) -> None:
    # ~/.maildir with Dovecot's marker file: still a top-level Maildir,
    # because its parent is not a Maildir.
    md = Maildir(tmp_path / ".maildir", create=True)
    (md.path / "maildirfolder").write_bytes(b"")
    again = Maildir(tmp_path / ".maildir")
    assert again.folder_name is None
    assert again.add_folder("Sent").path == md.path / ".Sent"
    assert again.list_folders() == ["Sent"]
