"""Mailbox names can never leave the user's store: hostile names are
refused with a clear error, whatever the encoding."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mimekit.imap._mailbox import MailStore
from mimekit.imap._mailbox_errors import MailboxError, NoSuchMailboxError
from mimekit.imap._mailbox_names import (
    InvalidMailboxName,
    Pattern,
    check_name,
    decode_wire_name,
    folder_dir_name,
    name_from_dir,
)

HOSTILE = [
    "", "/", "..", "../etc", "../../etc/passwd", "/etc/passwd", "a/../b", ".", ".hidden",
    "a/./b", "a//b", "a//", "/a", "~root", "~/x", "a\x00b", "a\nb", "a\rb", "a\tb", "a\x7fb",
    "a\x85b", "a\u2028b", "Work/%", "*", "a\\b", "a.b", "x" * 300, "\ud800",
]


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_names_are_refused(tmp_path: Path, name: str) -> None:
    store = MailStore(tmp_path / "u")
    for op in (store.create, store.delete, store.subscribe, lambda n: store.select(n),
               lambda n: store.append(n, b"x"), lambda n: store.rename("INBOX", n),
               lambda n: store.status(n, ["MESSAGES"])):
        with pytest.raises(MailboxError):
            op(name)
    # Nothing was made outside (or inside) the store.
    assert sorted(os.listdir(tmp_path)) == ["u"]
    assert sorted(os.listdir(tmp_path / "u")) == ["cur", "new", "tmp"]


@pytest.mark.parametrize("wire", ["&AGEAYgBj-", "&AC8-etc", "&AC4ALg-", "&Jjo", "&-&-x&",
                                  "&AOQ-&APY-", "caf\xe9", "&ZeVnLIqe-\x00", b"\xff"])
def test_odd_encodings_are_refused(wire: str | bytes) -> None:
    # ASCII hidden in base64 ("abc", "/etc", ".."), unterminated runs,
    # adjacent runs, 8-bit, NUL: not the one canonical spelling.
    with pytest.raises(InvalidMailboxName):
        decode_wire_name(wire)


def test_trailing_delimiter_only_in_create(tmp_path: Path) -> None:
    store = MailStore(tmp_path / "u")
    store.create("a/")  # RFC 3501 6.3.3: declares that names go below it
    assert store.exists("a")
    with pytest.raises(InvalidMailboxName):
        store.select("a/")


def test_wire_names() -> None:
    assert decode_wire_name("Entw&APw-rfe/2024") == "Entwürfe/2024"
    assert decode_wire_name("inbox/a&-b") == "INBOX/a&b"
    assert decode_wire_name(b"&ZeVnLIqe-") == "日本語"


def test_directory_mapping() -> None:
    assert folder_dir_name("Lists/python") == ".Lists.python"
    assert name_from_dir(".Lists.python") == "Lists/python"
    assert name_from_dir(".INBOX.x") == "INBOX/x"
    for bad in ("..", ".", "..x", ".a..b", ".inbox", "x", ".&AGE-", ".a%b", ".a&"):
        assert name_from_dir(bad) is None, bad


def test_symlink_is_not_a_mailbox(tmp_path: Path) -> None:
    store = MailStore(tmp_path / "u")
    outside = tmp_path / "outside"
    for sub in ("cur", "new", "tmp"):
        (outside / sub).mkdir(parents=True)
    (tmp_path / "u" / ".Evil").symlink_to(outside)
    assert not store.exists("Evil")
    with pytest.raises(NoSuchMailboxError):
        store.select("Evil")
    assert "Evil" not in [e.name for e in store.list("", "*")]


@given(st.lists(st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1,
                        max_size=8), min_size=1, max_size=4))
def test_valid_names_map_into_the_store_and_back(levels: list[str]) -> None:
    name = "/".join(levels)
    try:
        canonical = check_name(name)
    except InvalidMailboxName:
        return
    if canonical == "INBOX":
        return
    entry = folder_dir_name(canonical)
    assert "/" not in entry and entry not in (".", "..") and entry.startswith(".")
    assert name_from_dir(entry) == canonical
    assert check_name(canonical) == canonical


@pytest.mark.parametrize(("pattern", "name", "ok"), [
    ("*", "a/b/c", True), ("%", "a/b", False), ("%", "a", True), ("a/%", "a/b", True),
    ("a/%", "a/b/c", False), ("a*c", "a/b/c", True), ("a%c", "a/c", False),
    ("INBOX", "INBOX", True), ("inbox", "INBOX", True), ("InBoX/%", "INBOX/x", True),
    ("in%", "INBOX", True), ("inbox", "inbox2", False), ("Work", "work", False),
    ("%/%", "a/b", True), ("", "a", False), ("*%*%*%*", "abc", True),
])
def test_pattern(pattern: str, name: str, ok: bool) -> None:
    assert Pattern("", pattern).matches(name) is ok


def test_pattern_reference_is_joined() -> None:
    assert Pattern("Lists/", "%").matches("Lists/rust")
    assert not Pattern("Lists/", "%").matches("Lists")
