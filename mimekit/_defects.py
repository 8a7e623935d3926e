"""Defects: problems found in input, recorded as data rather than raised.

mimekit never raises on malformed input. Each problem the parser, a field parser
or a body decoder meets becomes a :class:`Defect` attached to the entity (or the
header) where it occurs. ``strict=True`` in :func:`mimekit.parse` turns the
first defect into :class:`~mimekit.MalformedMessageError` instead.

Unlike CPython's ``email.errors`` defects, a :class:`Defect` is not an
exception: it is a frozen, comparable record.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = ["Defect", "DefectKind"]


class DefectKind(enum.Enum):
    """What kind of problem a :class:`Defect` records.

    The value is a short, stable, kebab-case identifier that is safe to log or
    to match on in JSON output.
    """

    # --- header block ----------------------------------------------------
    #: A line in the header block has no colon (or an invalid field name),
    #: so the header block ends there and the line starts the body
    #: (RFC 5322 section 2.1 requires an empty line between them).
    MISSING_HEADER_BODY_SEPARATOR = "missing-header-body-separator"
    #: The header block starts with a continuation line (leading whitespace);
    #: it is kept in the bytes but belongs to no field.
    FIRST_LINE_IS_CONTINUATION = "first-line-is-continuation"
    #: A field name is empty (the line starts with ``:``).
    INVALID_HEADER_NAME = "invalid-header-name"
    #: An mbox ``From`` line appears inside the header block, not at the top.
    MISPLACED_ENVELOPE_HEADER = "misplaced-envelope-header"
    #: A header line is longer than 998 octets (RFC 5322 section 2.1.1).
    HEADER_LINE_TOO_LONG = "header-line-too-long"
    #: The header block is larger than ``Limits.max_header_block``; the rest
    #: is treated as body.
    HEADER_BLOCK_TOO_LARGE = "header-block-too-large"
    #: More header fields than ``Limits.max_header_fields``; the rest is
    #: treated as body.
    TOO_MANY_HEADERS = "too-many-headers"
    #: A bare CR (not followed by LF) occurs where a line ending was expected.
    BARE_CR = "bare-cr"
    #: A NUL octet occurs in a header.
    NUL_IN_HEADER = "nul-in-header"
    #: A field that may occur once (RFC 5322 section 3.6: From, To, Subject,
    #: Message-ID...; RFC 2045: Content-Type...) occurs again. The first one
    #: is what the typed properties read; a second From or Content-Type is a
    #: way to make two programs disagree about a message.
    DUPLICATE_HEADER = "duplicate-header"

    # --- MIME structure --------------------------------------------------
    #: A ``multipart/*`` entity has no ``boundary`` parameter; it is treated
    #: as a single leaf.
    MULTIPART_MISSING_BOUNDARY = "multipart-missing-boundary"
    #: The boundary of a multipart never appears; it is treated as a leaf.
    START_BOUNDARY_NOT_FOUND = "start-boundary-not-found"
    #: A multipart has no close delimiter (``--boundary--``).
    CLOSE_BOUNDARY_NOT_FOUND = "close-boundary-not-found"
    #: The boundary parameter is syntactically invalid (RFC 2046 section 5.1.1:
    #: 1 to 70 characters from a restricted set).
    INVALID_BOUNDARY = "invalid-boundary"
    #: A multipart or message entity has a Content-Transfer-Encoding other
    #: than 7bit, 8bit or binary (RFC 2045 section 6.4).
    INVALID_COMPOSITE_ENCODING = "invalid-composite-encoding"
    #: Nesting is deeper than ``Limits.max_depth``; deeper entities are
    #: kept as opaque leaves.
    NESTING_TOO_DEEP = "nesting-too-deep"
    #: More parts than ``Limits.max_parts``; the rest of the body is kept
    #: in the last part.
    TOO_MANY_PARTS = "too-many-parts"
    #: A delimiter line directly follows another; they count as one.
    DUPLICATE_BOUNDARY = "duplicate-boundary"
    #: A multipart has a boundary but no body parts.
    MULTIPART_WITHOUT_PARTS = "multipart-without-parts"

    # --- transfer encodings ------------------------------------------------
    #: Content-Transfer-Encoding names an unknown mechanism; the body is
    #: returned as is.
    UNKNOWN_TRANSFER_ENCODING = "unknown-transfer-encoding"
    #: Base64 data contains characters outside the alphabet; they are skipped.
    BASE64_INVALID_CHARACTER = "base64-invalid-character"
    #: Base64 data is not a multiple of 4 characters, or padding is wrong.
    BASE64_PADDING = "base64-padding"
    #: Base64 data continues after ``=`` padding.
    BASE64_DATA_AFTER_PADDING = "base64-data-after-padding"
    #: Text that is not base64 follows the padded end of the data (a footer
    #: appended to the body); it is ignored.
    BASE64_TRAILING_TEXT = "base64-trailing-text"
    #: A base64 line is longer than 76 characters (RFC 2045 section 6.8).
    BASE64_LINE_TOO_LONG = "base64-line-too-long"
    #: A quoted-printable ``=`` is not followed by two hex digits or a line
    #: break; it is kept literally.
    QP_INVALID_ESCAPE = "qp-invalid-escape"
    #: A quoted-printable line is longer than 76 characters.
    QP_LINE_TOO_LONG = "qp-line-too-long"
    #: A uuencoded or yEnc block is damaged.
    UUENCODE_INVALID = "uuencode-invalid"
    #: A yEnc block decodes to data whose CRC-32 is not the one its
    #: ``=yend`` line gives (``crc32`` or ``pcrc32``): the data is damaged.
    YENC_CRC_MISMATCH = "yenc-crc-mismatch"
    #: A yEnc block decodes to a different number of bytes than its
    #: ``=ybegin``, ``=ypart`` or ``=yend`` line announces (truncated data).
    YENC_SIZE_MISMATCH = "yenc-size-mismatch"
    #: A yEnc file is split into parts (``=ybegin part=N total=M``) and
    #: not all of them are at hand; what is there is kept.
    YENC_PART_MISSING = "yenc-part-missing"

    # --- header field values ---------------------------------------------
    #: An RFC 2047 encoded word is malformed or names an unknown charset.
    INVALID_ENCODED_WORD = "invalid-encoded-word"
    #: Text could not be decoded with its declared charset; replacement
    #: characters were used or another charset was guessed.
    CHARSET_DECODE_ERROR = "charset-decode-error"
    #: A charset name is not known; a fallback was used.
    UNKNOWN_CHARSET = "unknown-charset"
    #: An address, address list or group does not follow RFC 5322 section 3.4.
    INVALID_ADDRESS = "invalid-address"
    #: A date does not follow RFC 5322 section 3.3 (or is impossible).
    INVALID_DATE = "invalid-date"
    #: A Content-Type, Content-Disposition or parameter is malformed.
    INVALID_CONTENT_TYPE = "invalid-content-type"
    #: A parameter name appears twice; the first one wins.
    DUPLICATE_PARAMETER = "duplicate-parameter"
    #: An RFC 2231 continuation, charset or percent-escape is malformed.
    INVALID_PARAMETER_CONTINUATION = "invalid-parameter-continuation"
    #: A Message-ID (or In-Reply-To / References item) is malformed.
    INVALID_MESSAGE_ID = "invalid-message-id"
    #: Any other malformed structured header value.
    INVALID_HEADER_VALUE = "invalid-header-value"
    #: The input uses syntax the RFC marks obsolete; it is accepted.
    OBSOLETE_SYNTAX = "obsolete-syntax"
    #: More RFC 2047 encoded words than ``Limits.max_encoded_words``; the
    #: rest is left undecoded.
    TOO_MANY_ENCODED_WORDS = "too-many-encoded-words"


@dataclass(frozen=True, slots=True, kw_only=True)
class Defect:
    """One problem found in the input.

    Attributes:
        kind: What went wrong.
        offset: Where, as a byte offset into the parsed input (the whole
            message for parser and body defects; for a field parser called on
            its own, an offset into the text it was given). ``-1`` when no
            position applies.
        detail: A short human-readable explanation.
    """

    kind: DefectKind
    offset: int
    detail: str = ""

    def __str__(self) -> str:
        where = f" at {self.offset}" if self.offset >= 0 else ""
        return f"{self.kind.value}{where}: {self.detail}" if self.detail else (
            f"{self.kind.value}{where}"
        )
