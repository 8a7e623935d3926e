"""The user agent's building blocks without a server: state journals, flag
merging, content digests, the list/show views, progress."""

from __future__ import annotations

import io
import itertools
from pathlib import Path

import pytest

from mimekit import compose, parse
from mimekit.agent import (
    Journal,
    Progress,
    StateError,
    StreamReporter,
    crlf,
    digest,
    format_rows,
    imap_flags,
    maildir_flags,
    merge_flags,
    render,
    resolve,
    rows,
)
from mimekit.agent._content import find_stored
from mimekit.agent._sync_state import SyncState
from mimekit.mailstore import Maildir

HEADER = {"format": "mimekit-test", "version": 1}


def test_journal_append_load_rewrite(tmp_path: Path) -> None:
    j = Journal(tmp_path / "state", dict(HEADER))
    assert j.load() == (None, [])
    j.append({"a": 1})
    j.append({"b": "ü\n"})
    j.close()
    header, records = Journal(tmp_path / "state", dict(HEADER)).load()
    assert header == HEADER and records == [{"a": 1}, {"b": "ü\n"}]
    assert (tmp_path / "state").read_bytes().count(b"\n") == 3  # one line each
    j.rewrite([{"c": 3}])
    assert j.load()[1] == [{"c": 3}]
    assert not (tmp_path / "state.tmp").exists()
    assert (tmp_path / "state").stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("tail", [b'{"got":"9","ke', b'{"got"', b"\x00\x00\x00"])
def test_journal_torn_last_line_is_cut_before_appending(tmp_path: Path, tail: bytes) -> None:
    path = tmp_path / "state"
    j = Journal(path, dict(HEADER))
    j.append({"n": 1})
    j.close()
    with open(path, "ab") as f:
        f.write(tail)  # a write cut short by a power loss
    j = Journal(path, dict(HEADER))
    assert j.load()[1] == [{"n": 1}]
    j.append({"n": 2})  # must not be glued to the torn fragment
    j.close()
    assert Journal(path, dict(HEADER)).load()[1] == [{"n": 1}, {"n": 2}]


def test_journal_damage_in_the_middle_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "state"
    path.write_bytes(b'{"format":"mimekit-test"}\ngarbage\n{"n":1}\n')
    with pytest.raises(StateError, match="damaged at line 2"):
        Journal(path, dict(HEADER)).load()
    path.write_bytes(b'{"format":"other"}\n')
    with pytest.raises(StateError, match="not a mimekit-test state file"):
        Journal(path, dict(HEADER)).load()


def test_sync_state_replay_and_compaction(tmp_path: Path) -> None:
    st = SyncState(tmp_path, "imap://a@h/INBOX")
    assert not st.known
    st.want(5, "d5", 100)
    st.pair(5, "k5", "S")
    st.put("k6", "d6", 10, 7)
    st.pair(3, "k3", "")
    st.unpair(3)
    st.put("k7", "d7", 10, 8)  # never paired: an open intent
    st.close()
    again = SyncState(tmp_path, "imap://a@h/INBOX")
    assert again.pairs == {5: again.pairs[5]} and again.pairs[5].key == "k5"
    assert set(again.puts) == {"k6", "k7"} and not again.wants
    again.pair(6, "k6", "F")
    again.compact("imap://a@h/INBOX", 42)
    again.close()
    third = SyncState(tmp_path, "imap://a@h/INBOX")
    assert third.uidvalidity == 42 and third.known
    assert {u: p.key for u, p in third.pairs.items()} == {5: "k5", 6: "k6"}
    assert set(third.puts) == {"k7"}  # kept: the next run looks for it on the server


# -- flags ----------------------------------------------------------------------------


def test_flag_mapping() -> None:
    assert maildir_flags(["\\Seen", "\\ANSWERED", "$forwarded", "\\Recent", "$Junk"]) == "PRS"
    assert imap_flags("TSFa") == ["\\Flagged", "\\Seen", "\\Deleted"]
    assert maildir_flags(imap_flags("DFPRST")) == "DFPRST"


def test_merge_is_per_flag_and_loses_no_change() -> None:
    for base, here, there in itertools.product((False, True), repeat=3):
        got = "F" in merge_flags("F" if base else "", "F" if here else "",
                                 "F" if there else "")
        if here == there:
            assert got == here
        else:  # exactly one side changed: it wins
            assert got == (here if here != base else there)
    assert merge_flags("S", "FS", "") == "F"
    assert merge_flags("", "S", "S") == "S"


# -- content --------------------------------------------------------------------------


def test_crlf_and_digest() -> None:
    assert crlf(b"a\nb\r\nc\n") == b"a\r\nb\r\nc\r\n"
    assert crlf(b"no newline") == b"no newline"
    assert digest(b"x\ny\n") == digest(b"x\r\ny\r\n")


def test_find_stored(tmp_path: Path) -> None:
    md = Maildir(tmp_path / "md", create=True)
    a = md.add(b"Subject: a\n\nA\n")
    b = md.add(b"Subject: b\r\n\r\nB\r\n")
    assert find_stored(md, digest(b"Subject: b\n\nB\n")) == b
    assert find_stored(md, digest(b"Subject: a\n\nA\n"), exclude=[a]) is None
    assert find_stored(md, digest(b"Subject: a\n\nA\n"), not_before=4e9) is None
    assert find_stored(md, "0" * 64) is None


# -- list and show --------------------------------------------------------------------


@pytest.fixture
def box(tmp_path: Path) -> Maildir:
    md = Maildir(tmp_path / "md", create=True)
    md.add(bytes(compose(from_="Jörg Müller <j@example.test>", to="a@example.test",
                         subject="Grüße aus Köln", text="Hallo\nWelt\n")))
    md.add(bytes(compose(from_="b@example.test", to="a@example.test", subject="html only",
                         html="<html><head><style>p{}</style></head><body><p>Hello "
                              "<b>you</b></p><ul><li>one</li><li>two</li></ul></body>"
                              "</html>")), flags="S")
    md.add(bytes(compose(from_="c@example.test", to="a@example.test", subject="with file",
                         text="see attached",
                         attachments=[("report.pdf", b"%PDF-1.4" * 200, "application/pdf")])),
           flags="FS")
    return md


def test_rows_and_table(box: Maildir) -> None:
    table = rows(box)
    assert [r.number for r in table] == [1, 2, 3]
    assert [r.subject for r in table] == ["Grüße aus Köln", "html only", "with file"]
    assert table[0].sender == "Jörg Müller" and table[0].new and table[0].unseen
    assert table[2].attachments == 1 and table[2].flags == "FS"
    unseen = rows(box, unseen=True)
    assert [r.number for r in unseen] == [1]  # the numbers stay those of the folder
    lines = format_rows(table, width=100)
    assert lines[0].split()[:3] == ["#", "date", "from"]
    assert "@" in lines[3] and "N" in lines[1] and "FS" in lines[3]


def test_resolve_numbers_and_key_prefixes(box: Maildir) -> None:
    keys = box.keys()
    assert resolve(box, "2") == keys[1]
    assert resolve(box, keys[2]) == keys[2]
    assert resolve(box, keys[0][:30]) == keys[0]
    with pytest.raises(Exception, match="no message 4"):
        resolve(box, "4")
    with pytest.raises(Exception, match="matches 3 messages"):
        resolve(box, keys[0][:8])
    with pytest.raises(Exception, match="no message with key"):
        resolve(box, "zzz")


def test_render_text_html_only_and_attachments(box: Maildir) -> None:
    keys = box.keys()
    with box.get_message(keys[0]) as msg:
        text = render(msg)
    assert "From:    Jörg Müller <j@example.test>" in text
    assert "Subject: Grüße aus Köln" in text and "Hallo\nWelt" in text
    with box.get_message(keys[1]) as msg:
        text = render(msg)
    body = text.split("\n\n", 1)[1]
    assert "Hello you" in body and "one\ntwo" in body
    assert "<" not in body and "p{}" not in body
    with box.get_message(keys[2]) as msg:
        text = render(msg)
    assert "Attachments:\n  [1] report.pdf  application/pdf  1.6K" in text


def test_render_plain_message_without_content_type() -> None:
    assert render(parse(b"Subject: x\n\nplain body\n")).endswith("\nplain body\n")


# -- reporting ------------------------------------------------------------------------


def test_progress_line() -> None:
    p = Progress("fetch", 10000)
    p.started -= 10.0
    p.advance(500)
    line = p.line()
    assert line.startswith("fetch: 500/10000 (5%)  ")
    assert "msg/s" in line and "ETA 3m" in line


class _TTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_drawn_only_on_a_terminal() -> None:
    quiet = io.StringIO()
    rep = StreamReporter(quiet)
    prog = rep.progress("fetch", 3)
    prog.advance()
    prog.finish()
    assert quiet.getvalue() == ""
    rep.warn("careful")
    assert quiet.getvalue() == "careful\n" and rep.warnings == ["careful"]
    tty = _TTY()
    prog = StreamReporter(tty).progress("fetch", 3)
    prog.advance()
    prog.finish()
    assert "fetch: 1/3" in tty.getvalue() and tty.getvalue().endswith("\r\x1b[K")
