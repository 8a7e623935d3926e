"""Split one entity's header block into raw fields, in one linear pass.

RFC 5322 section 2.2 and 3.6, section 4.5 (obsolete syntax)::

    field        = field-name ":" unstructured CRLF
    field-name   = 1*ftext
    ftext        = %d33-57 / %d59-126          ; printable US-ASCII except ":"
    obs-optional = field-name *WSP ":" unstructured CRLF
    fields       = *field  CRLF  body          ; the empty line ends the block

Deviations, all in the direction of accepting real mail without losing bytes:

* A line ending is CRLF *or* a bare LF (mixed in one message is fine). A bare
  CR is **not** a line ending: it stays inside the value. Treating it as one
  would let a value hide a header from one reader and show it to another.
* Folding: every line that starts with SP or HTAB continues the field above,
  including whitespace-only lines (``obs-FWS``).
* A line that is not a field (no colon, or a space inside the name) ends the
  header block and starts the body, recording ``missing-header-body-separator``;
  CPython's feedparser does the same, so both agree on where the body starts.
  (mime4j instead drops such lines as "bogus headers" up to the next empty
  line, which can swallow the whole body.)
* An mbox ``From`` line is accepted at the very top of a message and kept
  (``Message.mbox_from``); elsewhere in the block it is kept as junk with a
  ``misplaced-envelope-header`` defect.

Nothing is decoded here: a field is kept as the exact bytes it came from.
Per-field checks (long lines, bare CR, NUL) cost a rescan, so they run only
when someone asks for the defects (:meth:`Header.defects`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .._defects import Defect, DefectKind
from ._limits import Limits
from ._source import Source

__all__ = ["HeaderBlock", "RawField", "scan_header_block"]

#: One field (or junk line) as found: ``(name, raw, offset)``. ``name`` is
#: ``""`` for a junk line that belongs to no field; ``raw`` is the whole
#: field, name to line ending, folding kept; ``offset`` is where ``raw``
#: starts in the source. A plain tuple: one is made per field on the hot path.
RawField = tuple[str, bytes, int]

#: One field: name, optional WSP (obs-optional), colon, the rest of the line and
#: every continuation line. Each alternative consumes distinct characters, so
#: the match is linear. ``\Z`` accepts a last field that ends at EOF without a
#: line break. Name bytes are ftext (%d33-57 / %d59-126) plus, leniently,
#: 8-bit bytes (a UTF-8 field name is far likelier a broken header than body
#: text; it gets an ``invalid-header-name`` defect).
_FIELD = re.compile(rb"([!-9;-~\x80-\xff]+)[ \t]*:[^\n]*(?:\n[ \t][^\n]*)*(?:\n|\Z)")
#: A run of lines starting with whitespace (a continuation with no field).
_CONTINUATION = re.compile(rb"[ \t][^\n]*(?:\n[ \t][^\n]*)*(?:\n|\Z)")
#: One line, whatever it holds.
_LINE = re.compile(rb"[^\n]*(?:\n|\Z)")

#: First read when the source is a file; grown up to ``Limits.max_header_block``
#: only for the rare header block that does not fit.
_FIRST_WINDOW = 1 << 16


@dataclass(slots=True)
class HeaderBlock:
    """The result of :func:`scan_header_block`."""

    fields: list[RawField]
    #: An mbox ``From`` line at the top (with its line ending), else ``b""``.
    mbox_from: bytes
    #: The empty line that ends the block: ``b"\r\n"``, ``b"\n"`` or ``b""``
    #: when it is missing.
    separator: bytes
    #: Absolute offset where the body starts.
    body_start: int
    #: The line ending used by the block, for fields added later.
    linesep: bytes
    defects: list[Defect] = field(default_factory=list)
    #: True when the block ended without its empty line but body text
    #: follows (``missing-header-body-separator``, or a limit was hit).
    body_follows: bool = False


def scan_header_block(
    source: Source,
    start: int,
    end: int,
    limits: Limits,
    *,
    allow_mbox_from: bool,
) -> HeaderBlock:
    """Split the header block of the entity in ``[start, end)``.

    Args:
        source: Where the bytes are.
        start: Absolute offset of the entity.
        end: Absolute end of the entity (exclusive).
        limits: ``max_header_block`` and ``max_header_fields`` apply.
        allow_mbox_from: Accept an mbox ``From`` line as the first line
            (top-level messages only).

    Returns:
        The fields, the separator and where the body starts. Empty input gives
        no fields, an empty separator and ``body_start == start``. A block
        that ends at EOF without an empty line is complete, not a defect
        (a message may have no body).
    """
    hard_limit = min(end, start + limits.max_header_block)
    window_end = min(hard_limit, start + _FIRST_WINDOW)
    while True:
        buf, base = source.window(start, window_end)
        final = window_end >= hard_limit
        block = _scan(buf, base, start, window_end, limits, allow_mbox_from,
                      final=final, truncated=final and hard_limit < end)
        if block is not None:
            return block
        # The block ran into the edge of a partial window: read more and
        # rescan (rare: only header blocks larger than the first window).
        window_end = min(hard_limit, start + (window_end - start) * 4)


def _scan(
    buf: bytes,
    base: int,
    start: int,
    limit: int,
    limits: Limits,
    allow_mbox_from: bool,
    *,
    final: bool,
    truncated: bool,
) -> HeaderBlock | None:
    """Scan ``buf`` (whose byte ``i`` is source byte ``base + i``) up to ``limit``.

    Returns None when the block runs into ``limit`` and ``limit`` is only the
    edge of a partial window (not ``final``). When ``truncated``, ``limit`` is
    ``Limits.max_header_block`` rather than the end of the entity: a field
    that reaches it is cut off, and the block ends before it.
    """
    pos = start - base
    stop = limit - base
    fields: list[RawField] = []
    defects: list[Defect] = []
    mbox_from = b""
    separator = b""
    max_fields = limits.max_header_fields
    field_match = _FIELD.match

    if allow_mbox_from and buf.startswith(b"From ", pos):
        m = _LINE.match(buf, pos, stop)
        assert m is not None  # _LINE matches anything, even empty
        if m.end() == stop and (not final or truncated):
            return None if not final else _too_large(buf, base, start, pos, stop, [], defects,
                                                    b"")
        mbox_from = m.group()
        pos = m.end()

    while pos < stop:
        m = field_match(buf, pos, stop)
        name = ""
        if m is None:
            c = buf[pos]
            if c == 0x0A:
                separator = b"\n"
                pos += 1
                break
            if c == 0x0D and pos + 1 < stop and buf[pos + 1] == 0x0A:
                separator = b"\r\n"
                pos += 2
                break
            if c == 0x0D and pos + 1 == stop and not final:
                return None  # a CRLF split by the window edge
            if c in (0x20, 0x09):
                m = _CONTINUATION.match(buf, pos, stop)
                defects.append(Defect(kind=DefectKind.FIRST_LINE_IS_CONTINUATION,
                                      offset=base + pos,
                                      detail="continuation line without a field above it"))
            elif c == 0x3A or buf.startswith(b"From ", pos):
                m = _LINE.match(buf, pos, stop)
                if c == 0x3A:
                    defects.append(Defect(kind=DefectKind.INVALID_HEADER_NAME, offset=base + pos,
                                          detail="header line with an empty field name"))
                else:
                    defects.append(Defect(kind=DefectKind.MISPLACED_ENVELOPE_HEADER,
                                          offset=base + pos,
                                          detail="mbox 'From ' line inside the header block"))
            else:
                defects.append(Defect(kind=DefectKind.MISSING_HEADER_BODY_SEPARATOR,
                                      offset=base + pos,
                                      detail="line is not a header field; the body starts here"))
                break
            assert m is not None
        else:
            raw_name = m.group(1)
            if raw_name.isascii():
                name = raw_name.decode("ascii")
            else:
                name = raw_name.decode("utf-8", "replace")
                defects.append(Defect(kind=DefectKind.INVALID_HEADER_NAME, offset=base + pos,
                                      detail=f"8-bit bytes in field name {name!r}"))
        if m.end() == stop and (not final or truncated):
            # The field (or junk line) reaches the window edge, so it may go on.
            if not final:
                return None
            return _too_large(buf, base, start, pos, stop, fields, defects, mbox_from)
        fields.append((name, m.group(), base + pos))
        pos = m.end()
        if len(fields) >= max_fields and pos < stop:
            defects.append(Defect(kind=DefectKind.TOO_MANY_HEADERS, offset=base + pos,
                                  detail=f"more than {max_fields} header fields"))
            break
    else:
        if not final:
            return None

    return HeaderBlock(fields, mbox_from, separator, base + pos,
                       _block_linesep(fields, separator, buf, start - base, stop), defects,
                       body_follows=not separator and pos < stop)


def _too_large(
    buf: bytes,
    base: int,
    start: int,
    pos: int,
    stop: int,
    fields: list[RawField],
    defects: list[Defect],
    mbox_from: bytes,
) -> HeaderBlock:
    """End the block before the field that crosses ``Limits.max_header_block``."""
    defects.append(Defect(kind=DefectKind.HEADER_BLOCK_TOO_LARGE, offset=base + pos,
                          detail="header block exceeds the limit; the rest is body"))
    return HeaderBlock(fields, mbox_from, b"", base + pos,
                       _block_linesep(fields, b"", buf, start - base, stop), defects,
                       body_follows=True)


def _block_linesep(fields: list[RawField], separator: bytes, buf: bytes, pos: int,
                   stop: int) -> bytes:
    """The line ending new fields should use: the block's own, else CRLF."""
    for _, raw, _ in fields:
        if raw.endswith(b"\n"):
            return b"\r\n" if raw.endswith(b"\r\n") else b"\n"
    if separator:
        return separator
    nl = buf.find(b"\n", pos, min(stop, pos + 4096))
    if nl >= 0:
        return b"\r\n" if nl > pos and buf[nl - 1] == 0x0D else b"\n"
    return b"\r\n"
