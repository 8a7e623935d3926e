"""Address parsing: RFC 5322 3.4 and 4.4, RFC 6532, RFC 2047, and CVE-2023-27043."""

from __future__ import annotations

import pickle

import pytest

from mimekit._defects import DefectKind
from mimekit._errors import HeaderInjectionError
from mimekit.fields import AddressList, Group, Mailbox, parse_address_list, parse_mailbox
from mimekit.fields._address import parse_address_list_slow


def pairs(text: str) -> list[tuple[str, str]]:
    addrs, _ = parse_address_list(text)
    return [(m.name, m.addr_spec) for m in addrs.mailboxes]


def kinds(text: str) -> set[DefectKind]:
    return {d.kind for d in parse_address_list(text)[1]}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a@b.c", [("", "a@b.c")]),
        ("John Doe <jdoe@machine.example>", [("John Doe", "jdoe@machine.example")]),
        (
            '"Joe Q. Public" <john.q.public@example.com>',
            [("Joe Q. Public", "john.q.public@example.com")],
        ),
        (
            "Joe Q. Public <john.q.public@example.com>",
            [("Joe Q. Public", "john.q.public@example.com")],
        ),
        (
            '"Giant; \\"Big\\" Box" <sysservices@example.net>',
            [('Giant; "Big" Box', "sysservices@example.net")],
        ),
        ("<boss@nil.test>", [("", "boss@nil.test")]),
        (
            "Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>",
            [("Pete", "pete@silly.test")],
        ),
        ("aperson@dom.ain (Al Person)", [("Al Person", "aperson@dom.ain")]),
        ("aperson@dom.ain (Al (the) Person)", [("Al (the) Person", "aperson@dom.ain")]),
        ("<a@b.c> (Web Archive)", [("Web Archive", "a@b.c")]),
        ("User ((nested comment)) <foo@bar.com>", [("User", "foo@bar.com")]),
        ('"john doe"@example.com', [("", '"john doe"@example.com')]),
        ('"john.doe"@example.com', [("", "john.doe@example.com")]),
        ("jdoe@[192.168.0.1]", [("", "jdoe@[192.168.0.1]")]),
        ("Mary <@node.test,@relay.test:mary@example.net>", [("Mary", "mary@example.net")]),
        ("jdoe@test  . example", [("", "jdoe@test.example")]),
        ("John Doe <jdoe@machine(comment).  example>", [("John Doe", "jdoe@machine.example")]),
        (
            "=?ISO-8859-1?Q?Keld_J=F8rn_Simonsen?= <keld@dkuug.dk>",
            [("Keld Jørn Simonsen", "keld@dkuug.dk")],
        ),
        ('"=?utf-8?q?J=C3=B6rg?=" <j@x.de>', [("Jörg", "j@x.de")]),
        ("=?utf-8?q?a?= =?utf-8?q?b?= <a@b.com>", [("ab", "a@b.com")]),
        ("Jörg Müller <jörg@müller.de>", [("Jörg Müller", "jörg@müller.de")]),
        ("a@b.c, , c@d.e", [("", "a@b.c"), ("", "c@d.e")]),
        ('"  James Smythe" <james@example.com>', [("  James Smythe", "james@example.com")]),
        ("", []),
        ("   ", []),
    ],
)
def test_mailboxes(text: str, expected: list[tuple[str, str]]) -> None:
    assert pairs(text) == expected


def test_groups() -> None:
    addrs, defects = parse_address_list(
        "A Group(Some people):Chris Jones <c@(Chris's host.)public.example>, joe@example.org, "
        "John <jdoe@one.test> (my dear friend); (the end of the group)"
    )
    assert not defects
    assert len(addrs) == 1 and isinstance(addrs[0], Group)
    assert addrs[0].name == "A Group"
    assert [m.addr_spec for m in addrs[0].mailboxes] == [
        "c@public.example",
        "joe@example.org",
        "jdoe@one.test",
    ]
    assert addrs.addr_specs == ("c@public.example", "joe@example.org", "jdoe@one.test")


def test_empty_group_and_mixed_list() -> None:
    addrs, defects = parse_address_list("undisclosed-recipients:;")
    assert addrs == AddressList([Group("undisclosed-recipients")]) and not defects
    assert not addrs.mailboxes
    addrs, _ = parse_address_list("(Empty list)(start)Hidden recipients  :(nobody(that I know))  ;")
    assert addrs[0] == Group("Hidden recipients")
    addrs, defects = parse_address_list("a@b.c, Friends: x@y.z, w@v.u;, d@e.f")
    assert [type(a).__name__ for a in addrs] == ["Mailbox", "Group", "Mailbox"]
    assert len(addrs.mailboxes) == 4 and not defects


def test_group_without_comma_and_unterminated() -> None:
    addrs, defects = parse_address_list("L1: a@b.c; L2: d@e.f; g@h.i")
    assert [type(a).__name__ for a in addrs] == ["Group", "Group", "Mailbox"]
    assert DefectKind.INVALID_ADDRESS in {d.kind for d in defects}
    addrs, defects = parse_address_list("L1: a@b.c, d@e.f")
    assert isinstance(addrs[0], Group) and len(addrs[0].mailboxes) == 2
    assert any("';'" in d.detail for d in defects)


def test_route_is_kept_apart() -> None:
    (m,) = parse_address_list("<@a.test,@b.test:user@host.test>")[0]
    assert isinstance(m, Mailbox)
    assert m.route == ("a.test", "b.test")
    assert m.addr_spec == "user@host.test"
    assert m.format() == "user@host.test"


def test_obsolete_forms_give_defects() -> None:
    assert DefectKind.OBSOLETE_SYNTAX in kinds("Joe Q. Public <a@b.c>")
    assert DefectKind.OBSOLETE_SYNTAX in kinds("a@b.c, , d@e.f")
    assert DefectKind.OBSOLETE_SYNTAX in kinds("john . doe @ example . com")
    assert pairs("john . doe @ example . com") == [("", "john.doe@example.com")]


def test_missing_domain_is_a_domainless_mailbox() -> None:
    addrs, defects = parse_address_list("undisclosed-recipients")
    (m,) = addrs
    assert isinstance(m, Mailbox) and m.domain == "" and m.local_part == "undisclosed-recipients"
    assert DefectKind.INVALID_ADDRESS in {d.kind for d in defects}
    (m,) = parse_address_list("<postmaster>")[0]
    assert isinstance(m, Mailbox) and m.addr_spec == "postmaster"


def test_lenient_but_unambiguous() -> None:
    # Specials in an unquoted display name: the angle address is unambiguous.
    assert pairs("phil@example.com <phil@example.com>") == [
        ("phil@example.com", "phil@example.com")
    ]
    # A display name after the address.
    assert pairs("<a@b.com> =?utf-8?q?Doe?=") == [("Doe", "a@b.com")]
    # Outlook's ";" separator: both addresses are returned, none hidden.
    assert pairs("a@b.c; d@e.f") == [("", "a@b.c"), ("", "d@e.f")]
    # A missing ">" at the very end.
    assert pairs("Name <a@b.c") == [("Name", "a@b.c")]


# --- security: CVE-2023-27043 -------------------------------------------------
# Modelled on CPython's test_email.py test_parsing_errors: for every special
# put between two addresses, the strict reading is "no address"; mimekit
# must never return alice@example.org as a clean address there, nor make up
# an address from the pieces. It may return *both* addresses (";" is read as
# a separator, which hides nothing).

ALICE = "alice@example.org"
BOB = "bob@example.com"


@pytest.mark.parametrize("sep", list('()<>[]@:."'))
def test_cve_2023_27043_specials(sep: str) -> None:
    text = f"{ALICE}{sep}<{BOB}>"
    addrs, defects = parse_address_list(text)
    specs = [m.addr_spec for m in addrs.mailboxes]
    assert ALICE not in specs, (text, specs)
    assert "example.org" not in [m.domain for m in addrs.mailboxes]
    assert all(s == BOB for s in specs), (text, specs)
    assert defects, text


def test_cve_semicolon_returns_both() -> None:
    addrs, defects = parse_address_list(f"{ALICE};<{BOB}>")
    assert list(addrs.addr_specs) == [ALICE, BOB]
    assert any(d.kind is DefectKind.INVALID_ADDRESS for d in defects)


def test_cve_comma_is_a_separator() -> None:
    assert parse_address_list(f"{ALICE},<{BOB}>")[0].addr_specs == (ALICE, BOB)


@pytest.mark.parametrize(
    "text",
    [
        "alice@example.org@evil.test",
        "a@b@c",
        "a@b.c@c",
        "a@172.17.0.1@c",
        '"a@b.com, <c@d.com>',
        "alice@example.org )Alice(",
        "alice@example.org (Alice",
        "<alice@example.org",  # with a second address hidden behind it below
        "Name <alice@example.org, c@d.com",
        "alice@example.org]<bob@evil.test>",
        "alice@example.org>bob@evil.test",
    ],
)
def test_ambiguous_input_yields_no_hidden_or_fused_address(text: str) -> None:
    addrs, defects = parse_address_list(text)
    for m in addrs.mailboxes:
        # Whatever is returned must be an address plainly present in the text
        # as a whole addr-spec, never one built from a fragment.
        assert m.addr_spec in {"alice@example.org", "c@d.com"} or not m.domain, (text, m)
    if text.count("@") > 1 and "," not in text:
        assert "alice@example.org" not in addrs.addr_specs or text.startswith("<"), text
    assert "evil.test" not in [m.domain for m in addrs.mailboxes]
    assert defects or text in ("<alice@example.org",)


def test_double_at_is_dropped_with_defect() -> None:
    addrs, defects = parse_address_list("alice@example.org@evil.test")
    assert not addrs
    assert [d.kind for d in defects] == [DefectKind.INVALID_ADDRESS]
    # Recovery: the next element is read normally.
    assert parse_address_list("alice@example.org@evil.test, bob@example.com")[0].addr_specs == (
        "bob@example.com",
    )


def test_quoted_comma_in_name_is_one_address() -> None:
    assert pairs('"Alice, alice@example.org" <bob@example.com>') == [
        ("Alice, alice@example.org", "bob@example.com")
    ]
    assert pairs('"Jane Doe" <jane@example.net>, "John Doe" <john@example.net>') == [
        ("Jane Doe", "jane@example.net"),
        ("John Doe", "john@example.net"),
    ]


def test_unbalanced_quote_hides_nothing() -> None:
    addrs, defects = parse_address_list('"a@b.com, <c@d.com>')
    assert not addrs and defects
    addrs, _ = parse_address_list('x@y.z, "a@b.com, <c@d.com>')
    assert addrs.addr_specs == ("x@y.z",)


# --- parse_mailbox, the types -------------------------------------------------


def test_parse_mailbox() -> None:
    m, defects = parse_mailbox("John <j@x.y>")
    assert m == Mailbox("John", "j@x.y") and not defects
    m, defects = parse_mailbox("a@b.c, d@e.f")
    assert m is not None and m.addr_spec == "a@b.c" and defects
    m, defects = parse_mailbox("G: x@y.z;")
    assert m is not None and m.addr_spec == "x@y.z" and defects
    assert parse_mailbox("")[0] is None


def test_mailbox_constructor_validates() -> None:
    m = Mailbox("Jörg", "j@x.de")
    assert (m.name, m.local_part, m.domain, m.addr_spec) == ("Jörg", "j", "x.de", "j@x.de")
    assert str(m) == "Jörg <j@x.de>"
    assert str(Mailbox(addr_spec="a@b.c")) == "a@b.c"
    assert Mailbox(local_part="john doe", domain="x.y").addr_spec == '"john doe"@x.y'
    for bad in ["", "a", "a@", "@b", "a@b@c", "a b@c", "<a@b>", "a@b..c", "a@b (c)"]:
        with pytest.raises(ValueError):
            Mailbox("x", bad)
    with pytest.raises(HeaderInjectionError):
        Mailbox("x\r\nBcc: evil@x", "a@b.c")
    with pytest.raises(HeaderInjectionError):
        Mailbox("x", "a@b.c\n")
    with pytest.raises(AttributeError):
        m.name = "other"


def test_mailbox_identity_and_pickle() -> None:
    a = Mailbox("A", "a@b.c")
    assert a == Mailbox("A", "a@b.c") and hash(a) == hash(Mailbox("A", "a@b.c"))
    assert a != Mailbox("B", "a@b.c")
    assert pickle.loads(pickle.dumps(a)) == a
    al = AddressList([a, Group("G", [a])])
    assert pickle.loads(pickle.dumps(al)) == al
    assert al.mailboxes == (a, a)
    assert not AddressList() and AddressList() == AddressList([])
    with pytest.raises(TypeError):
        AddressList(["a@b.c"])  # type: ignore[list-item]


def test_domain_unicode() -> None:
    m = Mailbox("", "x@xn--mller-kva.de")
    assert m.domain == "xn--mller-kva.de"
    assert m.domain_unicode == "müller.de"
    assert Mailbox("", "x@xn--.de").domain_unicode == "xn--.de"  # undecodable: raw
    assert Mailbox("", "x@[1.2.3.4]").domain_unicode == "[1.2.3.4]"


def test_slow_path_offsets_index_the_text() -> None:
    text = "good@x.y, alice@example.org@evil.test"
    _, defects = parse_address_list_slow(text)
    (d,) = defects
    assert text[d.offset] == "@" and d.offset == text.rindex("@")
