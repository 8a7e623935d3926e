"""Message identifiers, List-* URL lists, Keywords and the small fields."""

from __future__ import annotations

import pytest

from mimekit._defects import DefectKind
from mimekit.fields import (
    AddressList,
    field_kind,
    parse_field,
    parse_keywords,
    parse_message_id,
    parse_message_id_list,
    parse_url_list,
)


@pytest.mark.parametrize(
    ("text", "expected", "clean"),
    [
        ("<1234@local.machine.example>", "1234@local.machine.example", True),
        ("  <a.b@c>  ", "a.b@c", True),
        ("<[abc-123]@host.example>", "[abc-123]@host.example", True),
        ('<"quoted local"@host>', '"quoted local"@host', True),
        ("<1234   @   local(blah)  .machine .example>", "1234@local.machine.example", False),
        ("<id@host> (comment)", "id@host", True),
        ("malformed@id.machine.example", "malformed@id.machine.example", False),
        ("<abc@def", "abc@def", False),
        ("<>", None, False),
        ("", None, False),
    ],
)
def test_message_id(text: str, expected: str | None, clean: bool) -> None:
    got, defects = parse_message_id(text)
    assert got == expected
    assert (not defects) == clean


def test_message_id_list_with_junk() -> None:
    ids, defects = parse_message_id_list("<a@b> <c@d>\t<e@f>")
    assert ids == ["a@b", "c@d", "e@f"] and not defects
    ids, defects = parse_message_id_list(
        'Your message of "Tue, 1 Jul 2003 <x>" <a@b> (from user@host) <c@d>'
    )
    assert ids == ["a@b", "c@d"] and defects
    ids, _ = parse_message_id_list("<a@b>,<c@d>")
    assert ids == ["a@b", "c@d"]
    ids, defects = parse_message_id_list("a@b c@d")
    assert ids == ["a@b", "c@d"] and defects
    ids, defects = parse_message_id_list("<a <b@c>")
    assert ids == ["b@c"] and defects
    assert parse_message_id_list("") == ([], [])


def test_url_lists() -> None:
    urls, defects = parse_url_list("<mailto:list@host.com?subject=help> (List Instructions)")
    assert urls == ["mailto:list@host.com?subject=help"] and not defects
    urls, _ = parse_url_list(
        "<ftp://ftp.host.com/list.txt> (FTP),\t<mailto:list@host.com?subject=help>"
    )
    assert urls == ["ftp://ftp.host.com/list.txt", "mailto:list@host.com?subject=help"]
    urls, _ = parse_url_list("<http://www.host.com/list.cgi?cmd=sub\t&lst=list>")
    assert urls == ["http://www.host.com/list.cgi?cmd=sub&lst=list"]  # RFC 2369: ws ignored
    assert parse_url_list("NO (posting not allowed on this list)") == (["NO"], [])
    urls, defects = parse_url_list("mailto:x@y.z")
    assert urls == ["mailto:x@y.z"] and defects


def test_keywords() -> None:
    assert parse_keywords("one item  ")[0] == ["one item"]
    assert parse_keywords("=?iso-8859-1?q?caf=E9?=, b,,  c")[0] == ["café", "b", "c"]


def test_dispatch() -> None:
    assert field_kind("FROM") == "address"
    assert field_kind("Sender") == "mailbox"
    assert field_kind("X-Whatever") == "unstructured"
    assert field_kind("List-Id") == "unstructured"
    value, _ = parse_field("to", "a@b.c")
    assert isinstance(value, AddressList)
    assert parse_field("Content-Transfer-Encoding", " Base64 (comment) ") == ("base64", [])
    assert parse_field("MIME-Version", "1.0 (produced by X)") == ("1.0", [])
    assert parse_field("References", "<a@b> <c@d>") == (["a@b", "c@d"], [])
    assert parse_field("Content-ID", "<part1@x>") == ("part1@x", [])
    assert parse_field("List-Post", "NO") == (["NO"], [])
    assert parse_field("Keywords", "a, b") == (["a", "b"], [])
    assert parse_field("Subject", "  Hello  ") == ("Hello", [])


def test_return_path_and_sender() -> None:
    value, defects = parse_field("Return-Path", "<>")
    assert value == AddressList() and not defects
    value, defects = parse_field("Return-Path", "<bounce@x.y>")
    assert isinstance(value, AddressList) and value.addr_specs == ("bounce@x.y",) and not defects
    value, defects = parse_field("Sender", "a@b.c, d@e.f")
    assert isinstance(value, AddressList) and len(value) == 2
    assert DefectKind.INVALID_ADDRESS in {d.kind for d in defects}
