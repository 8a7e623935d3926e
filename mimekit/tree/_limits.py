"""Safe limits for parsing hostile input.

Going past a limit is never a crash: it records a :class:`~mimekit.Defect`
and the rest of the input is kept, byte for byte, in a less-structured form
(an opaque leaf, or body text), so serialization stays lossless.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEFAULT_LIMITS", "Limits"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Limits:
    """Parser limits. All are per message unless noted; change them with
    ``dataclasses.replace(DEFAULT_LIMITS, max_depth=...)`` or ``Limits(...)``.

    Attributes:
        max_depth: How deep multiparts and attached messages may nest. An
            entity deeper than this is kept as an opaque leaf
            (``nesting-too-deep``). CPython has no such limit and hits
            ``RecursionError`` on deep input. It also bounds the time:
            each level of nested multiparts scans its own body for its
            delimiters, so unclosed nesting costs up to ``max_depth``
            passes over the message (raise it and that grows with it).
        max_parts: Body parts per multipart. Beyond it, the rest of the
            multipart body stays inside the last part (``too-many-parts``).
        max_header_block: Bytes in one entity's header block. Beyond it the
            header block ends and the rest is body (``header-block-too-large``).
        max_header_fields: Fields in one header block (``too-many-headers``).
        max_encoded_words: RFC 2047 encoded words decoded per header value;
            the rest stay literal (``too-many-encoded-words``).
        max_line_length: Longest header line accepted without a
            ``header-line-too-long`` defect (RFC 5322 section 2.1.1: 998).
    """

    max_depth: int = 100
    max_parts: int = 10_000
    max_header_block: int = 1 << 20
    max_header_fields: int = 10_000
    max_encoded_words: int = 1_000
    max_line_length: int = 998

    def __post_init__(self) -> None:
        for name in ("max_depth", "max_parts", "max_header_block", "max_header_fields",
                     "max_encoded_words", "max_line_length"):
            if getattr(self, name) < 1:
                raise ValueError(f"Limits.{name} must be at least 1")


#: The limits used when none are given.
DEFAULT_LIMITS = Limits()
