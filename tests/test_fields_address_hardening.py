"""Address hardening: ambiguous angle brackets, IDNA2008 (RFC 5890-5893),
domain literals, control characters and line separators in addresses."""

from __future__ import annotations

import base64
import re

import pytest

import mimekit
from mimekit._defects import DefectKind
from mimekit.fields import AddressList, Mailbox, format_field, parse_address_list
from mimekit.fields._address import parse_address_list_slow
from mimekit.fields._idna import IDNAError, to_ascii, to_unicode

RAW = b"From: a@example.org\r\nSubject: x\r\n\r\nbody\r\n"


def parsed(text: str) -> tuple[AddressList, list[DefectKind], list[str]]:
    """Parse with both parsers (they must agree) and return the essentials."""
    result = parse_address_list(text)
    assert result == parse_address_list_slow(text), "fast path disagrees"
    al, defects = result
    return al, [d.kind for d in defects], [d.detail for d in defects]


def addr_specs(text: str) -> list[str]:
    return [m.addr_spec for m in parsed(text)[0].mailboxes]


# --- 1. a '>' after the separator: the brackets enclose two addresses --------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Alice <alice@example.org, bob@evil.test>", []),
        ("Alice <alice@example.org; bob@evil.test>", []),
        ("<alice@example.org, bob@evil.test>", []),
        ("Alice <alice@example.org, bob@evil.test>, carol@example.net", ["carol@example.net"]),
        ("carol@example.net, Alice <alice@example.org,bob@evil.test>", ["carol@example.net"]),
        ("Alice <alice@example.org, (c) bob@evil.test (d)>", []),
        ("Alice <alice@example.org, x, y, bob@evil.test> z, w@example.net", ["w@example.net"]),
        # Already refused before: no separator between the two.
        ("Alice <alice@example.org bob@evil.test>", []),
    ],
)
def test_angle_closed_after_a_separator_drops_the_element(text: str, expected: list[str]) -> None:
    al, kinds, _ = parsed(text)
    assert al.addr_specs == tuple(expected)
    assert DefectKind.INVALID_ADDRESS in kinds


@pytest.mark.parametrize(
    ("text", "members", "after"),
    [
        ("g: x <a@b.c, d@e.f>;", [], []),
        ("g: x <a@b.c; d@e.f>;", [], []),
        ("g: x <a@b.c, d@e.f>, y@z.example;", ["y@z.example"], []),
        ("g: x <a@b.c, d@e.f>;, h@i.example", [], ["h@i.example"]),
    ],
)
def test_angle_closed_after_a_separator_inside_a_group(
    text: str, members: list[str], after: list[str]
) -> None:
    al, kinds, _ = parsed(text)
    group = al[0]
    assert isinstance(group, mimekit.Group) and group.name == "g"
    assert [m.addr_spec for m in group.mailboxes] == members
    assert [m.addr_spec for m in al[1:]] == after  # type: ignore[union-attr]
    assert DefectKind.INVALID_ADDRESS in kinds


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # No '>' ever closes the bracket: the end of the element is clear.
        ("Alice <alice@example.org", ["alice@example.org"]),
        ("Alice <alice@example.org, bob@example.net", ["alice@example.org", "bob@example.net"]),
        # The next '>' belongs to the next '<'.
        ("Alice <alice@example.org, Bob <bob@example.net>", ["alice@example.org",
                                                            "bob@example.net"]),
    ],
)
def test_missing_angle_close_is_still_tolerated_when_unambiguous(
    text: str, expected: list[str]
) -> None:
    al, _kinds, details = parsed(text)
    assert list(al.addr_specs) == expected
    assert "missing '>'" in details


# --- 2. IDNA2008 ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("domain", "expected"),
    [
        ("bücher.de", "xn--bcher-kva.de"),
        ("BÜCHER.de", "xn--bcher-kva.de"),
        ("Bücher.Example.ORG", "xn--bcher-kva.Example.ORG"),  # ASCII labels kept as given
        ("faß.de", "xn--fa-hia.de"),  # IDNA2003 gave fass.de, another domain
        ("ςόλος.gr", "xn--wxaihc1c.gr"),  # final sigma is PVALID
        ("ΣΌΛΟΣ.gr", "xn--wxaikc6b.gr"),  # capital sigma maps to plain sigma: σόλοσ
        ("l\u00b7l.cat", "xn--ll-0ea.cat"),  # CONTEXTO middle dot between two 'l'
        ("\u0915\u094d\u200d\u0937.in", "xn--11b2ezcw70k.in"),  # ZWJ after a virama
        ("日本\u30fb語.jp", "xn--vek160nb2acz6g.jp"),  # katakana middle dot with Han
        ("\u05d0\u05d1.il", "xn--4dbc.il"),  # Hebrew (RTL) label
        ("\u0627\u0644\u0639\u0631\u0628\u064a\u0629.example", "xn--mgbcd4a2b0d2b.example"),
        ("\u0f0b\u0f40.bt", "xn--nbd0i.bt"),  # TSHEG, a section 2.6 PVALID exception
        ("u\u0308ber.de", "xn--ber-goa.de"),  # mapped to NFC
    ],
)
def test_to_ascii_writes_idna2008_a_labels(domain: str, expected: str) -> None:
    assert to_ascii(domain) == expected
    back = to_unicode(expected)
    assert to_ascii(back) == expected


@pytest.mark.parametrize(
    ("domain", "named"),
    [
        ("a\u200db.de", "U+200D"),  # ZWJ without a virama (IDNA2003 dropped it: ab.de)
        ("a\u200cb.de", "U+200C"),  # ZWNJ without a virama
        ("evil\u2024com", "U+2024"),  # NFKC would make a real dot
        ("paypal\u3002com", "U+3002"),
        ("a\ufe52b", "U+FE52"),
        ("\u2100.de", "U+2100"),  # IDNA2003 wrote a/c.de
        ("a\u2044b.com", "U+2044"),  # fraction slash
        ("\uff45xample.com", "U+FF45"),  # full width e: not mapped, refused
        ("\u00ad\u00fc.de", "U+00AD"),  # soft hyphen
        ("\u00fc\u034f.de", "U+034F"),  # default ignorable grapheme joiner
        ("\u00fc\ufe0f.de", "U+FE0F"),  # variation selector
        ("\u00fc\u1100.kr", "U+1100"),  # old Hangul jamo (a lone one: NFC composes pairs)
        ("\u0628\u0640\u0628.example", "U+0640"),  # tatweel, a section 2.6 exception
        ("\u0f0c.bt", "U+0F0C"),  # NFKC-unstable
        ("\u00fc\u0378.de", "U+0378"),  # unassigned
        ("a\u00b7b.cat", "U+00B7"),  # middle dot not between two 'l'
        ("\u00fc\u0375a.gr", "U+0375"),  # keraia not followed by Greek
        ("\u00fc\u05f3.il", "U+05F3"),  # geresh not after Hebrew
        ("\u00fc\u30fbx.jp", "U+30FB"),  # katakana middle dot without kana or Han
        ("\u0628\u0661\u06f1.example", "U+0661"),  # Arabic-Indic digit sets mixed
        ("\u0301a\u00fc.de", "U+0301"),  # leading combining mark
        ("\u00fc\x85.de", "U+0085"),  # C1 control
        ("\u00fc\u2028.de", "U+2028"),
        ("\u212aeybank.com", "U+212A"),  # KELVIN SIGN: lower case is ASCII "k"
        ("\u0130stanbul.example", "U+0130"),  # lower case is "i" + combining dot
    ],
)
def test_to_ascii_refuses_what_idna2008_disallows(domain: str, named: str) -> None:
    with pytest.raises(IDNAError, match=re.escape(named)):
        to_ascii(domain)


@pytest.mark.parametrize(
    "domain",
    [
        "-\u00fc.de",  # leading hyphen
        "\u00fc-.de",  # trailing hyphen
        "\u00fcb--x.de",  # '--' in positions 3 and 4
        "\u00fc" * 60 + ".de",  # A-label over 63 octets
        ".".join(["\u00fc" + "a" * 40] * 6),  # name over 253 octets
        "b\u00fccher..de",  # empty label
        ".b\u00fccher.de",
        "b\u00fccher.de.",  # a trailing root dot is refused too (no mail domain has one)
        "\u05d0a.il",  # Bidi rule 2: Latin in an RTL label
        "\u05d01.\u00fc",  # RTL label ending with a digit is fine (rule 3) ...
        "\u0627\u0661\u0031.example",  # ... but EN and AN mixed is not (rule 4)
        "1\u05d0.example",  # rule 1: starts with a digit
        "\u00fc\u05d0.example",  # rule 5: an LTR label with an R character
        "\u00fc1\u0301\u05d0.\u05d0",
    ],
)
def test_to_ascii_refuses_bad_label_shapes(domain: str) -> None:
    if domain == "\u05d01.\u00fc":
        assert to_ascii(domain) == "xn--1-zhc.xn--tda"
        return
    with pytest.raises(ValueError):
        to_ascii(domain)


def test_idna_error_is_a_unicode_error_and_a_value_error() -> None:
    # tree/_compose.py catches UnicodeError, the API promises ValueError.
    with pytest.raises(UnicodeError):
        to_ascii("paypal\u3002com")
    assert issubclass(IDNAError, ValueError)


@pytest.mark.parametrize("domain", ["example.org", "Example.ORG", "xn--junk.org", "a_b.example"])
def test_to_ascii_keeps_ascii_domains_byte_for_byte(domain: str) -> None:
    assert to_ascii(domain) == domain


@pytest.mark.parametrize(
    ("domain", "shown"),
    [
        ("xn--bcher-kva.de", "bücher.de"),
        ("XN--BCHER-KVA.DE", "bücher.DE"),  # prefix and punycode are case-insensitive
        ("Xn--Bcher-Kva.de", "bücher.de"),
        ("xn--fa-hia.de", "faß.de"),
        ("a.xn--4dbc.il", "a.\u05d0\u05d1.il"),
        # Look-alikes and invalid A-labels keep their ASCII form.
        ("xn--paypalcom-bk3h.evil.test", "xn--paypalcom-bk3h.evil.test"),  # paypal。com
        ("xn--ab-c6t.com", "xn--ab-c6t.com"),  # a, FRACTION SLASH, b
        ("xn--fass-dua.de", "xn--fass-dua.de"),  # an upper-case letter (not mapped)
        ("xn--.de", "xn--.de"),
        ("xn--abc-.de", "xn--abc-.de"),  # an ASCII-only payload
        ("xn--zzzzzzzzzzzzzzzzzz.de", "xn--zzzzzzzzzzzzzzzzzz.de"),  # not punycode
        ("xn--" + "u\u0308ber".encode("punycode").decode() + ".de",  # not NFC
         "xn--" + "u\u0308ber".encode("punycode").decode() + ".de"),
        ("xn--" + "\u05d0a".encode("punycode").decode() + ".il",  # breaks the Bidi rule
         "xn--" + "\u05d0a".encode("punycode").decode() + ".il"),
        ("xn--a-ecp.ru", "xn--a-ecp.ru"),  # U+2488 DIGIT ONE FULL STOP
        ("[1.2.3.4]", "[1.2.3.4]"),
        ("example.org", "example.org"),
        ("", ""),
    ],
)
def test_to_unicode_decodes_only_valid_a_labels(domain: str, shown: str) -> None:
    assert to_unicode(domain) == shown


@pytest.mark.parametrize(
    ("addr", "shown"),
    [
        ("u@xn--paypalcom-bk3h.evil.test", "xn--paypalcom-bk3h.evil.test"),
        ("u@xn--ab-c6t.com", "xn--ab-c6t.com"),
        ("u@xn--fa-hia.de", "faß.de"),
        ("u@XN--BCHER-KVA.DE", "bücher.DE"),
    ],
)
def test_domain_unicode_shows_no_lookalikes(addr: str, shown: str) -> None:
    assert Mailbox("", addr).domain_unicode == shown
    assert parsed(addr)[0].mailboxes[0].domain_unicode == shown


@pytest.mark.parametrize(
    ("addr", "wire"),
    [
        ("a@faß.de", "a@xn--fa-hia.de"),
        ("a@Bücher.de", "a@xn--bcher-kva.de"),
        ("a@example.org", "a@example.org"),
    ],
)
def test_idn_domains_are_written_as_idna2008(addr: str, wire: str) -> None:
    m = Mailbox("", addr)
    assert m.format() == wire
    assert m.domain_ascii == wire.partition("@")[2]
    assert format_field("To", parsed(addr)[0]) == wire
    msg = mimekit.parse(RAW)
    msg.headers.set("To", addr, utf8=False)
    assert f"To: {wire}\r\n".encode() in bytes(msg)


@pytest.mark.parametrize(
    "domain", ["paypal\u3002com", "evil\u2024com", "a\ufe52b", "\u2100.de", "a\u200db.de"]
)
def test_invalid_idn_domains_are_refused_not_rewritten(domain: str) -> None:
    with pytest.raises(ValueError):
        Mailbox("", f"u@{domain}")
    with pytest.raises(ValueError):
        Mailbox("", local_part="u", domain=domain)
    # Parsed values are not validated, but are never written rewritten.
    al = parsed(f"u@{domain}")[0]
    assert al.mailboxes[0].domain == domain
    with pytest.raises(ValueError):
        format_field("To", al)
    with pytest.raises(ValueError):
        _ = al.mailboxes[0].domain_ascii
    msg = mimekit.parse(RAW)
    with pytest.raises(ValueError):
        msg.headers.set("To", f"u@{domain}", utf8=False)
    with pytest.raises(ValueError):
        mimekit.compose(from_=f"u@{domain}", to="b@example.org", subject="s", text="t")
    # In UTF-8 mode the domain is written as it is: not changed either.
    assert format_field("To", al, utf8=True) == f"u@{domain}"


def test_compose_message_id_uses_idna2008() -> None:
    msg = mimekit.compose(from_="a@faß.de", to="b@example.org", subject="s", text="t")
    raw = bytes(msg)
    assert b"From: a@xn--fa-hia.de\r\n" in raw
    assert msg.message_id is not None and msg.message_id.endswith("@xn--fa-hia.de")


# --- 4. domain literals -----------------------------------------------------------


@pytest.mark.parametrize(
    "literal",
    ["[a\\]", "[a\\]]", "[a\\b]", "[a[b]", "[a]b]", "[a\x01]", "[a\x7f]", "[a\x85]", "[a\u2028]",
     "[1.2.3.4", "1.2.3.4]"],
)
def test_unreadable_domain_literals_are_refused(literal: str) -> None:
    with pytest.raises(ValueError):
        Mailbox("", local_part="u", domain=literal)
    with pytest.raises(ValueError):
        Mailbox("", f"u@{literal}")


@pytest.mark.parametrize("literal", ["[192.0.2.1]", "[IPv6:2001:db8::1]", "[ 192.0.2.1 ]", "[]"])
def test_writable_domain_literals_read_back(literal: str) -> None:
    boxes = [Mailbox("", local_part="u", domain=literal), Mailbox("", "v@example.org")]
    out = format_field("To", AddressList(boxes))
    assert parsed(out)[0] == AddressList(boxes)


# --- 5. control characters in parsed addresses ----------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "alice@exa\x01mple.org",
        "alice@ex\x7fample.org",
        "alice@evil.test\x00.example.org",
        "Alice <alice@exa\x1bmple.org>",
        "alice@[192.0.2.\x011]",
        "al\x01ice@example.org",
        "<al\x7fice@example.org>",
        '"al\x00ice"@example.org',
        '"al\nice"@example.org',
        "<@ro\x01ute:alice@example.org>",
    ],
)
def test_control_characters_in_a_parsed_address_drop_it(text: str) -> None:
    al, kinds, details = parsed(text)
    assert not al
    assert DefectKind.INVALID_ADDRESS in kinds
    assert any("control character U+" in d for d in details)
    # The neighbours are kept.
    al, _, _ = parsed(f"x@example.net, {text}, y@example.net")
    assert list(al.addr_specs) == ["x@example.net", "y@example.net"]


def test_control_character_in_a_quoted_local_part_is_obsolete_but_read() -> None:
    al, kinds, _ = parsed('"al\x01ice"@example.org')
    assert al.mailboxes[0].local_part == "al\x01ice"
    assert kinds == [DefectKind.OBSOLETE_SYNTAX]
    assert parsed('"a\tb"@example.org')[1] == []  # tab is WSP, not a control


# --- 6. line separators and obs-qtext are never written ------------------------


@pytest.mark.parametrize("char", ["\u2028", "\u2029", "\x85", "\x9f", "\x0b", "\x1f", "\x7f"])
def test_constructor_refuses_unwritable_characters(char: str) -> None:
    with pytest.raises(ValueError, match=re.escape(f"U+{ord(char):04X}")):
        Mailbox("", local_part=f"x{char}Bcc: evil", domain="evil.test")
    with pytest.raises(ValueError):
        Mailbox("", f'"x{char}y"@example.org')
    with pytest.raises(ValueError):
        Mailbox("", local_part="x", domain=f"ev{char}il.test")
    with pytest.raises(ValueError):
        Mailbox("", f"x@ev{char}il.test")


def test_obs_qtext_is_refused_in_the_constructor() -> None:
    for addr in ('"a\x0bb"@y.z', '"\x7f"@y.z', '"a\x01"@y.z'):
        with pytest.raises(ValueError):
            Mailbox("", addr)
    assert Mailbox("", '"a\tb"@y.z').format() == '"a\tb"@y.z'


def test_headers_set_refuses_a_line_separator_in_utf8_mode() -> None:
    msg = mimekit.parse(RAW)
    with pytest.raises(ValueError):
        msg.headers.set(
            "To", Mailbox("", local_part="x\u2028Bcc: evil", domain="evil.test"), utf8=True
        )
    for text in ("x\u2028Bcc: evil@evil.test", "x@evil\u2029.test", "x\x85y@evil.test"):
        with pytest.raises(ValueError):
            msg.headers.set("To", text, utf8=True)
    assert len(bytes(msg).decode("utf-8").splitlines()) == len(RAW.decode().splitlines())


@pytest.mark.parametrize("text", ["x\u2028y@evil.test", "N <x@evil\u2029.test>", "x\x85y@e.test"])
def test_parsed_line_separators_are_not_written_raw(text: str) -> None:
    al = parsed(text)[0]
    for utf8 in (True, False):
        with pytest.raises(ValueError):
            format_field("To", al, utf8=utf8)
    shown = str(al)  # printing still works, with the separator escaped
    assert len(shown.splitlines()) == 1 and "\\u" in shown


# --- display names holding line breaks -----------------------------------------

_EVIL = base64.b64encode(b"Evil\r\nBcc: x@evil").decode()


@pytest.mark.parametrize(
    "text",
    [
        f"=?utf-8?b?{_EVIL}?= <a@example.org>",
        f'"=?utf-8?b?{_EVIL}?=" <a@example.org>',
        f"a@example.org (=?utf-8?b?{_EVIL}?=)",
        "=?utf-8?q?Evil=0ABcc=3A_x?= <a@example.org>",
        "=?utf-8?q?Evil=00?= <a@example.org>",
        f"=?utf-8?b?{_EVIL}?=: a@example.org;",
    ],
)
def test_display_name_with_a_line_break_is_flagged(text: str) -> None:
    al, kinds, details = parsed(text)
    assert al.mailboxes[0].addr_spec == "a@example.org"
    name = al[0].name
    assert "Evil" in name and ("\n" in name or "\x00" in name)
    assert DefectKind.INVALID_ADDRESS in kinds
    assert any("display name holds" in d for d in details)


def test_plain_display_names_get_no_new_defect() -> None:
    assert parsed("=?utf-8?q?J=C3=B6rg?= <j@example.org>")[1] == []
    assert parsed("Jörg <j@example.org>")[1] == []
