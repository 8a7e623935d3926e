"""Replying to and forwarding a message: :meth:`Message.reply`, :meth:`Message.forward`.

Both build a new message with :func:`~mimekit.compose`; the original is
only read.

Reply rules (RFC 5322 section 3.6.3 and 3.6.4):

* Subject: ``Re: `` plus the original subject, without stacking: any run
  of reply prefixes already there (``Re:``, ``RE:``, ``Re[2]:``, ``Aw:``,
  ``SV:``, ``Antw:``, ``Odp:``, ``回复:``...) is replaced by one ``Re: ``.
* In-Reply-To: the original's Message-ID. References: the original's
  References (else its In-Reply-To, when that holds exactly one id) plus
  its Message-ID; past 20 ids, the first and the last 19 are kept (the
  root and the recent ancestors are what threading uses).
* To: the original's Reply-To, else its From; when the original is your
  own message (its From is ``from_``), its To instead. ``reply_all`` adds
  the original's To and Cc as Cc. Your own addresses (``from_``) and
  duplicates are dropped (addresses compared case-insensitively).
* ``quote=True`` puts the original's text body (or its HTML body turned
  into text) below the new text, each line prefixed ``"> "``, after an
  attribution line ``On <date>, <name> wrote:``. With ``html``, the
  original's HTML body (or its text, escaped) is quoted in a
  ``<blockquote type="cite">``.

Forward rules: Subject ``Fwd: `` plus the original subject (forward
prefixes not stacked). By default the original is attached as
``message/rfc822``, byte-identical; with ``inline=True`` its text (and
HTML) is put into the body below a "Forwarded Message" block of its
Subject, Date, From, To and Cc, and its attachments are attached again.
"""

from __future__ import annotations

import html as _html
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Final

from ..fields import AddressList, Mailbox, format_date
from ._compose import AddressInput, AttachmentInput, _addresses, compose

if TYPE_CHECKING:
    from ._message import Message
    from ._part import Part

__all__ = [
    "forward",
    "forward_subject",
    "html_to_text",
    "quote_text",
    "reply",
    "reply_subject",
]

#: References kept in a reply: the first id (the thread's root) and the
#: last ones; RFC 5322 section 3.6.4 does not limit the field, but servers
#: limit header sizes and threading needs only these.
MAX_REFERENCES: Final = 20

# One reply prefix: "Re:", "RE :", "Re[2]:", "Aw:", "SV:", ... Matched
# repeatedly at the start (each match is anchored and bounded, so stripping
# is linear).
_REPLY_PREFIX = re.compile(
    r"[ \t]*(?:re|aw|sv|antw|odp|rif|res|ynt|atb|отв|回复|回覆|答复)"
    r"(?:\[[0-9]{1,9}\]|\([0-9]{1,9}\))?[ \t]*[:\uff1a]", re.IGNORECASE)
_FORWARD_PREFIX = re.compile(
    r"[ \t]*(?:fwd?|wg|tr|rv|enc|doorst|转发|轉寄)(?:\[[0-9]{1,9}\])?[ \t]*[:\uff1a]",
    re.IGNORECASE)
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_HTML_SPACE = re.compile(r"[ \t\r\n\f]+")
_BODY_OPEN = re.compile(r"<body\b[^>]*>", re.IGNORECASE)


def _strip_prefixes(subject: str, prefix: re.Pattern[str]) -> str:
    pos = 0
    while True:
        m = prefix.match(subject, pos)
        if m is None:
            return subject[pos:].strip()
        pos = m.end()


def reply_subject(subject: str | None) -> str:
    """``"Re: "`` + ``subject`` with any reply prefixes already there removed.

    >>> reply_subject("RE: Aw: Re[3]: lunch")
    'Re: lunch'
    """
    rest = _strip_prefixes(subject or "", _REPLY_PREFIX)
    return f"Re: {rest}" if rest else "Re:"


def forward_subject(subject: str | None) -> str:
    """``"Fwd: "`` + ``subject`` with any forward prefixes already there removed.

    >>> forward_subject("Fw: WG: report")
    'Fwd: report'
    """
    rest = _strip_prefixes(subject or "", _FORWARD_PREFIX)
    return f"Fwd: {rest}" if rest else "Fwd:"


# -- text helpers ------------------------------------------------------------


def quote_text(text: str) -> str:
    """Prefix every line of ``text`` with ``"> "`` (RFC 3676 section 4.5
    style: an already quoted line gets ``">"`` only, an empty line ``">"``,
    so no line ends in whitespace). Trailing empty lines are dropped.

    >>> quote_text("hi\\n> earlier\\n\\nbye\\n")
    '> hi\\n>> earlier\\n>\\n> bye'
    """
    lines = _LINE_BREAK.split(text.rstrip("\r\n"))
    out = []
    for line in lines:
        if line.startswith(">"):
            out.append(">" + line)
        elif line:
            out.append("> " + line)
        else:
            out.append(">")
    return "\n".join(out)


class _TextExtractor(HTMLParser):
    """Crude HTML to text: the visible text, line breaks at block elements."""

    _BLOCK: Final = frozenset({
        "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre",
        "table", "ul", "ol", "hr", "section", "article", "header", "footer",
    })
    _HIDDEN: Final = frozenset({"script", "style", "head", "title"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        # Text, or an int for a block boundary: adjacent boundaries merge
        # (the larger wins), so "</div><div>" is one line break, while each
        # <br> is a line break of its own.
        self.pieces: list[str | int] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._HIDDEN:
            self._hidden += 1
        elif tag == "br":
            self.pieces.append("\n")
        elif tag == "p":
            self.pieces.append(2)  # a paragraph stands apart: a blank line
        elif tag in self._BLOCK:
            self.pieces.append(1)

    def handle_endtag(self, tag: str) -> None:
        if tag in self._HIDDEN:
            self._hidden = max(0, self._hidden - 1)
        elif tag == "p":
            self.pieces.append(2)
        elif tag in self._BLOCK and tag != "br":
            self.pieces.append(1)

    def text(self) -> str:
        out: list[str] = []
        pending = 0
        for piece in self.pieces:
            if isinstance(piece, int):
                pending = max(pending, piece)
            elif piece:
                out.append("\n" * pending + piece)
                pending = 0
        return "".join(out)

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            # HTML collapses white space (but not &nbsp;, U+00A0).
            self.pieces.append(_HTML_SPACE.sub(" ", data))


def html_to_text(markup: str) -> str:
    """The visible text of an HTML body: a line per block element, a blank
    line around paragraphs, white space collapsed as a browser does.

    Good enough to quote an HTML-only message in a plain-text reply; not a
    renderer (no table layout, list markers or link targets).

    >>> from mimekit import html_to_text
    >>> html_to_text("<p>Hello <b>you</b></p><p>Bye</p>")
    'Hello you\\n\\nBye'
    """
    parser = _TextExtractor()
    parser.feed(markup)
    parser.close()
    out: list[str] = []
    for line in parser.text().split("\n"):
        line = line.strip(" ")
        if line or (out and out[-1]):  # at most one blank line in a row
            out.append(line)
    return "\n".join(out).strip("\n")


def _html_fragment(markup: str) -> str:
    """The content of ``<body>`` (the whole text when there is none)."""
    m = _BODY_OPEN.search(markup)
    start = m.end() if m is not None else 0
    end = markup.lower().rfind("</body")
    return markup[start:end] if end >= start else markup[start:]


def _insert_html(markup: str, addition: str) -> str:
    """Put ``addition`` before ``</body>`` when there is one, else at the end."""
    end = markup.lower().rfind("</body")
    if end < 0:
        return markup + addition
    return markup[:end] + addition + markup[end:]


def _original_text(msg: Message) -> str:
    part = msg.text_body
    if part is not None:
        return part.get_text()
    part = msg.html_body
    return html_to_text(part.get_text()) if part is not None else ""


def _original_html(msg: Message) -> str:
    part = msg.html_body
    if part is not None:
        return _html_fragment(part.get_text())
    return "<pre>" + _html.escape(_original_text(msg)) + "</pre>"


def _who(msg: Message) -> str:
    boxes = msg.from_.mailboxes or msg.sender.mailboxes
    if not boxes:
        return "Someone"
    return boxes[0].name or boxes[0].addr_spec


def _attribution(msg: Message) -> str:
    date = msg.date
    who = _who(msg)
    return f"On {format_date(date)}, {who} wrote:" if date is not None else f"{who} wrote:"


# -- recipients and threading -----------------------------------------------


def _key(box: Mailbox) -> str:
    return box.addr_spec.lower()


def _unique(boxes: Iterable[Mailbox], exclude: set[str]) -> list[Mailbox]:
    out: list[Mailbox] = []
    for box in boxes:
        k = _key(box)
        if k not in exclude:
            exclude.add(k)
            out.append(box)
    return out


def _recipients(msg: Message, me: AddressList,
                reply_all: bool) -> tuple[list[Mailbox], list[Mailbox]]:
    mine = {_key(b) for b in me.mailboxes}
    authors = msg.from_.mailboxes
    if authors and mine and all(_key(b) in mine for b in authors):
        # Replying to one's own (sent) message: to its recipients, as
        # Thunderbird and Gmail do.
        to: Iterable[Mailbox] = msg.to.mailboxes
        cc: Iterable[Mailbox] = msg.cc.mailboxes if reply_all else ()
    else:
        to = msg.reply_to.mailboxes or authors
        cc = (*msg.to.mailboxes, *msg.cc.mailboxes) if reply_all else ()
    # Domain-less mailboxes (undisclosed-recipients, parse leftovers)
    # cannot be written back.
    seen = set(mine)
    to_list = _unique((b for b in to if b.domain), seen)
    cc_list = _unique((b for b in cc if b.domain), seen)
    return to_list, cc_list


def _threading(msg: Message) -> list[tuple[str, object]]:
    fields: list[tuple[str, object]] = []
    parent = msg.message_id
    refs = msg.references
    if not refs:
        in_reply_to = msg.in_reply_to
        if len(in_reply_to) == 1:
            refs = in_reply_to  # RFC 5322 section 3.6.4
    if parent:
        fields.append(("In-Reply-To", [parent]))
        refs = [r for r in refs if r != parent] + [parent]
    if len(refs) > MAX_REFERENCES:
        refs = [refs[0], *refs[-(MAX_REFERENCES - 1):]]
    if refs:
        fields.append(("References", refs))
    return fields


def _merge_headers(
    own: list[tuple[str, object]],
    headers: Mapping[str, object] | Iterable[tuple[str, object]] | None,
) -> list[tuple[str, object]]:
    if headers is None:
        return own
    extra = list(headers.items()) if isinstance(headers, Mapping) else list(headers)
    return own + extra


# -- public ------------------------------------------------------------------


def reply(
    msg: Message,
    text: str | None = None,
    *,
    quote: bool = True,
    reply_all: bool = False,
    html: str | None = None,
    from_: AddressInput = None,
    cc: AddressInput = None,
    bcc: AddressInput = None,
    attachments: Iterable[AttachmentInput] = (),
    headers: Mapping[str, object] | Iterable[tuple[str, object]] | None = None,
    date: datetime | None = None,
    message_id: str | None = None,
    domain: str | None = None,
    utf8: bool = False,
    linesep: str | bytes = "\r\n",
) -> Message:
    """A reply to ``msg``; see :meth:`mimekit.Message.reply` and the module rules.

    Raises:
        ValueError, TypeError: see :func:`~mimekit.compose`.
    """
    me = _addresses(from_, "from_")
    to, auto_cc = _recipients(msg, me, reply_all)
    extra_cc = _addresses(cc, "cc").mailboxes
    cc_list = _unique((*auto_cc, *extra_cc), {_key(b) for b in (*to, *me.mailboxes)})
    body_text = text
    body_html = html
    if quote:
        attribution = _attribution(msg)
        if text is not None or html is None:
            lead = (text.rstrip("\r\n") + "\n\n") if text else ""
            body_text = f"{lead}{attribution}\n{quote_text(_original_text(msg))}\n"
        if html is not None:
            cited = (f"<p>{_html.escape(attribution)}</p>\n<blockquote type=\"cite\">\n"
                     f"{_original_html(msg)}\n</blockquote>\n")
            body_html = _insert_html(html, cited)
    return compose(
        from_=me, to=to, cc=cc_list, bcc=bcc, subject=reply_subject(msg.subject),
        text=body_text, html=body_html, attachments=attachments,
        headers=_merge_headers(_threading(msg), headers), date=date,
        message_id=message_id, domain=domain, utf8=utf8, linesep=linesep)


def _forward_block(msg: Message) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    for name in ("Subject", "Date", "From", "To", "Cc"):
        h = msg.headers.get(name)
        if h is None:
            continue
        value = h.value
        rows.append((name, str(value) if isinstance(value, AddressList) else h.text))
    return rows


def _reattach(msg: Message, rich: str | None) -> tuple[list[Part], list[Part]]:
    """The original's attachments: ``(inline, attached)``. A part the HTML
    refers to by ``cid:`` stays inline, so the forwarded HTML still shows it."""
    inline: list[Part] = []
    attached: list[Part] = []
    lowered = rich.lower() if rich is not None else ""
    for part in msg.attachments:
        cid = part.content_id
        if cid and "@" in cid and ("cid:" + cid.lower()) in lowered:
            inline.append(part)
        else:
            attached.append(part)
    return inline, attached


def forward(
    msg: Message,
    to: AddressInput = None,
    *,
    inline: bool = False,
    text: str | None = None,
    html: str | None = None,
    from_: AddressInput = None,
    cc: AddressInput = None,
    bcc: AddressInput = None,
    attachments: Iterable[AttachmentInput] = (),
    headers: Mapping[str, object] | Iterable[tuple[str, object]] | None = None,
    date: datetime | None = None,
    message_id: str | None = None,
    domain: str | None = None,
    utf8: bool = False,
    linesep: str | bytes = "\r\n",
) -> Message:
    """``msg`` forwarded; see :meth:`mimekit.Message.forward` and the module rules.

    Raises:
        ValueError, TypeError: see :func:`~mimekit.compose`.
    """
    subject = forward_subject(msg.subject)
    if not inline:
        return compose(
            from_=from_, to=to, cc=cc, bcc=bcc, subject=subject, text=text, html=html,
            attachments=[msg, *attachments], headers=headers, date=date,
            message_id=message_id, domain=domain, utf8=utf8, linesep=linesep)
    rows = _forward_block(msg)
    banner = "-------- Forwarded Message --------"
    block = "\n".join([banner, *(f"{k}: {v}" for k, v in rows)])
    lead = (text.rstrip("\r\n") + "\n\n") if text else ""
    body_text = f"{lead}{block}\n\n{_original_text(msg)}"
    body_html = None
    original_html = msg.html_body
    if html is not None or original_html is not None:
        table = "".join(f"<tr><th align=\"right\">{_html.escape(k)}:</th>"
                        f"<td>{_html.escape(v)}</td></tr>" for k, v in rows)
        cited = (f"<div>{_html.escape(banner)}<table>{table}</table></div>\n"
                 f"{_original_html(msg)}\n")
        lead_html = html if html is not None else (
            f"<p>{_html.escape(text)}</p>" if text else "")
        body_html = _insert_html(lead_html, cited)
    inline_parts, attached = _reattach(msg, body_html)
    return compose(
        from_=from_, to=to, cc=cc, bcc=bcc, subject=subject, text=body_text, html=body_html,
        inline=inline_parts, attachments=[*attached, *attachments], headers=headers,
        date=date, message_id=message_id, domain=domain, utf8=utf8, linesep=linesep)
