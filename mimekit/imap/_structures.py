"""ENVELOPE and BODYSTRUCTURE as typed values (client side).

RFC 3501 section 7.4.2 and 9::

    envelope        = "(" env-date SP env-subject SP env-from SP
                      env-sender SP env-reply-to SP env-to SP env-cc SP
                      env-bcc SP env-in-reply-to SP env-message-id ")"
    address         = "(" addr-name SP addr-adl SP addr-mailbox SP addr-host ")"
    body            = "(" (body-type-1part / body-type-mpart) ")"
    body-type-1part = (body-type-basic / body-type-msg / body-type-text)
                      [SP body-ext-1part]
    body-type-basic = media-basic SP body-fields
    body-type-msg   = media-message SP body-fields SP envelope SP body SP body-fld-lines
    body-type-text  = media-text SP body-fields SP body-fld-lines
    body-fields     = body-fld-param SP body-fld-id SP body-fld-desc SP
                      body-fld-enc SP body-fld-octets
    body-ext-1part  = body-fld-md5 [SP body-fld-dsp [SP body-fld-lang
                      [SP body-fld-loc *(SP body-extension)]]]
    body-type-mpart = 1*body SP media-subtype [SP body-ext-mpart]
    body-ext-mpart  = body-fld-param [SP body-fld-dsp [SP body-fld-lang
                      [SP body-fld-loc *(SP body-extension)]]]
    body-fld-dsp    = "(" string SP body-fld-param ")" / nil
    body-fld-lang   = nstring / "(" string *(SP string) ")"

An address with a NIL host starts a group (its mailbox field is the group
name) and one with NIL mailbox and host ends it (RFC 3501 7.4.2).

Reading never raises: a malformed structure gives None (and the caller
keeps the raw value). Text is decoded leniently: octets as UTF-8 (else the
legacy-charset guess of :func:`mimekit.codecs.decode_header_bytes`), then
RFC 2047 encoded words in the subject and display names.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from ..codecs import decode_encoded_words, decode_header_bytes
from ..fields import AddressList, Group, Mailbox, parse_content_disposition, parse_date
from ..fields._addrtypes import make_address_list, make_mailbox
from ._values import Value

__all__ = ["BodyStructure", "Envelope", "parse_bodystructure", "parse_envelope"]


def _text(value: Value) -> str | None:
    """An nstring as text, without RFC 2047 decoding."""
    if value is None or isinstance(value, tuple):
        return None
    if isinstance(value, bytes):
        return decode_header_bytes(value)
    if isinstance(value, int):
        return str(value)
    if not value.isascii():
        # Quoted strings were decoded with surrogateescape: undo, then guess.
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return decode_header_bytes(value.encode("utf-8", "surrogateescape"))
    return value


def _decoded(value: Value) -> str | None:
    text = _text(value)
    if text is None or "=?" not in text:
        return text
    return decode_encoded_words(text)[0]


@dataclass(frozen=True, slots=True, kw_only=True)
class Envelope:
    """A message's ENVELOPE (RFC 3501 section 7.4.2), as the server parsed it.

    Attributes:
        date: The Date field as an aware datetime, or None (absent or not
            a date).
        subject: The Subject, RFC 2047 decoded, or None.
        from_, sender, reply_to, to, cc, bcc: The address fields
            (:class:`~mimekit.AddressList`, empty when NIL). RFC 3501 has
            the server fill Sender and Reply-To from From when absent.
        in_reply_to: The In-Reply-To field as sent (message ids with their
            angle brackets), or None.
        message_id: The Message-ID without angle brackets (as
            :attr:`mimekit.Message.message_id`), or None.
    """

    date: datetime | None = None
    subject: str | None = None
    from_: AddressList = field(default_factory=AddressList)
    sender: AddressList = field(default_factory=AddressList)
    reply_to: AddressList = field(default_factory=AddressList)
    to: AddressList = field(default_factory=AddressList)
    cc: AddressList = field(default_factory=AddressList)
    bcc: AddressList = field(default_factory=AddressList)
    in_reply_to: str | None = None
    message_id: str | None = None


def _addresses(value: Value) -> AddressList | None:
    if value is None:
        return AddressList()
    if not isinstance(value, tuple):
        return None
    items: list[Mailbox | Group] = []
    group: tuple[str, list[Mailbox]] | None = None
    for address in value:
        if not isinstance(address, tuple) or len(address) != 4:
            return None
        name, _adl, mailbox, host = address
        if host is None:
            if mailbox is None:  # end of group
                if group is not None:
                    items.append(Group._make(group[0], tuple(group[1])))
                    group = None
                continue
            if group is not None:
                items.append(Group._make(group[0], tuple(group[1])))
            group = (_decoded(mailbox) or "", [])
            continue
        box = make_mailbox(_decoded(name) or "", _text(mailbox) or "", _text(host) or "")
        if group is not None:
            group[1].append(box)
        else:
            items.append(box)
    if group is not None:
        items.append(Group._make(group[0], tuple(group[1])))
    return make_address_list(items)


def parse_envelope(value: Value) -> Envelope | None:
    """An ENVELOPE value as :class:`Envelope`, or None when malformed."""
    if not isinstance(value, tuple) or len(value) < 10:
        return None
    lists = [_addresses(v) for v in value[2:8]]
    if any(a is None for a in lists):
        return None
    date_text = _text(value[0])
    moment = parse_date(date_text)[0] if date_text else None
    message_id = _text(value[9])
    if message_id is not None:
        message_id = message_id.strip()
        if message_id.startswith("<") and message_id.endswith(">"):
            message_id = message_id[1:-1]
    from_, sender, reply_to, to, cc, bcc = (a or AddressList() for a in lists)
    return Envelope(date=moment, subject=_decoded(value[1]), from_=from_, sender=sender,
                    reply_to=reply_to, to=to, cc=cc, bcc=bcc, in_reply_to=_text(value[8]),
                    message_id=message_id)


@dataclass(frozen=True, slots=True, kw_only=True)
class BodyStructure:
    """One node of a BODYSTRUCTURE tree (RFC 3501 section 7.4.2).

    Attributes:
        type, subtype: Lower-cased media type (``"text"``, ``"plain"``).
        params: Content-Type parameters, names lower-cased, values as sent
            (RFC 2231 ``name*`` forms kept; :attr:`filename` decodes them).
        id: Content-ID, or None.
        description: Content-Description (RFC 2047 decoded), or None.
        encoding: Content-Transfer-Encoding, lower-cased, or None.
        size: Body size in octets (as transferred), or None for a multipart.
        lines: Line count for ``text/*`` and ``message/rfc822``, else None.
        md5: Content-MD5, or None.
        disposition: ``"attachment"``, ``"inline"``..., lower-cased, or None.
        disposition_params: The disposition's parameters, names lower-cased.
        language: Content-Language tags (empty when NIL).
        location: Content-Location, or None.
        parts: The children of a multipart (empty otherwise).
        envelope: For ``message/rfc822``: the inner message's envelope.
        body: For ``message/rfc822``: the inner message's structure.
        extensions: Extension data beyond location, raw.
        section: The part number for ``BODY[section]``: ``"1"``, ``"2.1"``;
            ``""`` for a multipart root (fetch it with ``BODY[]``). A
            single-part message's body is section ``"1"`` (RFC 3501 6.4.5).
    """

    type: str
    subtype: str
    params: dict[str, str] = field(default_factory=dict)
    id: str | None = None
    description: str | None = None
    encoding: str | None = None
    size: int | None = None
    lines: int | None = None
    md5: str | None = None
    disposition: str | None = None
    disposition_params: dict[str, str] = field(default_factory=dict)
    language: tuple[str, ...] = ()
    location: str | None = None
    parts: tuple[BodyStructure, ...] = ()
    envelope: Envelope | None = None
    body: BodyStructure | None = None
    extensions: tuple[Value, ...] = ()
    section: str = ""

    @property
    def mime_type(self) -> str:
        """``"type/subtype"``."""
        return f"{self.type}/{self.subtype}"

    @property
    def is_multipart(self) -> bool:
        """A ``multipart/*`` node."""
        return self.type == "multipart"

    @property
    def charset(self) -> str | None:
        """The ``charset`` parameter, or None."""
        return self.params.get("charset")

    @property
    def filename(self) -> str | None:
        """The file name: the disposition's ``filename`` or the type's
        ``name``, RFC 2231 and RFC 2047 decoded."""
        for params in (self.disposition_params, self.params):
            if not any(k.split("*")[0] in ("filename", "name") for k in params):
                continue
            text = "; ".join('{}="{}"'.format(k, v.replace("\\", "\\\\").replace('"', '\\"'))
                             for k, v in params.items()
                             if "\r" not in v and "\n" not in v)
            parsed = parse_content_disposition("attachment; " + text)[0]
            name = parsed.filename or parsed.get("name")
            if name:
                return name
        return None

    def walk(self) -> Iterator[BodyStructure]:
        """This node and every node below it, depth first (inner messages
        included)."""
        yield self
        for part in self.parts:
            yield from part.walk()
        if self.body is not None:
            yield from self.body.walk()


def _params(value: Value) -> dict[str, str] | None:
    if value is None:
        return {}
    if not isinstance(value, tuple) or len(value) % 2:
        return None
    out: dict[str, str] = {}
    for i in range(0, len(value), 2):
        key, val = _text(value[i]), _text(value[i + 1])
        if key is None:
            return None
        out.setdefault(key.lower(), val or "")
    return out


def _lower(value: Value) -> str | None:
    text = _text(value)
    return text.lower() if text is not None else None


def _extension(ext: tuple[Value, ...]) -> dict[str, object] | None:
    """disposition, language, location and the rest, after md5/params."""
    out: dict[str, object] = {}
    if ext:
        dsp = ext[0]
        if isinstance(dsp, tuple) and len(dsp) == 2:
            out["disposition"] = _lower(dsp[0])
            params = _params(dsp[1])
            out["disposition_params"] = params or {}
        elif isinstance(dsp, str | bytes):
            out["disposition"] = _lower(dsp)  # seen in the wild: a bare string
    if len(ext) > 1:
        lang = ext[1]
        if isinstance(lang, tuple):
            out["language"] = tuple(t for t in (_text(v) for v in lang) if t)
        elif lang is not None:
            out["language"] = tuple(t for t in [_text(lang)] if t)
    if len(ext) > 2:
        out["location"] = _text(ext[2])
    if len(ext) > 3:
        out["extensions"] = tuple(ext[3:])
    return out


def _number(value: Value) -> int | None:
    return value if isinstance(value, int) else None


def _body(value: Value, section: str, depth: int) -> BodyStructure | None:
    if not isinstance(value, tuple) or not value or depth > 60:
        return None
    if isinstance(value[0], tuple):  # multipart: 1*body SP subtype [ext]
        count = 0
        while count < len(value) and isinstance(value[count], tuple):
            count += 1
        prefix = f"{section}." if section else ""
        parts = []
        for i in range(count):
            part = _body(value[i], f"{prefix}{i + 1}", depth + 1)
            if part is None:
                return None
            parts.append(part)
        rest = value[count:]
        subtype = _lower(rest[0]) if rest else None
        if subtype is None:
            return None
        params = _params(rest[1]) if len(rest) > 1 else {}
        if params is None:
            return None
        ext = _extension(tuple(rest[2:])) or {}
        return BodyStructure(type="multipart", subtype=subtype, params=params,
                             parts=tuple(parts), section=section, **ext)  # type: ignore[arg-type]
    if len(value) < 7:
        return None
    kind, subtype = _lower(value[0]), _lower(value[1])
    params = _params(value[2])
    if kind is None or subtype is None or params is None:
        return None
    own = section or "1"
    fields: dict[str, object] = dict(
        type=kind, subtype=subtype, params=params, id=_text(value[3]),
        description=_decoded(value[4]), encoding=_lower(value[5]), size=_number(value[6]),
        section=own)
    rest = value[7:]
    if kind == "message" and subtype in ("rfc822", "global") and len(rest) >= 3:
        envelope = parse_envelope(rest[0])
        inner = rest[1]
        inner_section = own if isinstance(inner, tuple) and inner and isinstance(
            inner[0], tuple) else f"{own}.1"
        fields["envelope"] = envelope
        fields["body"] = _body(inner, inner_section, depth + 1)
        fields["lines"] = _number(rest[2])
        rest = rest[3:]
    elif kind == "text" and rest:
        fields["lines"] = _number(rest[0])
        rest = rest[1:]
    if rest:
        fields["md5"] = _text(rest[0])
        fields.update(_extension(tuple(rest[1:])) or {})
    return BodyStructure(**fields)  # type: ignore[arg-type]


def parse_bodystructure(value: Value) -> BodyStructure | None:
    """A BODYSTRUCTURE (or BODY) value as a :class:`BodyStructure` tree, or
    None when malformed."""
    return _body(value, "", 0)
