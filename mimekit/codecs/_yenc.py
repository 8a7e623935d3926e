"""yEnc: binary files carried as 8-bit text in Usenet articles and old mail.

yEnc 1.3 (J. Helbing, 2002, http://www.yenc.org/yenc-draft.1.3.txt) is not
a MIME transfer encoding: the encoded file sits in the *text* of a body,
between keyword lines. In the draft's notation (simplified)::

    block       = ybegin-line [ypart-line] *data-line yend-line
    ybegin-line = "=ybegin" [" part=" n [" total=" n]] " line=" n " size=" n
                  " name=" name CRLF             ; name is last, spaces allowed
    ypart-line  = "=ypart begin=" n " end=" n CRLF  ; 1-based, inclusive
    yend-line   = "=yend size=" n [" part=" n " pcrc32=" hex] [" crc32=" hex] CRLF
    data-line   = *(encoded-char / "=" escaped-char) CRLF

Encoding is ``O = (I + 42) mod 256``. The critical outputs NUL, LF, CR and
``=`` (and, by some encoders, TAB, SPACE or ``.`` at the edges of a line)
are written as ``=`` followed by ``(O + 64) mod 256``. ``line=`` is the
line length the encoder aimed at (a line may be one longer, when it ends
with an escape). ``size=`` on ``=ybegin`` is the size of the whole file, on
``=yend`` the size of this part. ``pcrc32`` is the CRC-32 of this part,
``crc32`` of the whole file.

Decoding, leniently (as readers do):

* CR and LF inside data are dropped; an escape is ``=`` and the next byte,
  whatever it is. The draft never splits an escape over two lines; when a
  broken encoder does, the ``=`` escapes the first byte of the next line
  (the line break is dropped first). A lone ``=`` at the very end of the
  data is dropped, with a defect.
* A line that starts with ``=y`` inside data is a keyword line and never
  data: an encoder never writes ``=y`` (it would escape the output byte
  ``9``, which is not critical). ``=yend`` ends the block, ``=ybegin``
  starts the next one, any other is skipped with a defect.
* A missing ``=yend``: the block ends where the announced size is reached,
  or at the end of the text (defect ``uuencode-invalid``).
* Wrong sizes and CRCs are defects (``yenc-size-mismatch``,
  ``yenc-crc-mismatch``); the data is kept.

Deviation from MimeKit's ``YDecoder``: an ``=x`` (an escape) at the start of
the first data line decodes as the escape it is; MimeKit drops the ``=``.

Multipart files (``part=``/``total=``): :func:`find_yenc` reports each part
as its own :class:`YEncBlock`; :func:`join_yenc` puts parts back together,
from one message or from several.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable
from dataclasses import dataclass

from .._defects import Defect, DefectKind
from .._errors import MimekitError
from ._common import BytesLike, DefectLog

__all__ = ["YEncBlock", "YEncJoinError", "decode_yenc", "find_yenc", "join_yenc"]

#: Most blocks one call of :func:`find_yenc` reports.
DEFAULT_MAX_BLOCKS = 10_000

#: ``(c - 42) mod 256`` for every byte: the whole decoding, once escapes are undone.
_MINUS_42 = bytes((c - 42) & 0xFF for c in range(256))
#: An escape: ``=`` and any one byte (a line break was removed before).
_ESCAPE = re.compile(rb"=(.)", re.DOTALL)
_UNESCAPED = [bytes([(c - 64) & 0xFF]) for c in range(256)]


def _unescape(match: re.Match[bytes]) -> bytes:
    return _UNESCAPED[match.group(1)[0]]


class YEncJoinError(MimekitError, ValueError):
    """:func:`join_yenc` was given blocks that do not make one file.

    The blocks are the caller's choice, so this is a caller error (a
    ``ValueError``): parts of different files, a part given twice with
    different data, or parts missing.

    Attributes:
        missing: True when the only problem is that parts are missing.
    """

    def __init__(self, message: str, *, missing: bool = False) -> None:
        super().__init__(message)
        self.missing = missing


@dataclass(frozen=True, slots=True, kw_only=True)
class YEncBlock:
    """One yEnc block (a whole file, or one part of one) found by :func:`find_yenc`.

    Attributes:
        start: Offset of the ``=ybegin`` line (plus the ``offset`` given).
        stop: Offset just past the block (after ``=yend``, or where it was
            cut short).
        name: The ``name=`` of ``=ybegin``, raw bytes; None when missing.
        data: The decoded bytes of this block.
        size: The size of the whole file (``=ybegin size=``), or None.
        part: The part number (``=ybegin part=``), None for a single-part file.
        total: The number of parts (``total=``, yEnc 1.2), or None.
        begin: First byte of this part in the file (``=ypart begin=``, 1-based).
        end: Last byte of this part in the file (``=ypart end=``, inclusive).
        crc32: The whole file's CRC-32 from ``=yend crc32=`` (checked here for
            a single-part file, by :func:`join_yenc` for parts), or None.
        complete: Whether the block ended with its ``=yend`` line.
        defects: What was wrong with the block (offsets as ``start``).
    """

    start: int
    stop: int
    name: bytes | None
    data: bytes
    size: int | None = None
    part: int | None = None
    total: int | None = None
    begin: int | None = None
    end: int | None = None
    crc32: int | None = None
    complete: bool = True
    defects: tuple[Defect, ...] = ()

    @property
    def filename(self) -> str | None:
        """:attr:`name` as text: UTF-8 when valid, else Latin-1."""
        if self.name is None:
            return None
        try:
            return self.name.decode("utf-8")
        except UnicodeDecodeError:
            return self.name.decode("latin-1")


# -- keyword lines -----------------------------------------------------------------


def _keywords(rest: bytes) -> dict[bytes, bytes]:
    """The ``key=value`` pairs after ``=ybegin``/``=ypart``/``=yend``.

    ``name=`` is last and runs to the end of the line (names may contain
    spaces); leading and trailing spaces of the name are ignored (draft 1.3).
    The first of a repeated key wins.
    """
    head, sep, name = (b" " + rest).partition(b" name=")
    found: dict[bytes, bytes] = {}
    for token in head.split():
        key, eq, value = token.partition(b"=")
        if eq:
            found.setdefault(key.lower(), value)
    if sep and name.strip(b" \t"):
        found[b"name"] = name.strip(b" \t")
    return found


def _number(words: dict[bytes, bytes], key: bytes) -> int | None:
    value = words.get(key)
    # 19 digits fit any real size; more is hostile (int() of huge text is slow).
    return int(value) if value and value.isdigit() and len(value) <= 19 else None


def _hex(words: dict[bytes, bytes], key: bytes) -> int | None:
    value = words.get(key)
    if value is None:
        return None
    value = value.lower().removeprefix(b"0x")
    if not 1 <= len(value) <= 8 or value.strip(b"0123456789abcdef"):
        return None
    return int(value, 16)


def _is_keyword(line: bytes, word: bytes) -> bool:
    """Does ``line`` start with keyword ``word`` (followed by a space or nothing)?"""
    return line.startswith(word) and (len(line) == len(word) or line[len(word)] in b" \t")


def _line_at(buf: bytes, pos: int) -> tuple[bytes, int]:
    """The line at ``pos`` without its ending, and where the next one starts."""
    eol = buf.find(b"\n", pos)
    after = len(buf) if eol < 0 else eol + 1
    return buf[pos:after].rstrip(b"\r\n"), after


def _next_keyword_line(buf: bytes, pos: int) -> int:
    """Start of the first line at or after ``pos`` (a line start) that begins with ``=y``."""
    if buf.startswith(b"=y", pos):
        return pos
    i = buf.find(b"\n=y", pos)
    return len(buf) if i < 0 else i + 1


def _decode(data: bytes) -> tuple[bytes, bool]:
    """Decode yEnc data (line breaks included); ``(bytes, had a dangling '=')``."""
    data = data.replace(b"\r", b"").replace(b"\n", b"")
    # Escapes pair up left to right, and a run of "=" can only start a
    # pair (the byte before it is not "="): an odd run at the very end
    # leaves a lone escape with nothing to escape.
    dangling = (len(data) - len(data.rstrip(b"="))) % 2 == 1
    if dangling:
        data = data[:-1]
    if b"=" in data:
        data = _ESCAPE.sub(_unescape, data)
    return data.translate(_MINUS_42), dangling


# -- finding blocks -----------------------------------------------------------------


def find_yenc(data: BytesLike, *, offset: int = 0,
              max_blocks: int = DEFAULT_MAX_BLOCKS) -> list[YEncBlock]:
    """Find the yEnc blocks in text, in order.

    A block starts at a line ``=ybegin`` followed by a space and keywords
    (``=ybegin2``, ``=ybeginx`` and a bare ``=ybegin`` are text). A
    ``=ybegin`` with no data and no ``=yend`` is not reported.

    Linear in ``len(data)``: each line is looked at a bounded number of times.

    Args:
        data: The text, as bytes (a text part's decoded body).
        offset: Added to every offset reported.
        max_blocks: Stop after this many blocks.

    Returns:
        The blocks in order; parts of a multipart file are separate blocks
        (see :func:`join_yenc`). Empty when there is none (one ``bytes.find``).
    """
    buf = bytes(data)
    blocks: list[YEncBlock] = []
    pos = 0
    while len(blocks) < max_blocks:
        i = buf.find(b"=ybegin", pos)
        if i < 0:
            break
        if i and buf[i - 1] != 0x0A:
            pos = i + 7  # not at the start of a line
            continue
        line, after = _line_at(buf, i)
        words = _keywords(line[7:]) if _is_keyword(line, b"=ybegin") else {}
        if not words.keys() & {b"line", b"size", b"name", b"part"}:
            pos = after
            continue
        block = _read_block(buf, i, after, words, offset)
        if block is None:
            pos = after
            continue
        blocks.append(block)
        pos = block.stop - offset
    return blocks


def _read_block(buf: bytes, start: int, pos: int, head: dict[bytes, bytes],
                offset: int) -> YEncBlock | None:
    """Read one block whose ``=ybegin`` line ends at ``pos``."""
    log = DefectLog()
    size, part, line_length = _number(head, b"size"), _number(head, b"part"), _number(head, b"line")
    if size is None:
        log.add(DefectKind.UUENCODE_INVALID, start + offset, "=ybegin without a valid size=")
    if b"name" not in head:
        log.add(DefectKind.UUENCODE_INVALID, start + offset, "=ybegin without a name=")
    begin = end = None
    if part is not None:
        line, after = _line_at(buf, pos)
        if _is_keyword(line, b"=ypart"):
            words = _keywords(line[6:])
            begin, end = _number(words, b"begin"), _number(words, b"end")
            if begin is None or end is None or not 1 <= begin <= end:
                log.add(DefectKind.UUENCODE_INVALID, pos + offset, "=ypart without a valid range")
                begin = end = None
            pos = after
        else:
            log.add(DefectKind.UUENCODE_INVALID, pos + offset, "=ybegin part= without =ypart")
    # How many bytes this block should decode to.
    expected = end - begin + 1 if begin is not None and end is not None else (
        size if part is None else None)

    chunks: list[bytes] = []
    tail: dict[bytes, bytes] | None = None
    while True:
        k = _next_keyword_line(buf, pos)
        if k > pos:
            chunks.append(buf[pos:k])
        if k >= len(buf):
            stop = len(buf)
            break
        line, after = _line_at(buf, k)
        if _is_keyword(line, b"=yend"):
            tail, stop = _keywords(line[5:]), after
            break
        if _is_keyword(line, b"=ybegin"):
            stop = k  # the next block starts: this one lost its =yend
            break
        log.add(DefectKind.UUENCODE_INVALID, k + offset, "unexpected yEnc keyword line skipped")
        pos = after

    region = b"".join(chunks)
    if tail is None:
        if not region.strip(b"\r\n"):
            return None  # "=ybegin" and nothing: text, not a block
        if expected is not None:
            region, stop = _cut_at_size(region, stop - len(region), expected)
        log.add(DefectKind.UUENCODE_INVALID, stop + offset, "no =yend line")
    data, dangling = _decode(region)
    if dangling:
        log.add(DefectKind.UUENCODE_INVALID, stop + offset, "data ends with a lone '='")
    if line_length is not None and region:
        longest = max(map(len, region.replace(b"\r", b"").split(b"\n")))
        # An escape at the end of a line may make it one longer.
        if longest > line_length + 1:
            log.add(DefectKind.UUENCODE_INVALID, start + offset,
                    f"a line is longer than line={line_length}")
    crc = _check(log, data, tail, part, expected, start + offset)
    return YEncBlock(
        start=start + offset, stop=stop + offset, name=head.get(b"name"), data=data,
        size=size, part=part, total=_number(head, b"total"), begin=begin, end=end,
        crc32=crc, complete=tail is not None, defects=tuple(log.defects))


def _cut_at_size(region: bytes, base: int, expected: int) -> tuple[bytes, int]:
    """Without ``=yend``, keep the lines up to the announced size.

    ``base`` is the offset of ``region`` in the text. Returns the kept lines
    and the offset where the block stops. Only runs for damaged blocks.
    """
    got = 0
    pos = 0
    while pos < len(region) and got < expected:
        eol = region.find(b"\n", pos)
        after = len(region) if eol < 0 else eol + 1
        got += len(_decode(region[pos:after])[0])
        pos = after
    return region[:pos], base + pos


def _check(log: DefectLog, data: bytes, tail: dict[bytes, bytes] | None, part: int | None,
           expected: int | None, where: int) -> int | None:
    """Compare the data with the sizes and CRCs announced; return the file CRC."""
    announced = {expected} if expected is not None else set()
    if tail is not None:
        part_size = _number(tail, b"size")
        if part_size is not None:
            announced.add(part_size)
        tail_part = _number(tail, b"part")
        if tail_part is not None and tail_part != part:
            log.add(DefectKind.UUENCODE_INVALID, where,
                    f"=yend part={tail_part} in a block of part={part}")
    if announced - {len(data)}:
        log.add(DefectKind.YENC_SIZE_MISMATCH, where,
                f"decoded {len(data)} bytes, announced {sorted(announced)}")
    if tail is None:
        return None
    file_crc = _hex(tail, b"crc32")
    part_crc = _hex(tail, b"pcrc32")
    # A single-part file's data is the whole file: both CRCs apply to it.
    wanted = [part_crc] if part is not None else [part_crc, file_crc]
    actual = zlib.crc32(data)
    for value in wanted:
        if value is not None and value != actual:
            log.add(DefectKind.YENC_CRC_MISMATCH, where,
                    f"CRC-32 is {actual:08x}, =yend says {value:08x}")
            break
    return file_crc


def decode_yenc(data: BytesLike, *, offset: int = 0) -> tuple[bytes, list[Defect]]:
    """Decode the first yEnc block in ``data``.

    Returns:
        ``(decoded, defects)``. Without a ``=ybegin`` line: ``b""`` and a
        ``uuencode-invalid`` defect.
    """
    blocks = find_yenc(data, offset=offset, max_blocks=1)
    if not blocks:
        return b"", [Defect(kind=DefectKind.UUENCODE_INVALID, offset=offset,
                            detail="no =ybegin line")]
    return blocks[0].data, list(blocks[0].defects)


# -- joining parts ------------------------------------------------------------------


def join_yenc(blocks: Iterable[YEncBlock]) -> tuple[bytes, list[Defect]]:
    """Put the parts of a multipart yEnc file back together.

    The parts may come from one message or several (each article of a
    Usenet multipart post holds one), in any order; a part given twice with
    the same data counts once. A single-part block comes back as it is.

    Args:
        blocks: Blocks from :func:`find_yenc`, all of the same file.

    Returns:
        ``(data, defects)``: the file, and what is wrong with the whole
        (``yenc-size-mismatch`` when the parts do not add up to ``size=``,
        ``yenc-crc-mismatch`` when the file's ``crc32=`` does not match).
        Each block's own defects stay in its :attr:`YEncBlock.defects`.

    Raises:
        YEncJoinError: no blocks; blocks of different files (names or
            sizes differ); a part given twice with different data; a part
            missing (by part number, ``total=``, or a gap in the
            ``=ypart`` byte ranges).
    """
    items = list(blocks)
    if not items:
        raise YEncJoinError("no yEnc blocks to join")
    if len({b.name for b in items}) > 1 or len({b.size for b in items if b.size is not None}) > 1:
        raise YEncJoinError("the blocks belong to different files (names or sizes differ)")
    if any(b.part is None for b in items):
        if len({b.data for b in items}) > 1 or any(b.part is not None for b in items):
            raise YEncJoinError("a single-part yEnc file cannot be joined with other blocks")
        return items[0].data, []
    parts: dict[int, YEncBlock] = {}
    for b in items:
        assert b.part is not None
        seen = parts.setdefault(b.part, b)
        if seen.data != b.data:
            raise YEncJoinError(f"part {b.part} is given twice, with different data")
    totals = {b.total for b in items if b.total is not None}
    if len(totals) > 1:
        raise YEncJoinError(f"the blocks disagree on total= ({sorted(totals)})")
    last = max(parts)
    count = totals.pop() if totals else last
    if last > count:
        raise YEncJoinError(f"part {last} is beyond total={count}")
    missing: list[int] = []
    for n in range(1, count + 1):
        # Stops within len(parts) + 11 steps, whatever total= says.
        if n not in parts:
            missing.append(n)
            if len(missing) > 10:
                break
    if missing:
        raise YEncJoinError(f"yEnc parts missing: {_ranges(missing)} (of {count})",
                            missing=True)
    ordered = [parts[n] for n in sorted(parts)]
    _check_ranges(ordered)
    data = b"".join(b.data for b in ordered)
    defects: list[Defect] = []
    size = next((b.size for b in ordered if b.size is not None), None)
    if size is not None and size != len(data):
        defects.append(Defect(kind=DefectKind.YENC_SIZE_MISMATCH, offset=-1,
                              detail=f"the parts give {len(data)} bytes, size={size}"))
    actual = zlib.crc32(data)
    for crc in sorted({b.crc32 for b in ordered if b.crc32 is not None}):
        if crc != actual:
            defects.append(Defect(kind=DefectKind.YENC_CRC_MISMATCH, offset=-1,
                                  detail=f"CRC-32 is {actual:08x}, crc32= says {crc:08x}"))
            break
    return data, defects


def _check_ranges(ordered: list[YEncBlock]) -> None:
    """Raise if the ``=ypart`` byte ranges leave a gap (a part is missing)."""
    expect = 1
    for b in ordered:
        if b.begin is None or b.end is None:
            return  # no ranges to go by: the part numbers were checked
        if b.begin > expect:
            raise YEncJoinError(f"bytes {expect} to {b.begin - 1} are missing "
                                f"(before part {b.part})", missing=True)
        expect = max(expect, b.end + 1)
    size = ordered[-1].size
    if size is not None and expect <= size:
        raise YEncJoinError(f"bytes {expect} to {size} are missing "
                            f"(after part {ordered[-1].part})", missing=True)


def _ranges(numbers: list[int]) -> str:
    """``[1, 2, 3, 5]`` -> ``"1-3, 5"`` (at most a few runs: input may be hostile)."""
    runs: list[str] = []
    first = prev = numbers[0]
    for n in [*numbers[1:], None]:
        if n is not None and n == prev + 1:
            prev = n
            continue
        runs.append(str(first) if first == prev else f"{first}-{prev}")
        if len(runs) == 5 and n is not None:
            runs.append("...")
            break
        if n is not None:
            first = prev = n
    return ", ".join(runs)
