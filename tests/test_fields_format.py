"""format_field and the format() methods: encoding rules, folding guarantees, injection."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from mimekit._errors import HeaderInjectionError
from mimekit.fields import (
    AddressList,
    ContentType,
    Group,
    Mailbox,
    format_field,
    parse_address_list,
    parse_field,
    parse_unstructured,
)


def test_non_ascii_display_name_is_encoded() -> None:
    out = format_field("From", "Jörg Müller <j@x.de>")
    assert out.isascii() and out.endswith(" <j@x.de>") and out.startswith("=?utf-8?")
    (m,) = parse_address_list(out)[0]
    assert isinstance(m, Mailbox) and (m.name, m.addr_spec) == ("Jörg Müller", "j@x.de")
    assert format_field("From", "Jörg Müller <j@x.de>", utf8=True) == "Jörg Müller <j@x.de>"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("John Doe", "John Doe <j@x.y>"),
        ("Doe, John", '"Doe, John" <j@x.y>'),
        ("J. Doe", '"J. Doe" <j@x.y>'),
        ('Say "hi"', '"Say \\"hi\\"" <j@x.y>'),
        ("  spaced  ", '"  spaced  " <j@x.y>'),
        ("a@b.c", '"a@b.c" <j@x.y>'),
        ("", "j@x.y"),
    ],
)
def test_display_name_quoting(name: str, expected: str) -> None:
    m = Mailbox(name, "j@x.y")
    assert m.format() == expected
    assert parse_address_list(m.format())[0] == AddressList([m])


def test_encoded_word_lookalike_in_name_is_encoded() -> None:
    m = Mailbox("=?utf-8?q?evil?=", "j@x.y")
    out = m.format()
    assert parse_address_list(out)[0] == AddressList([m])


def test_never_encoded_words_in_addr_spec() -> None:
    with pytest.raises(ValueError):
        format_field("To", "jörg@x.de")
    assert format_field("To", "jörg@x.de", utf8=True) == "jörg@x.de"
    # IDN domain: A-labels without utf8, U-labels with it. A str that cannot
    # be written as it is gets the canonical form of its value.
    assert format_field("To", "j@müller.de") == "j@xn--mller-kva.de"
    assert format_field("To", parse_address_list("j@müller.de")[0]) == "j@xn--mller-kva.de"
    assert format_field("To", "j@müller.de", utf8=True) == "j@müller.de"
    out = Mailbox("Ünïcode", local_part="john doe", domain="x.y").format()
    assert out.endswith('<"john doe"@x.y>') and "=?" in out.split("<")[0]


def test_groups_and_lists() -> None:
    al = AddressList(
        [
            Mailbox("A", "a@x.y"),
            Group("Team, core", [Mailbox("", "b@x.y")]),
            Group("undisclosed-recipients"),
        ]
    )
    out = format_field("To", al)
    assert out == 'A <a@x.y>, "Team, core": b@x.y;, undisclosed-recipients:;'
    assert parse_address_list(out)[0] == al
    assert format_field("Cc", [Mailbox("", "a@x.y"), "B <b@x.y>"]) == "a@x.y, B <b@x.y>"
    assert format_field("Bcc", []) == ""
    with pytest.raises(ValueError):
        format_field("To", [])


def test_unparseable_address_str_raises() -> None:
    for bad in ["not an address at all", "a@b@c", '"unclosed <a@b.c>', "<>", "a@b.c)"]:
        with pytest.raises(ValueError):
            format_field("From", bad)


def test_path_and_sender() -> None:
    assert format_field("Return-Path", AddressList()) == "<>"
    assert format_field("Return-Path", "Bounce <b@x.y>") == "<b@x.y>"
    assert format_field("Return-Path", "b@x.y") == "<b@x.y>"  # the bare address
    assert format_field("Return-Path", "<>") == "<>"
    assert format_field("Return-Path", "<b@x.y>") == "<b@x.y>"
    assert format_field("Sender", "S <s@x.y>") == "S <s@x.y>"
    with pytest.raises(ValueError):
        format_field("Sender", "a@x.y, b@x.y")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("Subject", "hello\r\nBcc: victim@x.y"),
        ("Subject", "hello\nX: y"),
        ("Subject", "hello\rX: y"),
        ("Subject", "nul\x00byte"),
        ("From", "a@b.c\r\nBcc: victim@x.y"),
        ("To", "Name\n <a@b.c>"),
        ("Message-ID", "<a@b>\r\nX: y"),
        ("References", "<a@b>\n<c@d>"),
        ("Content-Type", "text/plain\r\nX: y"),
        ("Date", "Tue, 1 Jul 2003 10:52:37 +0200\r\n"),
        ("List-Unsubscribe", "<mailto:a@b>\r\nX: y"),
        ("Keywords", "a\nb"),
        ("X-Custom", "v\r\n\r\nbody"),
    ],
)
def test_header_injection(name: str, value: str) -> None:
    with pytest.raises(HeaderInjectionError):
        format_field(name, value)


def test_injection_through_typed_values() -> None:
    with pytest.raises(HeaderInjectionError):
        format_field("References", ["a@b", "c@d\r\nX: y"])
    with pytest.raises(HeaderInjectionError):
        format_field("List-Help", ["mailto:a@b\nX: y"])


def test_unstructured_rules() -> None:
    assert format_field("Subject", "Hello world") == "Hello world"
    assert format_field("Subject", "Grüße") == "=?utf-8?q?Gr=C3=BC=C3=9Fe?=" or (
        parse_unstructured(format_field("Subject", "Grüße"))[0] == "Grüße"
    )
    assert format_field("Subject", "Grüße aus Berlin", utf8=True) == "Grüße aus Berlin"
    out = format_field("Subject", "Re: Grüße aus Berlin")
    assert out.startswith("Re: ") and out.endswith(" aus Berlin")  # only the word encoded
    assert format_field("Subject", "") == ""


@pytest.mark.parametrize(
    "value",
    [
        "  leading",
        "trailing  ",
        "\ttab\tinside\t",
        "a  =?utf-8?q?x?=  b",
        "=?",
        "?= =?",
        "x" * 2000,
        "word " + "y" * 950 + " end",
        "é" * 400,
        "a\t" * 600,
        "   ",
        "\x0b\x0c",
        "日本語 テキスト  with   spaces",
        "control\x01char",
        "\x85nel",
    ],
)
def test_unstructured_round_trip_examples(value: str) -> None:
    for utf8 in (False, True):
        out = format_field("Subject", value, utf8=utf8)
        assert utf8 or out.isascii()
        assert max(len(w) for w in out.split(" ")) <= 900
        assert parse_unstructured(" " + out)[0] == value


def test_structured_values() -> None:
    dt = datetime(2003, 7, 1, 10, 52, 37, tzinfo=timezone(timedelta(hours=2)))
    assert format_field("Date", dt) == "Tue, 01 Jul 2003 10:52:37 +0200"
    # A str is written as given once it is known to be a valid date...
    assert format_field("Date", "1 jul 2003 10:52:37 +0200") == "1 jul 2003 10:52:37 +0200"
    # ...and a datetime is the way to get the canonical form.
    for bad in ["Tue, 01 Jul 2003 10:52:37", "Tue, 01 Jul 2003 10:52:37 +0200 junk", " x"]:
        with pytest.raises(ValueError):
            format_field("Date", bad)
    with pytest.raises(ValueError):
        format_field("Date", datetime(2003, 7, 1))
    with pytest.raises(ValueError):
        format_field("Date", "yesterday")
    assert format_field("Message-ID", "abc@x.y") == "<abc@x.y>"
    assert format_field("Content-ID", "<abc@x.y>") == "<abc@x.y>"
    for bad in ["no-at-sign", "a b@c", "<a@b", "a@" + "b" * 1000]:
        with pytest.raises(ValueError):
            format_field("Message-ID", bad)
    assert format_field("References", ["a@b", "<c@d>"]) == "<a@b> <c@d>"
    assert format_field("In-Reply-To", "<a@b> <c@d>") == "<a@b> <c@d>"
    assert format_field("Content-Type", ContentType("text/plain", charset="utf-8")) == (
        "text/plain; charset=utf-8"
    )
    assert format_field("Content-Transfer-Encoding", "Base64") == "Base64"
    assert format_field("MIME-Version", "1.0") == "1.0"
    assert format_field("List-Unsubscribe", ["https://x.y/u?a=1", "mailto:u@x.y"]) == (
        "<https://x.y/u?a=1>, <mailto:u@x.y>"
    )
    assert format_field("List-Unsubscribe", "https://x.y/u") == "<https://x.y/u>"
    assert format_field("List-Post", "NO") == "NO"
    assert format_field("Keywords", ["a", "b, c", "ü"]).startswith('a, "b, c", =?utf-8?')
    for name, value in [("Subject", 3), ("Date", 3), ("Message-ID", None)]:
        with pytest.raises(TypeError):
            format_field(name, value)


def test_parse_field_inverts_format_field() -> None:
    for name, value in [
        ("References", ["a@b", "c@d"]),
        ("Keywords", ["a", "b, c", "ü x"]),
        ("List-Help", ["mailto:a@b?subject=help", "https://x.y/"]),
        ("Content-Transfer-Encoding", "quoted-printable"),
    ]:
        assert parse_field(name, format_field(name, value))[0] == value
