"""Composed messages read the same through CPython's email package and mimekit.

The main acceptance test of compose: every header (decoded), every body
(decoded text; attachment bytes byte-identical) and every file name must be
what was given, as read by ``email.message_from_bytes(b,
policy=email.policy.default)`` *and* by :func:`mimekit.parse`. Plus the
output invariants: no line longer than 998 octets, header lines at most 78
characters wherever there is a place to fold, 7-bit clean headers unless
``utf8=True``.
"""

from __future__ import annotations

import email
import email.message
import email.policy
import re
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

import mimekit
from mimekit.codecs import decode_encoded_words
from mimekit.fields import format_phrase

_ADDRESS_FIELDS = ("From", "Sender", "Reply-To", "To", "Cc", "Bcc")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


# -- the two views ----------------------------------------------------------------


def stdlib_view(raw: bytes) -> dict[str, Any]:
    """What CPython's email package reads from ``raw``."""
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, email.message.EmailMessage)
    headers: dict[str, Any] = {}
    for name in _ADDRESS_FIELDS:
        value = msg[name]
        if value is not None:
            headers[name] = [(_octets(a.display_name), _octets(a.addr_spec))
                             for a in value.addresses]
    if msg["Subject"] is not None:
        headers["Subject"] = str(msg["Subject"])
    if msg["Message-ID"] is not None:
        headers["Message-ID"] = str(msg["Message-ID"]).strip().strip("<>")
    if msg["Date"] is not None:
        headers["Date"] = msg["Date"].datetime
    return {"headers": headers, "leaves": _stdlib_leaves(msg)}


def _octets(text: str) -> str:
    """CPython keeps raw UTF-8 in address fields (RFC 6532) as surrogate
    escapes instead of decoding it: decode them."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8")


def _stdlib_leaves(msg: email.message.EmailMessage) -> list[tuple[Any, ...]]:
    leaves: list[tuple[Any, ...]] = []
    for part in msg.walk():
        if part.is_multipart():  # multiparts, and message/rfc822 (a list of one)
            continue
        assert isinstance(part, email.message.EmailMessage)
        ctype = part.get_content_type()
        filename = part.get_filename()
        # Body text as text; files (text ones too) as their exact bytes.
        body = part.get_content() if ctype.startswith("text/") and filename is None else \
            part.get_payload(decode=True)
        cid = part["Content-ID"]
        leaves.append((ctype, filename,
                       str(cid).strip().strip("<>") if cid is not None else None, body))
    return leaves


def mimekit_view(raw: bytes) -> dict[str, Any]:
    """What mimekit reads from ``raw`` (same shape as :func:`stdlib_view`)."""
    msg = mimekit.parse(raw)
    headers: dict[str, Any] = {}
    for name in _ADDRESS_FIELDS:
        h = msg.headers.get(name)
        if h is not None:
            headers[name] = [(m.name, m.addr_spec) for m in h.value.mailboxes]
    if "Subject" in msg.headers:
        headers["Subject"] = msg.subject
    if msg.message_id is not None:
        headers["Message-ID"] = msg.message_id
    if msg.date is not None:
        headers["Date"] = msg.date
    leaves = []
    for part in msg.walk():
        if part.is_multipart or (part.message is not None):
            continue
        ctype = part.content_type.mime_type
        filename = part.filename
        body = part.get_text() if ctype.startswith("text/") and filename is None else \
            part.get_bytes()
        leaves.append((ctype, filename, part.content_id, body))
    return {"headers": headers, "leaves": leaves}


def check_invariants(raw: bytes, *, utf8: bool = False, linesep: bytes = b"\r\n") -> None:
    """No line > 998; header lines <= 78 where foldable; 7-bit headers
    unless ``utf8``; one line ending throughout (outside attached messages)."""
    for line in raw.split(b"\n"):
        assert len(line.rstrip(b"\r")) <= 998, line[:80]
    msg = mimekit.parse(raw)
    for part in msg.walk():
        # Random bytes in a text/* file without a charset may not decode;
        # nothing else may be wrong.
        assert not [d for d in part.defects if part.filename is None
                    or d.kind is not mimekit.DefectKind.CHARSET_DECODE_ERROR], part.defects
        for h in part.headers:
            text = h.raw.decode("utf-8")
            if not utf8:
                assert h.raw.isascii(), h.raw
            assert text.endswith(linesep.decode()), h.raw
            lines = text[: -len(linesep)].split(linesep.decode())
            for i, line in enumerate(lines):
                if len(line) <= 78:
                    continue
                # Longer only when the line holds one unbreakable token.
                rest = line[len(h.name) + 1:] if i == 0 else line
                assert " " not in rest.strip(" "), (h.name, line)


def _cpython_ew_text(text: str) -> str:
    """CPython's rendering of the decoded text of one encoded word in a
    phrase: each run of whitespace that starts with a space or tab (and
    continues with any ``str.isspace`` characters) becomes one space
    (``get_encoded_word`` makes it an FWS terminal, whose value is ``" "``)."""
    out: list[str] = []
    i = 0
    while i < len(text):
        if text[i] in " \t":
            j = len(text) - len(text[i:].lstrip())
            out.append(" ")
            i = j
        else:
            j = i
            while j < len(text) and text[j] not in " \t":
                j += 1
            out.append(text[i:j])
            i = j
    return "".join(out)


def _cpython_phrase(name: str, utf8: bool) -> str:
    """What CPython 3.11 reads for display name ``name`` as mimekit writes it.

    Two CPython quirks, both for encoded words in a phrase (RFC 2047
    section 5 (3)), both violating RFC 2047 section 6.2:

    * gh-128110 (fixed upstream by python/cpython#130749): the whitespace
      between two adjacent encoded words is kept, so a name needing several
      encoded words (over ~45 UTF-8 octets) gets a space at each boundary;
    * whitespace inside an encoded word's text is collapsed to one space
      (see :func:`_cpython_ew_text`).
    """
    words = format_phrase(name, utf8=utf8).split(" ")
    if not all(w.startswith("=?") for w in words):
        return name
    return " ".join(_cpython_ew_text(decode_encoded_words(w)[0]) for w in words)


def assert_same(raw: bytes, *, utf8: bool = False) -> dict[str, Any]:
    """Both readers agree; returns the common view."""
    a = stdlib_view(raw)
    b = mimekit_view(raw)
    for field in _ADDRESS_FIELDS:
        if field in a["headers"] and a["headers"][field] != b["headers"].get(field):
            # Undo CPython's known whitespace changes, and only those.
            fixed = [(mk[0] if std[0] == _cpython_phrase(mk[0], utf8) else std[0], std[1])
                     for std, mk in zip(a["headers"][field], b["headers"][field], strict=True)]
            a["headers"][field] = fixed
    # CPython strips whitespace around a file name (Message.get_filename);
    # mimekit gives it as written.
    b_leaves = [(c, f.strip() if f is not None else f, i, x) for c, f, i, x in b["leaves"]]
    assert a == {**b, "leaves": b_leaves}
    return b


def crlf(text: str) -> str:
    return _LINE_BREAK.sub("\r\n", text)


# -- fixed examples ---------------------------------------------------------------


def test_everything_at_once() -> None:
    msg = mimekit.compose(
        from_="Jörg Müller <j@bücher.de>",
        to=["a@x.de", ("Bob, \"the\" builder", "bob@y.org")],
        cc=mimekit.Mailbox("Ærø", "ae@z.dk"),
        bcc="hidden@z.dk",
        reply_to=("Liste", "list@x.de"),
        subject="Grüße aus Köln \u2013 日本語の件名もあります, and a long ASCII tail to fold",
        text="Hallo!\nZeile 2 ü\n.\nFrom here\ntrailing   \n",
        html="<p>Hallo <img src='cid:logo@x.de'></p>",
        inline={"logo@x.de": ("logo.png", b"\x89PNG\r\n\x1a\n", "image/png")},
        attachments=[("Bericht über Köln.pdf", b"%PDF\x00\xff" * 50),
                     ("日本語のファイル名がとても長い場合のテスト.txt", "text, utf-8: ü"),
                     ("plain.txt", b"ascii\r\nlines\r\n")],
    )
    raw = bytes(msg)
    check_invariants(raw)
    view = assert_same(raw)
    h = view["headers"]
    assert h["From"] == [("Jörg Müller", "j@xn--bcher-kva.de")]
    assert h["To"] == [("", "a@x.de"), ('Bob, "the" builder', "bob@y.org")]
    assert h["Cc"] == [("Ærø", "ae@z.dk")]
    assert h["Bcc"] == [("", "hidden@z.dk")]
    assert h["Reply-To"] == [("Liste", "list@x.de")]
    assert h["Subject"].startswith("Grüße aus Köln \u2013 日本語")
    leaves = view["leaves"]
    assert [leaf[:3] for leaf in leaves] == [
        ("text/plain", None, None),
        ("text/html", None, None),
        ("image/png", "logo.png", "logo@x.de"),
        ("application/pdf", "Bericht über Köln.pdf", None),
        ("text/plain", "日本語のファイル名がとても長い場合のテスト.txt", None),
        ("text/plain", "plain.txt", None),
    ]
    assert leaves[0][3] == "Hallo!\r\nZeile 2 ü\r\n.\r\nFrom here\r\ntrailing   \r\n"
    assert leaves[2][3] == b"\x89PNG\r\n\x1a\n"
    assert leaves[3][3] == b"%PDF\x00\xff" * 50
    assert leaves[4][3] == "text, utf-8: ü".encode()
    # Outlook reads RFC 2047 in the Content-Type name, others RFC 2231.
    pdf = msg.attachments[1]
    assert "=?utf-8?" in pdf.headers["Content-Type"].unfolded
    assert "filename*=utf-8''" in pdf.headers["Content-Disposition"].unfolded
    assert pdf.content_type.params["name"] == "Bericht über Köln.pdf"


def test_utf8_variant_reads_the_same() -> None:
    msg = mimekit.compose(
        from_="Jörg <jörg@bücher.de>", to="Ünïcödé <u@example.org>", subject="Grüße",
        text="Grüße\n" * 3, attachments=[("Bericht ä.pdf", b"\x00\x01")], utf8=True)
    raw = bytes(msg)
    assert "Jörg <jörg@bücher.de>".encode() in raw
    assert b"Content-Transfer-Encoding: 8bit" in raw
    check_invariants(raw, utf8=True)
    view = assert_same(raw, utf8=True)
    assert view["headers"]["From"] == [("Jörg", "jörg@bücher.de")]
    assert view["leaves"][1][1] == "Bericht ä.pdf"


def test_attached_message_reads_the_same() -> None:
    inner = mimekit.compose(from_="a@x.de", to="b@y.de", subject="Inner ü", text="inner\n",
                            attachments=[("i.bin", b"\x00" * 10)])
    outer = mimekit.compose(from_="c@x.de", to="d@y.de", subject="outer", text="see attached",
                            attachments=[inner])
    raw = bytes(outer)
    check_invariants(raw)
    view = assert_same(raw)
    assert [leaf[0] for leaf in view["leaves"]] == ["text/plain", "text/plain",
                                                     "application/octet-stream"]
    assert outer.attachments[0].message is not None
    assert outer.attachments[0].get_bytes() == bytes(inner)


# -- the property ------------------------------------------------------------------

# Any character but surrogates; CR/LF/NUL are only refused in header values.
_any_char = st.characters(blacklist_categories=("Cs",))
_header_char = st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n\x00")
_edge_lines = st.sampled_from([
    "From me", "From ", ".", "..", ". ", "trailing   ", "\t", "=?utf-8?q?x?=", "--=_mimekit_",
    "x" * 1200, "ü" * 600, "a " * 500, "", "=", "=3D", "\u2028", "\x85", "\x0c",
])
_body_text = st.one_of(
    st.text(_any_char, max_size=300),
    st.lists(st.one_of(_edge_lines, st.text(_any_char, max_size=80)), max_size=12).map(
        "\n".join),
    st.lists(_edge_lines, max_size=8).map("\r\n".join),
)
_name = st.one_of(
    st.text(_header_char, max_size=40),
    st.sampled_from(['a, b', '"quoted"', "Jörg Müller", "  spaced  out ", "a\\b", "(comment)",
                     "=?utf-8?q?J=C3=B6rg?=", "<angle>", "x@y.z", "O'Brien; Jr.", "Dr. Who"]),
)
_local = st.from_regex(r"[a-z0-9][a-z0-9._+-]{0,15}[a-z0-9]", fullmatch=True).filter(
    lambda s: ".." not in s)
_domain = st.sampled_from(["example.org", "x.de", "bücher.de", "sub.example.co.uk"])
_mailbox = st.builds(lambda n, loc, d: (n, f"{loc}@{d}"), _name, _local, _domain)
_filename = st.one_of(
    st.text(_header_char, min_size=1, max_size=60),
    st.sampled_from([
        "it's.pdf", "a*b.bin", "100%.txt", 'say "hi".txt', "back\\slash",
        "a;b=c.txt", "tab\there", "Grüße \u2013 日本語.pdf", "x" * 200, "ü" * 120, "a " * 60,
        "(paren).png", "<angle>@x", "semi;colon", "é.tar.gz",
    ]),
# A literal "=?...?=" in a file name is read back decoded: see
# test_literal_encoded_word_in_filename.
).filter(lambda s: s.strip() and "=?" not in s)
_attachment = st.tuples(_filename, st.binary(max_size=300),
                        st.sampled_from(["application/octet-stream", "image/png", "text/plain"]))


@given(
    authors=st.lists(_mailbox, min_size=1, max_size=1),
    to=st.lists(_mailbox, max_size=3),
    cc=st.lists(_mailbox, max_size=2),
    subject=st.text(_header_char, max_size=120),
    text=st.none() | _body_text,
    html=st.none() | _body_text,
    attachments=st.lists(_attachment, max_size=3),
    linesep=st.sampled_from(["\r\n", "\n"]),
)
def test_compose_reads_the_same_everywhere(
    authors: list[tuple[str, str]], to: list[tuple[str, str]], cc: list[tuple[str, str]],
    subject: str, text: str | None, html: str | None,
    attachments: list[tuple[str, bytes, str]], linesep: str,
) -> None:
    msg = mimekit.compose(from_=authors, to=to, cc=cc, subject=subject, text=text, html=html,
                          attachments=attachments, linesep=linesep)
    raw = bytes(msg)
    check_invariants(raw, linesep=linesep.encode())
    view = assert_same(raw)
    h = view["headers"]

    def idna(addr: str) -> str:
        local, _, domain = addr.partition("@")
        return f"{local}@{domain.encode('idna').decode()}"

    assert h["From"] == [(n, idna(a)) for n, a in authors]
    assert h.get("To", []) == [(n, idna(a)) for n, a in to]
    assert h.get("Cc", []) == [(n, idna(a)) for n, a in cc]
    assert h["Subject"] == subject
    leaves = view["leaves"]
    bodies = [leaf for leaf in leaves if leaf[1] is None]
    expected_bodies = [t for t in (text, html) if t is not None] or ([""] if not attachments
                                                                      else [])
    assert [b[3] for b in bodies] == [_LINE_BREAK.sub(linesep, t) for t in expected_bodies]
    files = [leaf for leaf in leaves if leaf[1] is not None]
    assert len(files) == len(attachments)
    for (ctype, filename, _cid, body), (name, data, mime) in zip(files, attachments,
                                                                  strict=True):
        assert (ctype, filename, body) == (mime, name, data)


@given(
    name=_name, subject=st.text(_header_char, max_size=80), text=_body_text,
    attachments=st.lists(_attachment, max_size=2),
)
def test_utf8_mode_reads_the_same(name: str, subject: str, text: str,
                                  attachments: list[tuple[str, bytes, str]]) -> None:
    msg = mimekit.compose(from_=[(name, "jörg@bücher.de")], to="u@example.org", subject=subject,
                          text=text, attachments=attachments, utf8=True)
    raw = bytes(msg)
    check_invariants(raw, utf8=True)
    view = assert_same(raw, utf8=True)
    assert view["headers"]["From"] == [(name, "jörg@bücher.de")]
    assert view["headers"]["Subject"] == subject
    assert [leaf[1] for leaf in view["leaves"][1:]] == [a[0] for a in attachments]
