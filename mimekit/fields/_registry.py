"""Which parser and formatter each header field uses: :func:`parse_field`, :func:`format_field`.

The kinds (see :func:`field_kind`):

============================  ======================  ==========================
fields                        kind                    typed value
============================  ======================  ==========================
From To Cc Bcc Reply-To ...   ``address``             :class:`AddressList`
Sender, Resent-Sender         ``mailbox``             :class:`AddressList` (one)
Return-Path                   ``path``                :class:`AddressList` (0-1)
Date, Resent-Date             ``date``                ``datetime | None``
Message-ID, Content-ID ...    ``message-id``          ``str | None``
In-Reply-To, References       ``message-id-list``     ``list[str]``
Content-Type                  ``content-type``        :class:`ContentType`
Content-Disposition           ``content-disposition`` :class:`ContentDisposition`
Content-Transfer-Encoding     ``token``               ``str`` (lower-cased)
MIME-Version                  ``mime-version``        ``str`` (``"1.0"``)
List-Help ... List-Archive    ``url-list``            ``list[str]``
Keywords                      ``phrase-list``         ``list[str]``
Received                      ``received``            :class:`Received`
anything else                 ``unstructured``        ``str``
============================  ======================  ==========================

Sender is a single mailbox in RFC 5322 section 3.6.2; it is still returned
as an :class:`AddressList` so that ``msg.sender`` has the same type as
``msg.from_`` (empty when absent), with a defect when it holds more than one
mailbox or a group. Return-Path (RFC 5322 section 3.6.7, RFC 5321
``Reverse-path``) is ``<addr>`` or the null path ``<>``, which gives an
empty list without a defect. List-Id (RFC 2919) and List-Unsubscribe-Post
(RFC 8058) are not URL lists: they stay unstructured text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, Final

from .._defects import Defect, DefectKind
from .._errors import HeaderInjectionError
from ..codecs import decode_encoded_words
from ._address import parse_address_list
from ._addrtypes import AddressList, Group, Mailbox, make_address_list
from ._content_type import (
    ContentDisposition,
    ContentType,
    parse_content_disposition,
    parse_content_type,
)
from ._date import format_date, parse_date
from ._encode import check_injection, format_unstructured, longest_run
from ._exact import exact_text
from ._lexer import strip_comments
from ._lists import format_keywords, format_url_list, parse_keywords, parse_url_list
from ._msgid import (
    format_message_id,
    format_message_id_list,
    parse_message_id,
    parse_message_id_list,
)
from ._params import is_token
from ._received import Received, parse_received

__all__ = ["field_kind", "format_field", "parse_field", "parse_unstructured"]

_KINDS: Final[dict[str, str]] = {
    **dict.fromkeys(
        (
            "from",
            "to",
            "cc",
            "bcc",
            "reply-to",
            "resent-from",
            "resent-to",
            "resent-cc",
            "resent-bcc",
            "resent-reply-to",
            "disposition-notification-to",
            "mail-followup-to",
            "mail-reply-to",
            "return-receipt-to",
            "errors-to",
            "approved",
        ),
        "address",
    ),
    "sender": "mailbox",
    "resent-sender": "mailbox",
    "return-path": "path",
    "date": "date",
    "resent-date": "date",
    "message-id": "message-id",
    "resent-message-id": "message-id",
    "content-id": "message-id",
    "in-reply-to": "message-id-list",
    "references": "message-id-list",
    "content-type": "content-type",
    "content-disposition": "content-disposition",
    "content-transfer-encoding": "token",
    "mime-version": "mime-version",
    **dict.fromkeys(
        (
            "list-help",
            "list-unsubscribe",
            "list-subscribe",
            "list-post",
            "list-owner",
            "list-archive",
        ),
        "url-list",
    ),
    "keywords": "phrase-list",
    "received": "received",
}

_MIME_VERSION = re.compile(r"[0-9]{1,9}\.[0-9]{1,9}")


def field_kind(name: str) -> str:
    """The kind of value a header field holds (see the module table)."""
    return _KINDS.get(name.lower(), "unstructured")


def parse_unstructured(text: str) -> tuple[str, list[Defect]]:
    """Read an unstructured value (Subject, Comments...): trim and RFC 2047-decode.

    RFC 5322 section 3.2.5 ``unstructured``; RFC 2047 section 6.2 for the
    decoding (adjacent encoded words joined, the whitespace between them
    dropped). Leading whitespace (the space after the colon) and trailing
    whitespace are removed; whitespace inside is kept as it is.
    """
    stripped = text.strip(" \t\r\n")
    if "=?" not in stripped:
        return stripped, []
    decoded, defects = decode_encoded_words(stripped)
    lead = len(text) - len(text.lstrip(" \t\r\n"))
    if lead:
        defects = [
            Defect(
                kind=d.kind, offset=d.offset + lead if d.offset >= 0 else d.offset, detail=d.detail
            )
            for d in defects
        ]
    return decoded, defects


def _parse_mailbox_field(text: str) -> tuple[AddressList, list[Defect]]:
    addrs, defects = parse_address_list(text)
    if len(addrs) > 1 or (addrs and type(addrs[0]) is Group):
        defects.append(
            Defect(
                kind=DefectKind.INVALID_ADDRESS,
                offset=0,
                detail="more than one mailbox where one is expected",
            )
        )
    return addrs, defects


_NULL_PATH = re.compile(r"[ \t]*<[ \t]*>[ \t]*\Z")


def _parse_path(text: str) -> tuple[AddressList, list[Defect]]:
    if _NULL_PATH.match(text) is not None:
        return make_address_list([]), []
    stripped, _bad = strip_comments(text)
    if _NULL_PATH.match(stripped) is not None:
        return make_address_list([]), []
    return _parse_mailbox_field(text)


def _parse_token(text: str) -> tuple[str, list[Defect]]:
    stripped, bad = strip_comments(text)
    words = stripped.split()
    defects: list[Defect] = []
    if bad or len(words) != 1 or not is_token(words[0]):
        defects.append(
            Defect(kind=DefectKind.INVALID_HEADER_VALUE, offset=0, detail="expected a single token")
        )
    return (words[0].lower() if words else ""), defects


def _parse_mime_version(text: str) -> tuple[str, list[Defect]]:
    stripped, bad = strip_comments(text)
    version = "".join(stripped.split())
    if bad or _MIME_VERSION.fullmatch(version) is None:
        return version, [
            Defect(
                kind=DefectKind.INVALID_HEADER_VALUE,
                offset=0,
                detail="MIME-Version is not DIGITS.DIGITS",
            )
        ]
    return version, []


_PARSERS: Final[dict[str, Callable[[str], tuple[Any, list[Defect]]]]] = {
    "address": parse_address_list,
    "mailbox": _parse_mailbox_field,
    "path": _parse_path,
    "date": parse_date,
    "message-id": parse_message_id,
    "message-id-list": parse_message_id_list,
    "content-type": parse_content_type,
    "content-disposition": parse_content_disposition,
    "token": _parse_token,
    "mime-version": _parse_mime_version,
    "url-list": parse_url_list,
    "phrase-list": parse_keywords,
    "received": parse_received,
    "unstructured": parse_unstructured,
}
_PARSER_BY_NAME: Final = {name: _PARSERS[kind] for name, kind in _KINDS.items()}


def parse_field(name: str, text: str) -> tuple[object, list[Defect]]:
    """Parse a field value by the (case-insensitive) field name.

    Args:
        name: The field name.
        text: The unfolded value (see the package doc for the contract).

    Returns:
        ``(value, defects)``; the value's type depends on :func:`field_kind`.
        Never raises on any text.
    """
    parser = _PARSER_BY_NAME.get(name.lower(), parse_unstructured)
    return parser(text)


# --- writing ----------------------------------------------------------------


def _addresses_from(value: object) -> AddressList:
    """Turn what a program gives for an address field into an AddressList."""
    if isinstance(value, AddressList):
        return value
    if isinstance(value, (Mailbox, Group)):
        return make_address_list([value])
    if isinstance(value, str):
        check_injection(value)
        addrs, defects = parse_address_list(value)
        bad = [d for d in defects if d.kind is DefectKind.INVALID_ADDRESS]
        if bad or (not addrs and value.strip(" \t")):
            detail = bad[0].detail if bad else "no address"
            raise ValueError(f"not a valid address list: {value!r} ({detail})")
        return addrs
    if isinstance(value, Iterable):
        items: list[Mailbox | Group] = []
        for item in value:
            items.extend(_addresses_from(item))
        return make_address_list(items)
    raise TypeError(f"cannot write {type(value).__name__} as addresses")


def _str_list(value: object, parse: Callable[[str], tuple[list[str], list[Defect]]]) -> list[str]:
    if isinstance(value, str):
        check_injection(value)
        items, defects = parse(value)
        if defects:
            raise ValueError(f"invalid value: {value!r} ({defects[0].detail})")
        return items
    if isinstance(value, Iterable):
        out = []
        for v in value:
            if not isinstance(v, str):
                raise TypeError(f"expected str items, not {type(v).__name__}")
            check_injection(v)
            out.append(v)
        return out
    raise TypeError(f"expected str or a list of str, not {type(value).__name__}")


def _exact(name: str, kind: str, value: str, parsed: object, utf8: bool) -> str:
    """Write a valid ``str`` value so that it reads back as itself (see _exact),
    or, when no wire form does, write the value it means in canonical form."""
    try:
        return exact_text(
            name,
            value,
            parsed,
            _PARSERS[kind],
            utf8=utf8,
            encodable=kind in ("address", "mailbox", "path", "phrase-list"),
        )
    except ValueError:
        if kind in ("token", "mime-version"):
            raise
        # '"Jörg Müller" <j@x.de>' cannot keep its quotes in 7-bit form (no
        # encoded word inside a quoted string): refusing it would make the
        # most common way of writing an address fail, so the mailboxes (the
        # date, the parameters...) are written canonically instead. The text
        # then reads back with different quoting or spacing, the value the same.
        return _format(kind, name, parsed, utf8)


def _format_str(kind: str, name: str, value: str, utf8: bool) -> str | None:
    """Format a ``str`` given for a structured field; None: not handled here.

    A str is the text the caller wants: checked to be a valid value, then
    written exactly (:func:`exact_text`). A value without the angle brackets
    its syntax needs (a bare message identifier, Return-Path address or
    List-* URL) is the typed value instead, as ``Header.value`` returns it,
    and is written ``<value>``.
    """
    check_injection(value)
    bare = "<" not in value
    if kind in ("address", "mailbox", "path"):
        if kind == "path" and _NULL_PATH.match(value) is not None:
            return _exact(name, kind, value, make_address_list([]), utf8)
        addrs = _addresses_from(value)
        if kind == "path" and (not value.strip(" \t").startswith("<") or len(addrs) > 1):
            return None  # an address for Return-Path: written "<addr>"
        if kind == "mailbox" and (len(addrs) != 1 or not isinstance(addrs[0], Mailbox)):
            raise ValueError(f"{name} takes exactly one mailbox")
        if not addrs and name.lower() not in ("bcc", "resent-bcc"):
            raise ValueError(f"{name} needs at least one address")
        return _exact(name, kind, value, addrs, utf8)
    if kind == "date":
        dt, defects = parse_date(value)
        if dt is None or any(d.kind is DefectKind.INVALID_DATE for d in defects):
            detail = defects[0].detail if defects else "no date"
            raise ValueError(f"not a valid date: {value!r} ({detail}); pass a datetime")
        return _exact(name, kind, value, dt, utf8)
    if kind == "message-id":
        if bare:
            return None  # the identifier itself: "<id>"
        ident, defects = parse_message_id(value)
        if ident is None or defects:
            detail = defects[0].detail if defects else "no identifier"
            raise ValueError(f"not a valid message identifier: {value!r} ({detail})")
        format_message_id(ident, utf8=utf8)  # the same limits as a typed value
        return _exact(name, kind, value, ident, utf8)
    if kind == "message-id-list":
        ids = _str_list(value, parse_message_id_list)
        format_message_id_list(ids, utf8=utf8)
        return _exact(name, kind, value, ids, utf8)
    if kind in ("content-type", "content-disposition"):
        parser = parse_content_type if kind == "content-type" else parse_content_disposition
        parsed, defects = parser(value)
        if defects:
            raise ValueError(f"invalid {name}: {value!r} ({defects[0].detail})")
        return _exact(name, kind, value, parsed, utf8)
    if kind in ("token", "mime-version"):
        v = value.strip(" \t")
        ok = is_token(v) if kind == "token" else _MIME_VERSION.fullmatch(v) is not None
        if not ok:
            raise ValueError(f"invalid {name}: {value!r}")
        return _exact(name, kind, value, v, utf8)
    if kind == "url-list":
        if bare and value.strip(" \t") != "NO":
            return None  # one URL: "<url>"
        urls = _str_list(value, parse_url_list)
        format_url_list(urls)
        return _exact(name, kind, value, urls, utf8)
    if kind == "phrase-list":
        return _exact(name, kind, value, _str_list(value, parse_keywords), utf8)
    if kind == "received":
        # Any text: trace fields are written by MTAs, the API only copies
        # them; written like unstructured text so that it reads back.
        return format_unstructured(value, utf8=utf8)
    return None


def _format(kind: str, name: str, value: object, utf8: bool) -> str:
    if isinstance(value, str) and kind != "unstructured":
        out = _format_str(kind, name, value, utf8)
        if out is not None:
            return out
    if kind in ("address", "mailbox", "path"):
        addrs = _addresses_from(value)
        if kind == "path":
            if not addrs:
                return "<>"
            # One mailbox, not a group (a group, even with one member or
            # beside it, would not read back).
            first = addrs[0]
            if len(addrs) != 1 or not isinstance(first, Mailbox):
                raise ValueError(f"{name} takes one address")
            return f"<{first._format_addr(utf8)}>"
        if kind == "mailbox" and (len(addrs) != 1 or not isinstance(addrs[0], Mailbox)):
            raise ValueError(f"{name} takes exactly one mailbox")
        if not addrs and name.lower() not in ("bcc", "resent-bcc"):
            raise ValueError(f"{name} needs at least one address")
        return addrs.format(utf8=utf8)
    if kind == "date":
        if not isinstance(value, datetime):
            raise TypeError(f"{name} takes a datetime, not {type(value).__name__}")
        return format_date(value)
    if kind == "message-id":
        if not isinstance(value, str):
            raise TypeError(f"{name} takes a str, not {type(value).__name__}")
        return format_message_id(value, utf8=utf8)
    if kind == "message-id-list":
        return format_message_id_list(_str_list(value, parse_message_id_list), utf8=utf8)
    if kind in ("content-type", "content-disposition"):
        if not isinstance(value, (ContentType, ContentDisposition)):
            raise TypeError(f"cannot write {type(value).__name__} as {name}")
        return value.format(utf8=utf8)
    if kind in ("token", "mime-version"):
        raise TypeError(f"{name} takes a str, not {type(value).__name__}")
    if kind == "url-list":
        if isinstance(value, str):
            value = [value.strip(" \t")]
        return format_url_list(_str_list(value, parse_url_list))
    if kind == "phrase-list":
        return format_keywords(_str_list(value, parse_keywords), utf8=utf8)
    if kind == "received":
        if not isinstance(value, Received):
            raise TypeError(f"{name} takes a Received or a str, not {type(value).__name__}")
        return value.format()
    if not isinstance(value, str):
        raise TypeError(f"{name} takes a str, not {type(value).__name__}")
    return format_unstructured(value, utf8=utf8, after=len(name) + 2)


def format_field(name: str, value: object, *, utf8: bool = False) -> str:
    """Write ``value`` as the value of header ``name``: one line, no name, no CRLF.

    ``value`` is the typed value (:class:`AddressList`, :class:`Mailbox`,
    lists of them, ``datetime``, :class:`ContentType`, :class:`Received`,
    ``list[str]`` of message identifiers...), written in canonical form, or
    a ``str``: the text the field should hold. A ``str`` for a structured
    field must be a valid value of it (else ``ValueError``) and is written
    so that it reads back as itself: unchanged when it can be, else with
    RFC 2047 encoded words for the phrase and comment words that need them
    (``"Jörg Müller <j@x.de>"`` becomes ``=?utf-8?B?SsO2cmcgTcO8bGxlcg==?=
    <j@x.de>``). When that is impossible (surrounding whitespace; non-ASCII
    inside a quoted string, an address or a parameter without ``utf8``),
    the value the text means is written in canonical form instead
    (``'"Müller, Jörg" <j@x.de>'`` gets an encoded display name,
    ``j@bücher.de`` an IDNA A-label): the same mailboxes, date or
    parameters, with other quoting or spacing. A bare identifier,
    Return-Path address or List-* URL is taken as the typed value (what
    ``Header.value`` gives) and written with its angle brackets.

    So for every ``str`` ``v`` that has an exact form, reading the field
    back (unfold, trim, RFC 2047-decode: ``Header.text``) gives ``v`` again;
    for the others it gives the same value.

    Guarantees: encoded words only where needed and never inside an
    addr-spec, a quoted string or a parameter; every space is a legal
    folding point and no run of non-space characters exceeds 900
    characters. Reading the result back with :func:`parse_field` gives the
    same value.

    Args:
        name: The field name (chooses the syntax, see :func:`field_kind`).
        value: What to write.
        utf8: Write raw UTF-8 (RFC 6532, for SMTPUTF8 transport) instead of
            RFC 2047 encoded words, RFC 2231 parameters and IDNA A-labels.

    Raises:
        HeaderInjectionError: CR, LF or NUL in the value.
        ValueError: a value that is not valid for this field (an
            unparseable address list, a naive datetime, a structured token
            too long to fold...), or a value that cannot be written at all
            without ``utf8`` (a non-ASCII local part).
        TypeError: a value of the wrong type.
    """
    kind = field_kind(name)
    out = _format(kind, name, value, utf8)
    if "\r" in out or "\n" in out or "\x00" in out:
        raise HeaderInjectionError(f"{name} value would contain CR, LF or NUL")
    if longest_run(out, utf8=utf8) > 900:
        raise ValueError(f"{name} value has a token too long to fold")
    return out
