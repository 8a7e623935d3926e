"""Composing new messages: :func:`compose` (RFC 5322, RFC 2045-2049, 2183, 2231, 2387).

The message tree is always backed by bytes, so :func:`compose` *writes the
bytes* of the new message (header fields through
:func:`mimekit.fields.format_field` and the tree's folding, bodies through
the :mod:`mimekit.codecs` encoders) and returns ``mimekit.parse(those
bytes)``: a composed message is exactly what a reader of it would see, and
behaves like any parsed message.

The structure chosen (the usual one; MimeKit, Thunderbird and Apple Mail
write it so)::

    multipart/mixed                      only with attachments
    ├── multipart/alternative            only with both text and html
    │   ├── text/plain
    │   └── multipart/related            only with inline parts
    │       ├── text/html
    │       └── image/png (Content-ID)   referred to as "cid:..." in the html
    └── application/pdf (attachment)     ...

Each container appears only when needed: a text-only message is a single
``text/plain`` entity.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TypeAlias

from .._defects import DefectKind
from ..fields import AddressList, ContentType, Group, Mailbox, parse_address_list
from ._compose_parts import (
    Entity,
    attachment_entity,
    guess_type,
    multipart,
    serialize,
    text_entity,
)
from ._folding import check_value
from ._headers import Header
from ._message import Message
from ._parse import parse
from ._part import Part

__all__ = [
    "AddressInput",
    "AttachmentInput",
    "InlineInput",
    "compose",
    "make_message_id",
]

#: One address: ``"Jörg <j@x.de>"`` (a str may also hold a whole list,
#: ``"a@x, b@y"``), a :class:`Mailbox` or :class:`Group`, or a
#: ``(display_name, addr_spec)`` pair.
AddressItem: TypeAlias = "str | Mailbox | Group | tuple[str | None, str]"
#: What the address arguments of :func:`compose` take: one item, an
#: :class:`AddressList`, or a list of items.
AddressInput: TypeAlias = "AddressItem | AddressList | Iterable[AddressItem] | None"
#: Attachment data: bytes, text (sent as UTF-8), or a message
#: (attached as ``message/rfc822``).
_Data: TypeAlias = "bytes | bytearray | memoryview | str | Part"
#: One attachment: ``(filename, data)``, ``(filename, data, mime_type)``, a
#: ``pathlib.Path`` (read at once), a :class:`Message` (``message/rfc822``)
#: or a :class:`Part` of another message (copied with its type and name).
AttachmentInput: TypeAlias = (
    "tuple[str, _Data] | tuple[str | None, _Data, str | ContentType | None]"
    " | os.PathLike[str] | Part"
)
#: One inline part: ``(filename, data, mime_type, content_id)`` (``mime_type``
#: may be None to guess it); or use a mapping ``{content_id: attachment}``.
InlineInput: TypeAlias = "tuple[str | None, _Data, str | ContentType | None, str] | Part"

#: Fields RFC 5322 section 3.6 allows at most once (plus MIME-Version,
#: RFC 2045 section 4): given twice, through an argument and ``headers`` or
#: twice in ``headers``, they are refused.
_SINGLE = frozenset({
    "date", "from", "sender", "reply-to", "to", "cc", "bcc", "message-id",
    "in-reply-to", "references", "subject", "mime-version",
})
#: Fields compose writes from the body arguments; a caller may not set them.
_STRUCTURAL = frozenset({"content-type", "content-transfer-encoding", "content-disposition"})
_LINESEPS = {"\r\n": b"\r\n", "\n": b"\n", b"\r\n": b"\r\n", b"\n": b"\n"}

_FALLBACK_DOMAIN = "localhost"


# -- addresses ---------------------------------------------------------------


def _address_items(value: object, what: str, top: bool = True) -> list[Mailbox | Group]:
    if isinstance(value, (Mailbox, Group)):
        return [value]
    if isinstance(value, str):
        check_value(value)  # a line break is an injection attempt, not a typo
        addrs, defects = parse_address_list(value)
        bad = [d for d in defects if d.kind is DefectKind.INVALID_ADDRESS]
        if bad or (not addrs and value.strip(" \t")):
            detail = bad[0].detail if bad else "no address"
            raise ValueError(f"{what}: not a valid address list: {value!r} ({detail})")
        return list(addrs)
    if isinstance(value, tuple) and len(value) == 2 and all(
            v is None or isinstance(v, str) for v in value):
        name, addr = value
        if addr is None:
            raise ValueError(f"{what}: a (name, address) pair needs an address")
        if top and name and "@" in name and _is_addr_spec(name):
            # to=("a@x", "b@y") is much more likely two addresses than a
            # display name that is an address: refuse the guess. Inside a
            # list a tuple can only be a pair.
            raise ValueError(
                f"{what}: ambiguous pair {value!r}: give several addresses as a list, "
                "or a display name that looks like an address as Mailbox(name, addr)")
        return [Mailbox(name, addr)]
    if isinstance(value, (bytes, bytearray)):
        raise TypeError(f"{what}: addresses must be str, not bytes")
    if isinstance(value, Iterable):
        out: list[Mailbox | Group] = []
        for item in value:
            out.extend(_address_items(item, what, top=False))
        return out
    raise TypeError(f"{what}: cannot use {type(value).__name__} as an address")


def _is_addr_spec(text: str) -> bool:
    try:
        Mailbox(None, text)
    except ValueError:
        return False
    return True


def _addresses(value: object, what: str) -> AddressList:
    """Normalise an address argument (see :data:`AddressInput`).

    Raises:
        ValueError: an invalid address (``"Jörg"`` without a domain, ``"x@"``...).
        TypeError: a value that is not an address.
        HeaderInjectionError: CR, LF or NUL in it.
    """
    if value is None:
        return AddressList()
    if isinstance(value, AddressList):
        return value
    return AddressList(_address_items(value, what))


# -- identifiers -------------------------------------------------------------


def make_message_id(domain: str | None = None) -> str:
    """A new, globally unique message identifier, without angle brackets.

    The left part is the time in milliseconds and 96 random bits (RFC 5322
    section 3.6.4: "the left hand side ... unique"); the right part is
    ``domain`` (``"localhost"`` when None). Usable for Message-ID and for
    Content-ID (``cid:`` references, RFC 2392) alike.

    Raises:
        ValueError: ``domain`` contains whitespace, ``<``, ``>`` or ``@``.
    """
    domain = domain or _FALLBACK_DOMAIN
    if any(c in domain for c in " \t\r\n<>@\x00"):
        raise ValueError(f"invalid domain for a message identifier: {domain!r}")
    return f"{int(time.time() * 1000):x}.{secrets.token_hex(12)}@{domain}"


def _id_domain(domain: str | None, from_: AddressList, utf8: bool) -> str:
    if domain is not None:
        if not isinstance(domain, str) or not domain:
            raise ValueError(f"invalid domain: {domain!r}")
        return domain
    for box in from_.mailboxes:
        d = box.domain
        if not d:
            continue
        if utf8 or d.isascii():
            return d
        try:
            return box.domain_ascii  # IDNA2008; IDNAError is a UnicodeError
        except UnicodeError:
            break
    return _FALLBACK_DOMAIN


# -- attachments -------------------------------------------------------------


def _message_bytes(msg: Message) -> bytes:
    """A message's bytes without an mbox ``From`` line (not part of the
    message, RFC 4155)."""
    data = msg.to_bytes()
    prefix = msg.mbox_from
    return data[len(prefix):] if prefix and data.startswith(prefix) else data


def _eml_name(msg: Message) -> str:
    # Thunderbird and Outlook name an attached message after its subject.
    subject = " ".join((msg.subject or "").split())
    safe = "".join("_" if c in '/\\:*?"<>|' or not c.isprintable() else c for c in subject)
    return (safe[:100].strip(" .") or "message") + ".eml"


def _bytes_of(data: object, what: str) -> bytes:
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)
    raise TypeError(f"{what}: data must be bytes, str or a Message, not {type(data).__name__}")


def _leaf(
    item: object,
    linesep: bytes,
    utf8: bool,
    *,
    disposition: str,
    content_id: str | None = None,
) -> Entity:
    """One attachment or inline part from what the caller gave."""
    what = "inline part" if disposition == "inline" else "attachment"
    if isinstance(item, os.PathLike):
        path = os.fspath(item)
        if not isinstance(path, str):
            raise TypeError(f"{what}: use a str path, not bytes")
        with open(path, "rb") as f:
            data = f.read()
        name = os.path.basename(path)
        return attachment_entity(name, data, guess_type(name), linesep, utf8=utf8,
                                 disposition=disposition, content_id=content_id)
    if isinstance(item, Part):
        return _from_part(None, item, None, linesep, utf8, disposition, content_id)
    if not isinstance(item, tuple) or len(item) not in (2, 3):
        if isinstance(item, str):
            raise TypeError(f"{what}: give (filename, data) or a pathlib.Path, not a str")
        raise TypeError(f"{what}: expected (filename, data[, mime_type]), a Path or a Message, "
                        f"not {type(item).__name__}")
    filename, data = item[0], item[1]
    mime_type = item[2] if len(item) == 3 else None
    if filename is not None and not isinstance(filename, str):
        raise TypeError(f"{what}: file name must be str, not {type(filename).__name__}")
    if isinstance(data, Part):
        return _from_part(filename, data, mime_type, linesep, utf8, disposition, content_id)
    raw: bytes | str = data if isinstance(data, str) else _bytes_of(data, what)
    if mime_type is None:
        mime_type = guess_type(filename) if filename else "application/octet-stream"
    return attachment_entity(filename, raw, mime_type, linesep, utf8=utf8,
                             disposition=disposition, content_id=content_id)


def _from_part(filename: str | None, part: Part, mime_type: str | ContentType | None,
               linesep: bytes, utf8: bool, disposition: str,
               content_id: str | None) -> Entity:
    if isinstance(part, Message):
        return attachment_entity(filename or _eml_name(part), _message_bytes(part),
                                 mime_type or "message/rfc822", linesep, utf8=utf8,
                                 disposition=disposition, content_id=content_id)
    if part.is_multipart:
        raise ValueError("cannot attach a multipart Part; attach its leaves or the Message")
    inner = part.message
    data = _message_bytes(inner) if inner is not None else part.get_bytes()
    return attachment_entity(filename or part.filename, data,
                             mime_type or part.content_type, linesep, utf8=utf8,
                             disposition=disposition, content_id=content_id)


def _clean_cid(cid: object) -> str:
    if not isinstance(cid, str):
        raise TypeError(f"content id must be str, not {type(cid).__name__}")
    v = cid.strip()
    if v[:4].lower() == "cid:":
        v = v[4:]
    if v.startswith("<") and v.endswith(">"):
        v = v[1:-1]
    if "@" not in v:
        # RFC 2045 section 7: Content-ID is a msg-id, "left@right".
        raise ValueError(f"content id {cid!r} must look like 'name@domain' "
                         "(make_message_id() makes one)")
    return v


def _inline_items(inline: object) -> list[tuple[str, object]]:
    """``(content_id, attachment)`` pairs from either accepted form."""
    out: list[tuple[str, object]] = []
    if isinstance(inline, Mapping):
        for cid, item in inline.items():
            out.append((_clean_cid(cid), item))
        return out
    if isinstance(inline, (str, bytes)) or not isinstance(inline, Iterable):
        raise TypeError("inline must be a mapping {content_id: attachment} or a list")
    for item in inline:
        if isinstance(item, Part) and not isinstance(item, Message):
            if not item.content_id:
                raise ValueError("an inline Part needs a Content-ID")
            out.append((_clean_cid(item.content_id), item))
        elif isinstance(item, tuple) and len(item) == 4:
            out.append((_clean_cid(item[3]), item[:3]))
        else:
            raise TypeError("inline items are (filename, data, mime_type, content_id) "
                            "or a Part with a Content-ID")
    return out


# -- the message -------------------------------------------------------------


def _body(text: str | None, html: str | None, inline: object, attachments: object,
          linesep: bytes, utf8: bool) -> Entity:
    body: Entity | None = None
    plain = text_entity(text, "plain", linesep, utf8=utf8) if text is not None else None
    rich = text_entity(html, "html", linesep, utf8=utf8) if html is not None else None
    items = _inline_items(inline) if inline else []
    if items:
        if rich is None:
            raise ValueError("inline parts need an html body that refers to them (cid:...)")
        seen: set[str] = set()
        related = [rich]
        for cid, item in items:
            if cid.lower() in seen:
                raise ValueError(f"duplicate content id {cid!r}")
            seen.add(cid.lower())
            related.append(_leaf(item, linesep, utf8, disposition="inline", content_id=cid))
        # RFC 2387 section 3.1: "type" names the root's type; the root is first.
        rich = multipart("related", related, type="text/html")
    if plain is not None and rich is not None:
        body = multipart("alternative", [plain, rich])
    else:
        body = plain or rich
    files = [_leaf(a, linesep, utf8, disposition="attachment")
             for a in _attachment_items(attachments)]
    if files:
        body = multipart("mixed", [body, *files] if body is not None else files)
    if body is None:
        # No body at all: an empty text/plain part (RFC 2045 section 5.2
        # defaults), so the message is still a valid draft.
        body = text_entity("", "plain", linesep, utf8=utf8)
    return body


def _attachment_items(attachments: object) -> list[object]:
    if not attachments:
        return []
    single = (isinstance(attachments, (str, bytes, os.PathLike, Part))
              or (isinstance(attachments, tuple) and isinstance(attachments[0], str)))
    if single or not isinstance(attachments, Iterable):
        raise TypeError("attachments must be a list of attachments "
                        "(a single one as [(filename, data)])")
    return list(attachments)


def _extra_headers(headers: object) -> list[tuple[str, object]]:
    if headers is None:
        return []
    pairs = list(headers.items()) if isinstance(headers, Mapping) else None
    if pairs is None:
        if isinstance(headers, (str, bytes)) or not isinstance(headers, Iterable):
            raise TypeError("headers must be a mapping or a list of (name, value) pairs")
        pairs = []
        for pair in headers:
            if not isinstance(pair, tuple) or len(pair) != 2:
                raise TypeError(f"headers items must be (name, value) pairs, not {pair!r}")
            pairs.append(pair)
    out: list[tuple[str, object]] = []
    for name, value in pairs:
        if not isinstance(name, str):
            raise TypeError(f"header name must be str, not {type(name).__name__}")
        if name.lower() in _STRUCTURAL:
            raise ValueError(f"{name} is written by compose from the body arguments")
        out.append((name, value))
    return out


def compose(
    *,
    from_: AddressInput = None,
    to: AddressInput = None,
    subject: str | None = None,
    text: str | None = None,
    html: str | None = None,
    attachments: Iterable[AttachmentInput] = (),
    inline: Mapping[str, AttachmentInput] | Iterable[InlineInput] = (),
    cc: AddressInput = None,
    bcc: AddressInput = None,
    reply_to: AddressInput = None,
    sender: AddressInput = None,
    headers: Mapping[str, object] | Iterable[tuple[str, object]] | None = None,
    date: datetime | None = None,
    message_id: str | None = None,
    domain: str | None = None,
    utf8: bool = False,
    linesep: str | bytes = "\r\n",
) -> Message:
    """Build a new message and return it parsed, like :func:`mimekit.parse` would.

    Args:
        from_: The author(s). Addresses everywhere may be given as
            ``"Jörg Müller <j@x.de>"`` (a string may hold a whole list),
            :class:`Mailbox`, :class:`Group`, ``(name, addr)`` pairs, an
            :class:`AddressList`, or a list of these. A tuple is always one
            ``(name, addr)`` pair: give several addresses as a list.
            ``None`` or empty leaves the field out (a draft may have no From
            and no recipients).
        to: The primary recipients.
        subject: The Subject (any Unicode; RFC 2047 encoded where needed).
        text: The ``text/plain`` body.
        html: The ``text/html`` body. With ``text`` too, both go into a
            ``multipart/alternative``, text first (RFC 2046 section 5.1.4:
            the preferred form last).
        attachments: Files, each ``(filename, data)`` or ``(filename,
            data, mime_type)`` (``data`` is bytes, or a str sent as UTF-8;
            the type is guessed from the file name when absent or None), a
            ``pathlib.Path`` (read now), a :class:`Message` (attached as
            ``message/rfc822``, byte-identical) or a :class:`Part` of
            another message (copied with its type and file name).
        inline: Parts the html refers to by ``cid:``: a mapping
            ``{content_id: attachment}`` (any attachment form), or a list of
            ``(filename, data, mime_type, content_id)``. The html and these
            parts go into a ``multipart/related`` (RFC 2387); the content id
            must look like ``name@domain`` (:func:`make_message_id` makes
            one) and is referred to as ``<img src="cid:name@domain">``.
        cc: The Cc recipients.
        bcc: The Bcc recipients. The field is kept in the composed message
            (as MimeKit does: a copy in the Sent folder should show them);
            :class:`mimekit.smtp.SMTPClient` sends to them but never
            transmits the field. Remove it with
            ``msg.headers.remove("Bcc")`` before handing the message to
            anything else.
        reply_to: The Reply-To addresses.
        sender: The Sender (one mailbox; required by RFC 5322 section
            3.6.2 when ``from_`` has several mailboxes).
        headers: More fields, as a mapping or a list of ``(name, value)``
            pairs (a list may repeat a name). Values are ``str`` or typed
            values (``datetime``, :class:`AddressList`, ``list[str]`` of
            message ids...). ``Date``, ``Message-ID`` and ``MIME-Version``
            given here replace the generated ones; ``Content-Type``,
            ``Content-Transfer-Encoding`` and ``Content-Disposition`` are
            refused (they follow from the body arguments).
        date: The Date (a timezone-aware datetime); default: now, in the
            local zone.
        message_id: The Message-ID, with or without ``<>``; default: a new
            one from :func:`make_message_id`.
        domain: The right-hand side of the generated Message-ID; default:
            the domain of the first From mailbox, else ``localhost``.
        utf8: Write raw UTF-8 in header fields (RFC 6532; only for
            transport with SMTPUTF8, RFC 6531) and send non-ASCII text
            parts as ``8bit``. By default every header field is 7-bit
            clean (RFC 2047 encoded words, RFC 2231 parameters, IDNA
            A-labels).
        linesep: ``"\\r\\n"`` (default, the wire format) or ``"\\n"``.

    Returns:
        The new :class:`Message`, parsed from its bytes: ``bytes(msg)``
        is the message to send or store.

    Output rules: ``Date``, ``Message-ID`` and ``MIME-Version: 1.0`` are
    always present; each body's transfer encoding is the lightest that
    fits (see :mod:`mimekit.tree._compose_parts`); no line exceeds 998
    octets, and header fields are folded at 78 characters where they
    contain a place to fold (an attached message is kept byte-identical,
    whatever its lines).

    Raises:
        ValueError: a caller mistake: an invalid address, several From
            mailboxes without a sender, a field given twice, a naive
            ``date``, inline parts without html, a bad content id or MIME
            type...
        HeaderInjectionError: CR, LF or NUL in any header value (a
            ``ValueError``).
        InvalidHeaderNameError: an invalid field name in ``headers``.
        TypeError: an argument of the wrong type.
        OSError: a ``pathlib.Path`` attachment cannot be read.
    """
    if linesep not in _LINESEPS:
        raise ValueError("linesep must be '\\r\\n' or '\\n'")
    sep = _LINESEPS[linesep]
    if subject is not None and not isinstance(subject, str):
        raise TypeError(f"subject must be str, not {type(subject).__name__}")
    for name, value in (("text", text), ("html", html)):
        if value is not None and not isinstance(value, str):
            raise TypeError(f"{name} must be str, not {type(value).__name__}")

    authors = _addresses(from_, "from_")
    if any(isinstance(a, Group) for a in authors):
        raise ValueError("from_ takes mailboxes, not groups (RFC 5322 section 3.6.2)")
    sender_list = _addresses(sender, "sender")
    if len(authors) > 1 and not sender_list:
        raise ValueError("several From mailboxes need a sender= (RFC 5322 section 3.6.2)")

    extras = _extra_headers(headers)
    in_extras = {n.lower() for n, _ in extras}
    fields: list[tuple[str, object]] = []
    if date is not None or "date" not in in_extras:
        fields.append(("Date", datetime.now().astimezone() if date is None else date))
    for name, addrs in (("From", authors), ("Sender", sender_list),
                        ("Reply-To", _addresses(reply_to, "reply_to"))):
        if addrs:
            fields.append((name, addrs))
    if subject is not None:
        fields.append(("Subject", subject))
    for name, addrs in (("To", _addresses(to, "to")), ("Cc", _addresses(cc, "cc")),
                        ("Bcc", _addresses(bcc, "bcc"))):
        if addrs:
            fields.append((name, addrs))
    if message_id is not None or "message-id" not in in_extras:
        fields.append(("Message-ID", message_id if message_id is not None
                       else make_message_id(_id_domain(domain, authors, utf8))))
    seen = {n.lower() for n, _ in fields}
    for name, _value in extras:
        low = name.lower()
        if low in _SINGLE:
            if low in seen:
                raise ValueError(f"{name} given twice (RFC 5322 section 3.6 allows it once)")
            seen.add(low)
    fields.extend(extras)
    if "mime-version" not in seen:
        fields.append(("MIME-Version", "1.0"))

    top = [Header.create(name, value, sep, utf8=utf8).raw for name, value in fields]
    body = _body(text, html, inline, attachments, sep, utf8)
    return parse(serialize(body, sep, utf8=utf8, top_fields=top))
