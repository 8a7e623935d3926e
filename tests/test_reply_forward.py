"""Message.reply and Message.forward: subjects, threading, recipients, quoting."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_compose_stdlib import assert_same, check_invariants

import mimekit
from mimekit.tree._reply import (
    MAX_REFERENCES,
    forward_subject,
    html_to_text,
    quote_text,
    reply_subject,
)

DATE = datetime(2024, 5, 17, 9, 30, tzinfo=timezone(timedelta(hours=2)))

ORIGINAL = (
    b"From: =?utf-8?q?J=C3=B6rg_M=C3=BCller?= <joerg@example.de>\r\n"
    b"To: Me <me@example.org>, Carol <carol@example.net>\r\n"
    b"Cc: dave@example.net, ME@Example.org\r\n"
    b"Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\n"
    b"Date: Fri, 17 May 2024 09:30:00 +0200\r\n"
    b"Message-ID: <orig@example.de>\r\n"
    b"References: <root@example.de> <mid@example.de>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: 8bit\r\n"
    b"\r\n"
    b"Hallo,\r\n> earlier quote\r\n\r\nTsch\xc3\xbcss\r\n"
)


def checked(msg: mimekit.Message) -> mimekit.Message:
    raw = bytes(msg)
    check_invariants(raw)
    assert_same(raw)
    return msg


def reply(raw: bytes = ORIGINAL, **kwargs: object) -> mimekit.Message:
    kwargs.setdefault("date", DATE)
    kwargs.setdefault("message_id", "reply@example.org")
    return checked(mimekit.parse(raw).reply(**kwargs))  # type: ignore[arg-type]


# -- subjects ------------------------------------------------------------------------


@pytest.mark.parametrize(("subject", "expected"), [
    ("lunch", "Re: lunch"),
    ("Re: lunch", "Re: lunch"),
    ("RE: Re: re:lunch", "Re: lunch"),
    ("Aw: Re[3]: lunch", "Re: lunch"),
    ("SV: Antw: Odp: lunch", "Re: lunch"),
    ("Re(2): lunch", "Re: lunch"),
    ("回复\uff1a午饭", "Re: 午饭"),
    ("Fwd: lunch", "Re: Fwd: lunch"),
    ("Really: lunch", "Re: Really: lunch"),
    ("Regarding lunch", "Re: Regarding lunch"),
    ("", "Re:"),
    (None, "Re:"),
])
def test_reply_subject(subject: str | None, expected: str) -> None:
    assert reply_subject(subject) == expected


@pytest.mark.parametrize(("subject", "expected"), [
    ("report", "Fwd: report"),
    ("Fwd: report", "Fwd: report"),
    ("FW: WG: Tr: report", "Fwd: report"),
    ("Re: report", "Fwd: Re: report"),
    (None, "Fwd:"),
])
def test_forward_subject(subject: str | None, expected: str) -> None:
    assert forward_subject(subject) == expected


def test_prefix_stripping_is_linear() -> None:
    subject = "Re: " * 20000 + "x" + " " * 20000
    assert reply_subject(subject) == "Re: x"
    assert reply_subject("Re" + " " * 50000) == "Re: Re"


# -- threading (RFC 5322 section 3.6.4) -------------------------------------------------


def test_threading_fields() -> None:
    msg = reply(text="ok")
    assert msg.subject == "Re: Grüße"
    assert msg.in_reply_to == ["orig@example.de"]
    assert msg.references == ["root@example.de", "mid@example.de", "orig@example.de"]


def test_references_from_in_reply_to_when_absent() -> None:
    raw = (b"From: a@x.org\r\nMessage-ID: <b@x.org>\r\nIn-Reply-To: <a@x.org>\r\n\r\nx")
    assert reply(raw).references == ["a@x.org", "b@x.org"]
    raw = (b"From: a@x.org\r\nMessage-ID: <b@x.org>\r\n"
           b"In-Reply-To: <a@x.org> <c@x.org>\r\n\r\nx")
    assert reply(raw).references == ["b@x.org"]


def test_no_message_id_means_no_in_reply_to() -> None:
    msg = reply(b"From: a@x.org\r\nSubject: s\r\n\r\nx")
    assert "In-Reply-To" not in msg.headers and "References" not in msg.headers
    msg = reply(b"From: a@x.org\r\nReferences: <r@x.org>\r\n\r\nx")
    assert "In-Reply-To" not in msg.headers
    assert msg.references == ["r@x.org"]


def test_long_references_are_trimmed() -> None:
    refs = " ".join(f"<id{i}@x.org>" for i in range(100)).encode()
    raw = b"From: a@x.org\r\nMessage-ID: <last@x.org>\r\nReferences: " + refs + b"\r\n\r\nx"
    got = reply(raw).references
    assert len(got) == MAX_REFERENCES
    assert got[0] == "id0@x.org" and got[-1] == "last@x.org" and got[-2] == "id99@x.org"


# -- recipients ------------------------------------------------------------------------


def test_reply_goes_to_from() -> None:
    msg = reply(from_="Me <me@example.org>", text="ok")
    assert msg.to.addr_specs == ("joerg@example.de",)
    assert msg.to[0].name == "Jörg Müller"
    assert "Cc" not in msg.headers
    assert msg.from_.addr_specs == ("me@example.org",)


def test_reply_to_wins_over_from() -> None:
    raw = ORIGINAL.replace(b"Subject:", b"Reply-To: list@lists.example\r\nSubject:")
    assert reply(raw).to.addr_specs == ("list@lists.example",)


def test_reply_all_adds_to_and_cc_without_me_and_duplicates() -> None:
    msg = reply(from_="me@example.org", reply_all=True)
    assert msg.to.addr_specs == ("joerg@example.de",)
    # ME@Example.org is me too (compared case-insensitively).
    assert msg.cc.addr_specs == ("carol@example.net", "dave@example.net")
    extra = reply(from_="me@example.org", reply_all=True, cc=["carol@example.net", "new@x.org"])
    assert extra.cc.addr_specs == ("carol@example.net", "dave@example.net", "new@x.org")


def test_reply_to_my_own_message_goes_to_its_recipients() -> None:
    raw = (b"From: Me <me@example.org>\r\nTo: bob@x.org\r\nCc: carol@x.org\r\n"
           b"Message-ID: <sent@example.org>\r\nSubject: hi\r\n\r\nx")
    msg = reply(raw, from_="me@example.org", reply_all=True)
    assert msg.to.addr_specs == ("bob@x.org",)
    assert msg.cc.addr_specs == ("carol@x.org",)


def test_groups_and_domainless_addresses_are_flattened_or_dropped() -> None:
    raw = (b"From: a@x.org\r\nTo: Team: b@x.org, c@x.org;, undisclosed-recipients:;\r\n"
           b"Cc: postmaster\r\n\r\nx")
    msg = reply(raw, reply_all=True)
    assert msg.cc.addr_specs == ("b@x.org", "c@x.org")


# -- quoting ---------------------------------------------------------------------------


def test_quote_text() -> None:
    assert quote_text("a\r\n> b\r\n\r\nc\r\n\r\n") == "> a\n>> b\n>\n> c"
    assert quote_text("") == ">"


def test_quoted_reply_body() -> None:
    msg = reply(text="Thanks!\n", from_="me@example.org")
    assert msg.get_text() == (
        "Thanks!\r\n\r\n"
        "On Fri, 17 May 2024 09:30:00 +0200, Jörg Müller wrote:\r\n"
        "> Hallo,\r\n>> earlier quote\r\n>\r\n> Tschüss\r\n")
    assert reply(quote=False, text="x").get_text() == "x"
    only_quote = reply().get_text()
    assert only_quote.startswith("On Fri, 17 May 2024 09:30:00 +0200, Jörg Müller wrote:")


def test_attribution_without_date_or_name() -> None:
    msg = reply(b"From: a@x.org\r\n\r\nhi\r\n")
    assert msg.get_text() == "a@x.org wrote:\r\n> hi\r\n"
    msg = reply(b"Subject: anonymous\r\n\r\nhi\r\n")
    assert msg.get_text() == "Someone wrote:\r\n> hi\r\n"
    assert "To" not in msg.headers


def test_html_reply_quotes_the_html() -> None:
    raw = mimekit.compose(from_="a@x.org", subject="s", text="plain version",
                          html="<html><body><p>rich &amp; <b>bold</b></p></body></html>",
                          date=DATE, message_id="o@x.org")
    msg = checked(raw.reply(text="t", html="<html><body><p>answer</p></body></html>",
                            date=DATE, message_id="r@x.org"))
    assert msg.html_body is not None and msg.text_body is not None
    html = msg.html_body.get_text()
    assert html.startswith("<html><body><p>answer</p><p>On Fri, 17 May 2024")
    assert '<blockquote type="cite">\r\n<p>rich &amp; <b>bold</b></p>\r\n</blockquote>' in html
    assert html.endswith("</body></html>")
    assert "> plain version" in msg.text_body.get_text()
    html_only = checked(raw.reply(html="<p>a</p>", date=DATE, message_id="r@x.org"))
    assert html_only.content_type.mime_type == "text/html"


def test_html_only_original_is_quoted_as_text() -> None:
    original = mimekit.compose(from_="a@x.org", html=(
        "<html><head><style>p {}</style><title>t</title></head><body>"
        "<p>Hello&nbsp;<i>you</i></p><div>line two</div><script>x()</script></body></html>"))
    msg = checked(original.reply("ok", date=DATE, message_id="r@x.org"))
    assert msg.get_text().endswith("> Hello\xa0you\r\n>\r\n> line two\r\n")
    text_reply_quotes_pre = checked(mimekit.compose(from_="a@x.org", text="a < b").reply(
        html="<p>x</p>", date=DATE, message_id="r@x.org"))
    assert "<pre>a &lt; b</pre>" in text_reply_quotes_pre.get_text()


def test_html_to_text() -> None:
    assert html_to_text("<p>Hello <b>you</b></p><p>Bye</p>") == "Hello you\n\nBye"
    assert html_to_text("a<br>b<br><br><br>c") == "a\nb\n\nc"
    assert html_to_text("<div>a\n   b</div><div>c</div>") == "a b\nc"
    assert html_to_text("<ul><li>one</li><li>two &amp; three</li></ul>") == "one\ntwo & three"
    assert html_to_text("") == ""


# -- forwarding ------------------------------------------------------------------------


def test_forward_attaches_the_original_byte_identical() -> None:
    original = mimekit.parse(b"From x@y Mon Jan  1 00:00:00 2024\r\n" + ORIGINAL)
    msg = checked(original.forward("boss@example.org", from_="me@example.org", text="FYI",
                                   date=DATE, message_id="f@example.org"))
    assert msg.subject == "Fwd: Grüße"
    assert msg.to.addr_specs == ("boss@example.org",)
    assert msg.text_body is not None and msg.text_body.get_text() == "FYI"
    (attached,) = msg.attachments
    assert attached.content_type.mime_type == "message/rfc822"
    assert attached.filename == "Grüße.eml"
    assert attached.get_bytes() == ORIGINAL
    assert attached.message is not None and bytes(attached.message) == ORIGINAL
    assert "In-Reply-To" not in msg.headers


def test_forward_inline() -> None:
    original = mimekit.compose(
        from_="Jörg <j@x.de>", to="me@example.org", cc="c@x.de", subject="Bericht",
        text="see the file\n", attachments=[("r.pdf", b"%PDF\x00")], date=DATE,
        message_id="o@x.de")
    msg = checked(original.forward(["boss@example.org"], inline=True, text="FYI",
                                   date=DATE, message_id="f@x.org"))
    assert msg.subject == "Fwd: Bericht"
    assert msg.text_body is not None
    assert msg.text_body.get_text() == (
        "FYI\r\n\r\n-------- Forwarded Message --------\r\n"
        "Subject: Bericht\r\nDate: Fri, 17 May 2024 09:30:00 +0200\r\n"
        "From: Jörg <j@x.de>\r\nTo: me@example.org\r\nCc: c@x.de\r\n\r\nsee the file\r\n")
    assert [(p.filename, p.get_bytes()) for p in msg.attachments] == [("r.pdf", b"%PDF\x00")]
    assert msg.html_body is None


def test_forward_inline_keeps_inline_images() -> None:
    original = mimekit.compose(
        from_="a@x.de", subject="pic", text="t", html='<p><img src="cid:img1@x.de"></p>',
        inline={"img1@x.de": ("i.png", b"PNG")}, attachments=[("doc.txt", b"doc")])
    msg = checked(original.forward("b@x.de", inline=True, date=DATE, message_id="f@x.org"))
    assert msg.html_body is not None
    html = msg.html_body.get_text()
    assert '<img src="cid:img1@x.de">' in html and "Forwarded Message" in html
    related = next(p for p in msg.walk() if p.content_type.mime_type == "multipart/related")
    assert [p.content_id for p in related.parts] == [None, "img1@x.de"]
    assert [p.filename for p in msg.attachments] == ["i.png", "doc.txt"]


def test_forward_of_a_forward() -> None:
    first = mimekit.parse(ORIGINAL).forward("b@x.org", date=DATE, message_id="f1@x.org")
    second = checked(first.forward("c@x.org", date=DATE, message_id="f2@x.org"))
    assert second.subject == "Fwd: Grüße"
    inner = second.attachments[0].message
    assert inner is not None and bytes(inner) == bytes(first)


@given(
    body=st.text(st.characters(blacklist_categories=("Cs",)), max_size=200),
    subject=st.text(st.characters(blacklist_categories=("Cs",),
                                  blacklist_characters="\r\n\x00"), max_size=60),
)
def test_reply_and_forward_of_any_text(body: str, subject: str) -> None:
    original = mimekit.compose(from_="a@x.org", to="b@y.org", subject=subject, text=body)
    r = checked(original.reply("ok", from_="b@y.org", reply_all=True))
    assert r.in_reply_to == [original.message_id]
    assert r.to.addr_specs == ("a@x.org",) and "Cc" not in r.headers
    f = checked(original.forward("c@z.org"))
    assert f.attachments[0].get_bytes() == bytes(original)
    checked(original.forward("c@z.org", inline=True))
