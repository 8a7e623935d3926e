"""Find the body parts of a multipart, in one linear pass over its body.

RFC 2046 section 5.1.1::

    multipart-body    := [preamble CRLF]
                         dash-boundary transport-padding CRLF
                         body-part *encapsulation
                         close-delimiter transport-padding
                         [CRLF epilogue]
    dash-boundary     := "--" boundary
    delimiter         := CRLF dash-boundary
    close-delimiter   := delimiter "--"
    encapsulation     := delimiter transport-padding CRLF body-part
    transport-padding := *LWSP-char

So the line break *before* a delimiter line belongs to the delimiter, not to
the part above it. Every byte of the body ends up in exactly one span
(preamble, delimiter line, part, close line, epilogue), which is what makes
re-serialization lossless.

Choices, for real mail:

* A delimiter line may end in LF as well as CRLF, and may be the last line
  with no line break at all.
* RFC 2046 says "an exact match of the entire candidate line is not
  required; it is sufficient that the boundary appear in its entirety
  following the CRLF". mimekit takes that with one guard: after the boundary
  (and an optional ``--``) must come the end of the line or whitespace, and
  then anything. So ``--abc trailing words`` is a delimiter, but ``--abcd``
  is not a delimiter for boundary ``abc``: that is how nested multiparts with
  prefix-sharing boundaries (``abc`` outside, ``abcd`` inside) stay apart.
  CPython accepts only transport padding after the boundary; the two differ
  only on lines with junk after whitespace.
* After the close delimiter everything is epilogue, even a line that looks
  like another delimiter.
* Two delimiter lines in a row are one duplicated delimiter (a defect), not
  an empty part: the strict grammar has no reading for them, and CPython and
  mime4j both collapse them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from .._defects import Defect, DefectKind
from ._source import Source

__all__ = ["MultipartLayout", "scan_multipart"]

#: RFC 2046: bchars := bcharsnospace / " "; boundary := 0*69<bchars> bcharsnospace
_VALID_BOUNDARY = re.compile(rb"[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]")
#: What may follow a dash-boundary (after an optional "--"): nothing, or
#: whitespace and then anything up to the end of the line.
_AFTER_BOUNDARY = re.compile(rb"\r?|[ \t][^\n]*")
#: A delimiter line longer than this is not believed to be one (it would be
#: megabytes of transport padding); keeps the check bounded.
_MAX_PADDING = 1 << 16


@dataclass(slots=True)
class MultipartLayout:
    """Where everything in a multipart body is. All offsets are absolute."""

    boundary: bytes
    #: The preamble is ``[body_start, preamble_end)``.
    preamble_end: int
    #: Each opening delimiter: ``(start, end)``, the preceding line break
    #: included; part ``i`` starts at ``delimiters[i][1]``.
    delimiters: list[tuple[int, int]] = field(default_factory=list)
    #: Each part: ``(start, end)``.
    parts: list[tuple[int, int]] = field(default_factory=list)
    #: The close delimiter line ``(start, end)``, or None when missing.
    close: tuple[int, int] | None = None
    #: The epilogue is ``[epilogue_start, end)``.
    epilogue_start: int = 0
    defects: list[Defect] = field(default_factory=list)


def scan_multipart(
    source: Source,
    body_start: int,
    end: int,
    boundary: bytes,
    *,
    max_parts: int,
) -> MultipartLayout | None:
    """Split the multipart body in ``[body_start, end)`` on ``boundary``.

    Returns:
        The layout, or None when no delimiter line is found at all (the
        caller then treats the entity as a leaf with a
        ``start-boundary-not-found`` defect).
    """
    defects: list[Defect] = []
    if not _VALID_BOUNDARY.fullmatch(boundary):
        defects.append(Defect(kind=DefectKind.INVALID_BOUNDARY, offset=body_start,
                              detail=f"boundary {boundary[:80]!r} is not valid per RFC 2046"))
    opens: list[tuple[int, int]] = []
    close: tuple[int, int] | None = None
    prev_end = body_start
    for line_start, line_end, is_close in _delimiter_lines(source, body_start, end,
                                                          b"--" + boundary):
        # The line break before the delimiter belongs to it, unless the
        # previous delimiter line already owns it (two delimiter lines in a
        # row around an empty part).
        start = line_start
        if line_start > body_start:
            start = line_start - 1
            if start > prev_end and source.read(start - 1, start) == b"\r":
                start -= 1
            start = max(start, prev_end)
        if is_close:
            close = (start, line_end)
            break
        if opens and line_start == prev_end:
            # A delimiter line straight after another one: CPython and
            # mime4j read this as one duplicated delimiter, not as an empty
            # part with no headers and no body. Fold it into the one above.
            defects.append(Defect(kind=DefectKind.DUPLICATE_BOUNDARY, offset=line_start,
                                  detail="delimiter line repeated; no part between them"))
            opens[-1] = (opens[-1][0], line_end)
            prev_end = line_end
            continue
        if len(opens) >= max_parts:
            if len(opens) == max_parts:
                defects.append(Defect(kind=DefectKind.TOO_MANY_PARTS, offset=start,
                                      detail=f"more than {max_parts} body parts; the rest "
                                      "stays in the last part"))
                max_parts = -1  # report once; keep looking for the close line only
            continue
        opens.append((start, line_end))
        prev_end = line_end

    if not opens and close is None:
        return None
    first = opens[0] if opens else close
    assert first is not None
    layout = MultipartLayout(boundary=boundary, preamble_end=first[0], delimiters=opens,
                             close=close, defects=defects)
    for i, (_, part_start) in enumerate(opens):
        if i + 1 < len(opens):
            part_end = opens[i + 1][0]
        elif close is not None:
            part_end = close[0]
        else:
            part_end = end
        layout.parts.append((part_start, part_end))
    if close is None:
        layout.epilogue_start = end
        defects.append(Defect(kind=DefectKind.CLOSE_BOUNDARY_NOT_FOUND, offset=end,
                              detail="multipart has no close delimiter"))
    else:
        layout.epilogue_start = close[1]
    if not opens:
        defects.append(Defect(kind=DefectKind.MULTIPART_WITHOUT_PARTS, offset=body_start,
                              detail="multipart has a close delimiter but no body parts"))
    return layout


def _delimiter_lines(source: Source, body_start: int, end: int,
                     dash: bytes) -> Iterator[tuple[int, int, bool]]:
    """Yield ``(line_start, line_end, is_close)`` for each delimiter line.

    A candidate is a dash-boundary at the start of a line: at the very start
    of the body, or right after an LF. Each byte is looked at a bounded
    number of times, so the scan is linear in the body size.
    """
    dash_len = len(dash)
    if source.read(body_start, body_start + dash_len) == dash:
        line_end, kind = _classify(source, body_start + dash_len, end)
        if kind is not None:
            yield body_start, line_end, kind
    needle = b"\n" + dash
    pos = body_start
    while True:
        hit = source.find(needle, pos, end)
        if hit < 0:
            return
        line_start = hit + 1
        line_end, kind = _classify(source, line_start + dash_len, end)
        if kind is not None:
            yield line_start, line_end, kind
        # The next candidate's LF is at or after the end of this dash-boundary.
        pos = line_start + dash_len


def _classify(source: Source, after: int, end: int) -> tuple[int, bool | None]:
    """Look at what follows a dash-boundary at ``after``.

    Returns ``(line_end, kind)``: ``line_end`` is just past the line break
    (or ``end``); ``kind`` is False for an opening delimiter, True for the
    close delimiter, None when the line is not a delimiter at all.
    """
    nl = source.find(b"\n", after, min(end, after + _MAX_PADDING))
    if nl < 0:
        if end - after > _MAX_PADDING:
            return after, None
        line_end = end
        rest = source.read(after, end)
    else:
        line_end = nl + 1
        rest = source.read(after, nl)
    is_close = rest.startswith(b"--")
    if is_close:
        rest = rest[2:]
    if not _AFTER_BOUNDARY.fullmatch(rest):
        return after, None
    return line_end, is_close
