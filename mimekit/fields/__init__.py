"""Typed values of header fields: addresses, dates, MIME types, identifiers,
trace fields (:class:`Received`), text.

Every parser takes the *value* of a field as ``str`` (the text after the
colon, unfolded: line breaks before whitespace removed, the whitespace kept;
raw UTF-8 already decoded) and returns ``(value, defects)``. Parsers never
raise on any input, run in linear time, and report defect offsets as
character indexes into the text they were given.

The formatters (:func:`format_field`, the ``format()`` methods) are the
other direction, for values a program sets: they raise on caller mistakes
(:class:`~mimekit.HeaderInjectionError` for CR/LF/NUL, ``ValueError`` for a
value the field cannot hold). A typed value is written in canonical form; a
``str`` is the text the field should hold, written so that it reads back
exactly (see :func:`format_field`).

This package imports only the standard library, :mod:`mimekit.codecs` and
mimekit's defect and error types.
"""

from ._address import parse_address_list, parse_mailbox
from ._addrtypes import AddressList, Group, Mailbox
from ._content_type import (
    MESSAGE_RFC822,
    TEXT_PLAIN,
    ContentDisposition,
    ContentType,
    parse_content_disposition,
    parse_content_type,
)
from ._date import UNKNOWN_TZ, format_date, parse_date
from ._encode import format_phrase, format_unstructured
from ._lists import parse_keywords, parse_url_list
from ._msgid import parse_message_id, parse_message_id_list
from ._params import ParameterMap, format_params
from ._received import Received, parse_received
from ._registry import field_kind, format_field, parse_field, parse_unstructured

__all__ = [
    "MESSAGE_RFC822",
    "TEXT_PLAIN",
    "UNKNOWN_TZ",
    "AddressList",
    "ContentDisposition",
    "ContentType",
    "Group",
    "Mailbox",
    "ParameterMap",
    "Received",
    "field_kind",
    "format_date",
    "format_field",
    "format_params",
    "format_phrase",
    "format_unstructured",
    "parse_address_list",
    "parse_content_disposition",
    "parse_content_type",
    "parse_date",
    "parse_field",
    "parse_keywords",
    "parse_mailbox",
    "parse_message_id",
    "parse_message_id_list",
    "parse_received",
    "parse_unstructured",
    "parse_url_list",
]
