"""mimekit: a lossless, lazy, typed e-mail library.

The curated public surface. Every name here is re-exported explicitly from
the private module that defines it (see DESIGN.md section 4, convention 5).
"""

from ._defects import Defect, DefectKind
from ._errors import (
    HeaderInjectionError,
    InvalidHeaderNameError,
    MalformedMessageError,
    MimekitError,
)
from .fields import AddressList, ContentDisposition, ContentType, Group, Mailbox
from .tree import (
    DEFAULT_LIMITS,
    Header,
    Headers,
    Limits,
    Message,
    Parser,
    Part,
    PartialJoinError,
    SourceClosedError,
    compose,
    html_to_text,
    join_partial,
    make_message_id,
    parse,
    parse_file,
)

__version__ = "0.1.0.dev0"

__all__ = [
    "DEFAULT_LIMITS",
    "AddressList",
    "ContentDisposition",
    "ContentType",
    "Defect",
    "DefectKind",
    "Group",
    "Header",
    "HeaderInjectionError",
    "Headers",
    "InvalidHeaderNameError",
    "Limits",
    "Mailbox",
    "MalformedMessageError",
    "Message",
    "MimekitError",
    "Parser",
    "Part",
    "PartialJoinError",
    "SourceClosedError",
    "__version__",
    "compose",
    "html_to_text",
    "join_partial",
    "make_message_id",
    "parse",
    "parse_file",
]
