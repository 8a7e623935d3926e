"""Files inside text: uuencoded and yEnc blocks as virtual attachments.

Before MIME, and for long after it on Usenet, a file was sent *inside* the
text of a message: uuencoded between ``begin 644 name`` and ``end``, or
yEnc-encoded between ``=ybegin ... name=...`` and ``=yend``. A MIME reader
shows such a message as one text part full of gibberish. Mail clients that
know the convention (Thunderbird, newsreaders) show the files as
attachments, and so does mimekit:
:attr:`Message.attachments <mimekit.Message.attachments>` lists, after the
MIME attachments, one *virtual part* per file found in the text of each
``text/plain`` part of the text body.

A virtual part is a real :class:`~mimekit.Part` over synthetic bytes: a
small header block (``Content-Type`` guessed from the file name,
``Content-Disposition: attachment; filename=...``,
``Content-Transfer-Encoding: binary``) and the decoded file. So
``filename``, ``get_bytes()``, ``save()`` and ``content_type`` work as for
any attachment. It is not part of the tree: ``walk()``, ``bytes(msg)`` and
``all_defects()`` do not see it, and the text part keeps its text.
:attr:`Part.embedded_in <mimekit.Part.embedded_in>` is the text part it
came from. Its ``defects`` include the decoding defects of the block
(damaged lines, CRC mismatch...), with offsets into the text part's
decoded body.

Decisions:

* Only ``text/plain`` parts of the text body are searched: those are what
  the reader would see as gibberish. A ``.txt`` *attachment* that holds a
  uuencoded file is left as the attachment it is, and a part whose
  transfer encoding is ``x-uuencode`` is already decoded by its encoding.
* The yEnc parts of one file found in one message are joined
  (:func:`~mimekit.codecs.join_yenc`). When parts are missing (a Usenet
  post splits a file over several articles), each part present is its own
  virtual part, with a ``yenc-part-missing`` defect; join the articles'
  blocks with :func:`~mimekit.codecs.join_yenc`.
* The file name is the one in the block, reduced to its last path
  component, with control characters replaced by ``_`` (it is shown to
  users and often used to save the file).
* Cost: each text part is streamed once to look for "begin "; only when
  that occurs is the body decoded and searched (in linear time). At most
  ``Limits.max_parts`` blocks of each kind are taken from one text part.
"""

from __future__ import annotations

import contextlib
import mimetypes
from typing import Any

from .._defects import Defect, DefectKind
from ..codecs import UUBlock, YEncBlock, YEncJoinError, decode_bytes, find_uu, find_yenc, join_yenc
from ..fields import ContentDisposition, ContentType
from ._body import UUENCODE_NAMES
from ._headers import Header
from ._part import Part
from ._source import BytesSource

__all__ = ["EmbeddedPart", "embedded_parts"]

#: Both markers contain this ("=ybegin " too), so one search rules both out.
_MARKER = b"begin "
#: What a compressed file's ``mimetypes`` "encoding" means as a MIME type
#: (``a.tar.gz`` is gzip data, not ``application/x-tar``).
_COMPRESSED = {
    "gzip": "application/gzip",
    "bzip2": "application/x-bzip2",
    "xz": "application/x-xz",
    "compress": "application/x-compress",
    "br": "application/x-brotli",
}
#: Longest file name kept (common file systems allow 255).
_MAX_NAME = 255
_LINESEP = b"\r\n"


class EmbeddedPart(Part):
    """A virtual part: a file decoded from a uuencoded or yEnc block in a text part.

    Made by :func:`embedded_parts`; see the module docstring.
    """

    __slots__ = ("_embedded_defects", "_embedded_in")

    def __init__(self, raw: bytes, *, embedded_in: Part, defects: tuple[Defect, ...],
                 **kwargs: Any) -> None:
        super().__init__(BytesSource(raw), 0, len(raw), **kwargs)
        self._embedded_in = embedded_in
        self._embedded_defects = defects

    @property
    def embedded_in(self) -> Part | None:
        """The text part this file was decoded from."""
        return self._embedded_in

    @property
    def defects(self) -> tuple[Defect, ...]:
        """The part's own defects, then those of decoding the block (offsets
        into the decoded body of :attr:`embedded_in`)."""
        return (*super().defects, *self._embedded_defects)


def embedded_parts(part: Part) -> list[Part]:
    """The virtual parts for the uuencoded and yEnc files in a text leaf.

    Args:
        part: A ``text/plain`` leaf (the caller chooses which parts to search).

    Returns:
        One :class:`EmbeddedPart` per file, in the order of the text. Empty
        (after one streamed pass over the body) when the text has no
        "begin " at all.
    """
    if part.transfer_encoding in UUENCODE_NAMES or not _mentions_marker(part):
        return []
    data = part.get_bytes()
    limit = part._limits.max_parts
    found: list[UUBlock | YEncBlock] = [*find_uu(data, max_blocks=limit),
                                        *find_yenc(data, max_blocks=limit)]
    found.sort(key=lambda b: b.start)
    blocks: list[UUBlock | YEncBlock] = []
    taken_to = 0
    for block in found:
        # A "begin " line inside yEnc data (or the reverse) is not a block.
        if block.start >= taken_to:
            blocks.append(block)
            taken_to = block.stop
    files = _join_parts(blocks)
    return [_virtual_part(part, name, payload, defects) for name, payload, defects in files]


def _mentions_marker(part: Part) -> bool:
    """Stream the decoded body once, looking for "begin " (bounded memory)."""
    tail = b""
    for chunk in part.iter_bytes():
        if _MARKER in chunk or _MARKER in tail + chunk[:len(_MARKER) - 1]:
            return True
        tail = chunk[-(len(_MARKER) - 1):]
    return False


_File = tuple[bytes | None, bytes, tuple[Defect, ...]]


def _join_parts(blocks: list[UUBlock | YEncBlock]) -> list[_File]:
    """``(raw name, data, defects)`` per file: the yEnc parts of one file joined."""
    groups: dict[tuple[bytes | None, int | None], list[YEncBlock]] = {}
    for block in blocks:
        if isinstance(block, YEncBlock) and block.part is not None:
            groups.setdefault((block.name, block.size), []).append(block)
    files: list[_File] = []
    for block in blocks:
        if isinstance(block, UUBlock) or block.part is None:
            files.append((block.name, block.data, block.defects))
            continue
        # A multipart file becomes one entry, where its first part is.
        group = groups.pop((block.name, block.size), None)
        if group is None:
            continue
        try:
            data, extra = join_yenc(group)
        except YEncJoinError as exc:
            # Keep every part as a file of its own: the other articles of a
            # Usenet post may hold the rest (join them with join_yenc).
            kind = DefectKind.YENC_PART_MISSING if exc.missing else DefectKind.UUENCODE_INVALID
            for b in group:
                why = Defect(kind=kind, offset=b.start,
                             detail=f"part {b.part} of {b.total or '?'} only ({exc})")
                files.append((b.name, b.data, (*b.defects, why)))
            continue
        defects = tuple(d for b in group for d in b.defects)
        files.append((block.name, data, (*defects, *extra)))
    return files


def _virtual_part(text: Part, raw_name: bytes | None, data: bytes,
                  defects: tuple[Defect, ...]) -> Part:
    name = _clean_name(raw_name, text.charset)
    header = b"".join(_fields(name))
    return EmbeddedPart(header + _LINESEP + data, embedded_in=text, defects=defects,
                        depth=text._depth + 1, limits=text._limits)


def _fields(name: str | None) -> list[bytes]:
    ctype = ContentType(_guess_type(name) if name else "application/octet-stream")
    fields = [Header.create("Content-Type", ctype, _LINESEP).raw]
    disposition = Header.create("Content-Disposition", "attachment", _LINESEP).raw
    if name:
        # A name no header can hold (ValueError): the file stays, unnamed.
        with contextlib.suppress(ValueError):
            disposition = Header.create("Content-Disposition",
                                        ContentDisposition("attachment", filename=name),
                                        _LINESEP).raw
    fields.append(disposition)
    fields.append(Header.create("Content-Transfer-Encoding", "binary", _LINESEP).raw)
    return fields


def _clean_name(raw: bytes | None, charset: str | None) -> str | None:
    """The file name to show: decoded with the text's charset, last path
    component only, control characters replaced, at most 255 characters."""
    if not raw:
        return None
    text = decode_bytes(raw, charset)[0]
    text = text.replace("\\", "/").rsplit("/", 1)[-1]
    text = "".join(ch if ch.isprintable() else "_" for ch in text).strip()
    if len(text) > _MAX_NAME:
        # Cut the stem, keep a (short) extension: it decides the type.
        stem, dot, ext = text.rpartition(".")
        keep = dot + ext if dot and len(ext) <= 16 else ""
        text = (stem if keep else text)[:_MAX_NAME - len(keep)] + keep
    return text if text not in ("", ".", "..") else None


#: Python's own extension table, without the system's (``/etc/mime.types``
#: and the like): the same message gets the same types on every machine.
_TYPES: mimetypes.MimeTypes | None = None


def _guess_type(filename: str) -> str:
    """The MIME type for ``filename`` by its extension."""
    global _TYPES
    if _TYPES is None:
        _TYPES = mimetypes.MimeTypes()
    mime, encoding = _TYPES.guess_type(filename, strict=False)
    if encoding is not None:
        return _COMPRESSED.get(encoding, "application/octet-stream")
    return mime or "application/octet-stream"
