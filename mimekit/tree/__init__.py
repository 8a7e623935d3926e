"""The message tree: parser, entities, headers and serializer (layer 2).

Imports only :mod:`mimekit.codecs`, :mod:`mimekit.fields` and the base
modules; the mail stores and protocols build on it.
"""

from ._compose import compose, make_message_id
from ._headers import Header, Headers
from ._limits import DEFAULT_LIMITS, Limits
from ._message import Message
from ._parse import Parser, parse, parse_file
from ._part import Part
from ._partial import PartialJoinError, join_partial
from ._range import parse_range
from ._reply import html_to_text
from ._source import SourceClosedError

__all__ = [
    "DEFAULT_LIMITS",
    "Header",
    "Headers",
    "Limits",
    "Message",
    "Parser",
    "Part",
    "PartialJoinError",
    "SourceClosedError",
    "compose",
    "html_to_text",
    "join_partial",
    "make_message_id",
    "parse",
    "parse_file",
    "parse_range",
]
