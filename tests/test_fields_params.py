"""Content-Type, Content-Disposition and parameters (RFC 2045, RFC 2183, RFC 2231)."""

from __future__ import annotations

import pytest

from mimekit._defects import DefectKind
from mimekit._errors import HeaderInjectionError
from mimekit.fields import (
    TEXT_PLAIN,
    ContentDisposition,
    ContentType,
    ParameterMap,
    format_field,
    parse_content_disposition,
    parse_content_type,
)
from mimekit.fields._content_type import parse_content_type_slow


def kinds(defects: list) -> set[DefectKind]:  # type: ignore[type-arg]
    return {d.kind for d in defects}


def test_basic() -> None:
    ct, defects = parse_content_type('Text/HTML; Charset="UTF-8"; format=flowed')
    assert (ct.maintype, ct.subtype, ct.mime_type) == ("text", "html", "text/html")
    assert (
        ct.charset == "utf-8" and ct.params["CHARSET"] == "UTF-8" and ct.get("Format") == "flowed"
    )
    assert list(ct.params) == ["charset", "format"] and not defects


def test_boundary_case_is_kept() -> None:
    ct, _ = parse_content_type('multipart/mixed; boundary="----=_Part_AbC"')
    assert ct.boundary == "----=_Part_AbC"
    ct, _ = parse_content_type("multipart/mixed; boundary=gc0pJq0M:08jU534c0p")
    assert ct.boundary == "gc0pJq0M:08jU534c0p"


def test_comments_and_whitespace() -> None:
    ct, defects = parse_content_type(
        "(hello) text (plain) / (world) plain (eod); charset=us-ascii (Plain text)"
    )
    assert ct.mime_type == "text/plain" and ct.charset == "us-ascii" and not defects


@pytest.mark.parametrize("text", ["", "   ", "inline", "text/", "/plain", ";", "=", "á/é", "text"])
def test_invalid_type_defaults_to_text_plain(text: str) -> None:
    ct, defects = parse_content_type(text)
    assert ct.mime_type == "text/plain" and ct.charset == "us-ascii"
    assert DefectKind.INVALID_CONTENT_TYPE in kinds(defects)


def test_invalid_type_keeps_declared_charset() -> None:
    ct, defects = parse_content_type("text/; charset=utf-8")
    assert ct.mime_type == "text/plain" and ct.charset == "utf-8" and defects
    assert parse_content_type("")[0] is TEXT_PLAIN


def test_duplicates_first_wins() -> None:
    ct, defects = parse_content_type("text/plain; charset=utf-8; CHARSET=latin1")
    assert ct.charset == "utf-8"
    assert DefectKind.DUPLICATE_PARAMETER in kinds(defects)


def test_tolerated_junk() -> None:
    ct, defects = parse_content_type('text/plain ;;;;; = ;; name="value"')
    assert dict(ct.params) == {"name": "value"} and defects
    ct, defects = parse_content_type("text/plain; name=my file.txt; x=1")
    assert ct.params["name"] == "my file.txt" and ct.params["x"] == "1" and defects
    ct, defects = parse_content_type('text/plain; name="unclosed')
    assert ct.params["name"] == "unclosed" and defects
    ct, defects = parse_content_type("message/external-body; access-type=mail-server\n server=x")
    assert ct.params["access-type"] == "mail-server" and ct.params["server"] == "x"
    ct, defects = parse_content_type("application/x-stuff title=x")  # missing ';'
    assert ct.mime_type == "application/x-stuff" and ct.params["title"] == "x" and defects


def test_rfc2231_charset_and_language() -> None:
    ct, defects = parse_content_type(
        "application/x-stuff; title*=us-ascii'en-us'This%20is%20%2A%2A%2Afun%2A%2A%2A"
    )
    assert ct.params["title"] == "This is ***fun***" and ct.params.language("title") == "en-us"
    assert not defects


def test_rfc2231_continuations_mixed() -> None:
    ct, defects = parse_content_type(
        "application/x-stuff; title*0*=us-ascii'en'This%20is%20even%20more%20; "
        'title*1*=%2A%2A%2Afun%2A%2A%2A%20; title*2="isn\'t it!"'
    )
    assert ct.params["title"] == "This is even more ***fun*** isn't it!" and not defects


def test_rfc2231_split_multibyte_character() -> None:
    # "é" is C3 A9 in UTF-8: its two octets are in two sections.
    ct, defects = parse_content_type("application/pdf; name*0*=utf-8''caf%C3; name*1*=%A9.pdf")
    assert ct.params["name"] == "café.pdf" and not defects
    # Same, three-octet character split 1 + 2, sections out of order.
    cd, defects = parse_content_disposition(
        "attachment; filename*1*=%82%AC.txt; filename*0*=UTF-8''%E2"
    )
    assert cd.filename == "€.txt" and not defects


def test_rfc2231_gaps_duplicates_and_bad_escapes() -> None:
    ct, defects = parse_content_type("a/b; k*0=x; k*2=z")
    assert ct.params["k"] == "xz" and DefectKind.INVALID_PARAMETER_CONTINUATION in kinds(defects)
    ct, defects = parse_content_type("a/b; k*1=y; k*2=z")
    assert ct.params["k"] == "yz" and DefectKind.INVALID_PARAMETER_CONTINUATION in kinds(defects)
    ct, defects = parse_content_type("a/b; k*0=x; k*0=y")
    assert ct.params["k"] == "x" and DefectKind.DUPLICATE_PARAMETER in kinds(defects)
    ct, defects = parse_content_type("a/b; k*=utf-8''100%")
    assert ct.params["k"] == "100%" and defects
    ct, defects = parse_content_type("a/b; k*0=x; k*99999999999999=y")
    assert ct.params["k"] == "x" and defects


def test_rfc2231_wins_over_plain() -> None:
    cd, defects = parse_content_disposition(
        "attachment; filename=\"fallback.txt\"; filename*=utf-8''%C3%A9t%C3%A9.txt"
    )
    assert cd.filename == "été.txt" and not defects


def test_rfc2231_unknown_charset() -> None:
    ct, defects = parse_content_type("a/b; k*=x-unknown-cs''abc")
    assert ct.params["k"] == "abc" and DefectKind.UNKNOWN_CHARSET in kinds(defects)


def test_outlook_rfc2047_filenames() -> None:
    cd, _ = parse_content_disposition(
        'attachment; filename="=?utf-8?Q?Auftragsbest=C3=A4tigung_XX.PDF?="'
    )
    assert cd.filename == "Auftragsbestätigung XX.PDF"
    ct, _ = parse_content_type("image/gif; name==?iso-8859-6?b?5dHNyMcgyMfk2cfk5S5naWY=?=")
    assert ct.params["name"] == "مرحبا بالعالم.gif"
    # Never in other parameters: a boundary stays byte-exact.
    ct, _ = parse_content_type('multipart/mixed; boundary="=?utf-8?q?x?="')
    assert ct.boundary == "=?utf-8?q?x?="


def test_disposition() -> None:
    cd, defects = parse_content_disposition('Attachment; filename="a b.pdf"; size=12')
    assert cd.disposition == "attachment" and cd.filename == "a b.pdf" and cd.get("SIZE") == "12"
    assert not defects
    cd, defects = parse_content_disposition('filename="x.pdf"')
    assert cd.disposition == "attachment" and cd.filename == "x.pdf" and len(defects) == 1
    cd, defects = parse_content_disposition("")
    assert cd.disposition == "" and cd.filename is None


def test_many_parameters_and_sections_scale() -> None:
    text = "a/b" + "".join(f"; p{i}=v{i}" for i in range(3000))
    ct, defects = parse_content_type(text)
    assert len(ct.params) == 3000 and not defects
    text = "a/b" + "".join(f"; k*{i}*=%41" for i in range(3000))
    ct, defects = parse_content_type(text)
    assert ct.params["k"] == "A" * 3000


def test_fast_path_agrees_on_samples() -> None:
    for text in [
        'text/plain; charset="utf-8"',
        "text/plain",
        "Multipart/Mixed; boundary=abc; x=y",
        'image/png; name="a.png"',
        'text/plain; charset=""',
    ]:
        assert parse_content_type(text) == parse_content_type_slow(text)


# --- writing ------------------------------------------------------------------


def test_constructors_and_format() -> None:
    ct = ContentType("text/plain", charset="utf-8")
    assert ct.format() == "text/plain; charset=utf-8"
    assert ContentType("multipart/mixed", {"boundary": "==x y=="}).format() == (
        'multipart/mixed; boundary="==x y=="'
    )
    assert (
        ContentDisposition("attachment", filename="a.pdf").format() == "attachment; filename=a.pdf"
    )
    for bad in ["text", "text/", "te xt/plain", "text/pl;ain"]:
        with pytest.raises(ValueError):
            ContentType(bad)
    with pytest.raises(ValueError):
        ContentType("text/plain", {"bad name": "x"})
    with pytest.raises(HeaderInjectionError):
        ContentType("text/plain", charset="utf-8\r\nBcc: x@y")
    with pytest.raises(AttributeError):
        ct.maintype = "image"


@pytest.mark.parametrize(
    "value",
    [
        "plain.txt",
        "a b.txt",
        'q"uote\\.txt',
        "été.pdf",
        "日本語のファイル名" * 8,
        "x" * 2000,
        "mixed ascii and ü " * 10,
        "tab\there",
        "",
        "a;b=c",
        "ctl\x01char",
    ],
)
def test_parameter_round_trip(value: str) -> None:
    cd = ContentDisposition("attachment", filename=value)
    for utf8 in (False, True):
        text = cd.format(utf8=utf8)
        assert "\r" not in text and "\n" not in text
        assert utf8 or text.isascii()
        assert max(len(p) for p in text.split(" ")) <= 900
        back, _defects = parse_content_disposition(text)
        assert back.filename == value, (utf8, text)


def test_rfc2231_output_shape() -> None:
    text = ContentDisposition("attachment", filename="été.pdf").format()
    assert text == "attachment; filename*=utf-8''%C3%A9t%C3%A9.pdf"
    long = ContentDisposition("attachment", filename="é" * 40).format()
    assert "filename*0*=utf-8''" in long and "filename*1*=" in long
    assert "=?" not in long  # never RFC 2047 inside a parameter


def test_format_field_content_type_from_str() -> None:
    assert (
        format_field("Content-Type", 'TEXT/Plain; charset="utf-8"') == 'TEXT/Plain; charset="utf-8"'
    )
    assert (
        format_field("Content-Type", parse_content_type('TEXT/Plain; charset="utf-8"')[0])
        == "text/plain; charset=utf-8"
    )
    with pytest.raises(ValueError):
        format_field("Content-Type", "not a type")
    with pytest.raises(HeaderInjectionError):
        format_field("Content-Type", "text/plain;\r\n charset=x")


def test_parameter_map() -> None:
    pm = ParameterMap({"Charset": "utf-8"})
    assert pm["CHARSET"] == "utf-8" and "charset" in pm and list(pm) == ["charset"]
    assert pm == {"charset": "utf-8"} and hash(pm) == hash(ParameterMap([("charset", "utf-8")]))
    with pytest.raises(ValueError):
        ParameterMap([("a", "1"), ("A", "2")])
