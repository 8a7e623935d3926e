"""One MIME entity (a message or a body part): lazy, lossless, streamable.

A :class:`Part` is a span ``[start, end)`` of a :class:`~._source.Source`.
Nothing is parsed when it is made. The header block is split on first use of
``headers`` (or anything that needs them), the multipart layout on first use of
``parts``, ``message`` or ``walk()``, and the body is decoded only when asked
for. An unmodified entity serializes as its span of the source, so ``bytes()``
of an untouched tree gives back the input exactly, at the cost of one copy.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from typing import IO, TYPE_CHECKING

from .._defects import Defect, DefectKind
from ..codecs import decode_bytes, encode_base64, encode_qp
from ..fields import ContentDisposition, ContentType, parse_content_type
from ._body import IDENTITY_ENCODINGS, decode_all, iter_decoded
from ._headerblock import scan_header_block
from ._headers import Headers
from ._limits import DEFAULT_LIMITS, Limits
from ._multipart import MultipartLayout, scan_multipart
from ._source import BytesSource, Source

if TYPE_CHECKING:
    from ._message import Message

__all__ = ["Part"]

_TEXT_PLAIN: ContentType = parse_content_type("text/plain")[0]
_MESSAGE_RFC822: ContentType = parse_content_type("message/rfc822")[0]
#: message/* subtypes whose body is itself a message (RFC 2046 section 5.2.1,
#: RFC 6532 section 3.7 for message/global; message/news is an old alias).
_MESSAGE_SUBTYPES = frozenset({"rfc822", "global", "news"})

# What a part turned out to be, once its structure was looked at.
_UNKNOWN, _LEAF, _MULTIPART, _MESSAGE = 0, 1, 2, 3

#: One piece of a serialization: literal bytes, or a span of a source.
_Piece = bytes | tuple[Source, int, int]


class Part:
    """A MIME entity: headers plus a body that is a leaf, a multipart or a message.

    Every entity, the root :class:`~mimekit.Message` included, has this
    interface. Entities are created by the parser; read them, change their
    headers, and serialize them with ``bytes(part)``.
    """

    __slots__ = (
        "__weakref__",
        "_block_defects",
        "_body_start",
        "_child",
        "_children",
        "_default_type",
        "_defects",
        "_depth",
        "_end",
        "_headers",
        "_kind",
        "_layout",
        "_limits",
        "_src",
        "_start",
        "_struct_defects",
        "_top_level",
    )

    #: Builds the Message of a message/rfc822 body; set by ``_message.py``
    #: (a class attribute, because Message subclasses Part).
    _message_factory: Callable[..., Message]

    def __init__(
        self,
        source: Source,
        start: int,
        end: int,
        *,
        depth: int = 0,
        limits: Limits = DEFAULT_LIMITS,
        default_type: str = "text/plain",
        top_level: bool = False,
    ) -> None:
        self._src = source
        self._start = start
        self._end = end
        self._depth = depth
        self._limits = limits
        self._default_type = default_type
        self._top_level = top_level
        self._headers: Headers | None = None
        self._body_start = start
        self._block_defects: list[Defect] = []
        self._kind = _UNKNOWN
        self._layout: MultipartLayout | None = None
        self._children: tuple[Part, ...] = ()
        self._child: Message | None = None
        self._struct_defects: list[Defect] = []
        self._defects: tuple[Defect, ...] | None = None

    def __repr__(self) -> str:
        kind = {_MULTIPART: f" {len(self.parts)} parts", _MESSAGE: " message"}.get(self._kind, "")
        return f"<{type(self).__name__} {self.content_type.mime_type}{kind} {self.size} bytes>"

    # -- headers ----------------------------------------------------------------

    @property
    def headers(self) -> Headers:
        """The header fields (ordered, case-insensitive, multi-valued)."""
        return self._scan()

    def _scan(self) -> Headers:
        """Split the header block (once); this also fixes where the body starts."""
        h = self._headers
        if h is None:
            block = scan_header_block(self._src, self._start, self._end, self._limits,
                                      allow_mbox_from=self._top_level)
            h = self._headers = Headers(block)
            self._body_start = block.body_start
            self._block_defects = block.defects
        return h

    @property
    def content_type(self) -> ContentType:
        """The Content-Type; ``text/plain`` when absent (``message/rfc822``
        inside ``multipart/digest``), and ``text/plain`` when invalid."""
        h = self.headers.get("Content-Type")
        if h is None:
            return _MESSAGE_RFC822 if self._default_type == "message/rfc822" else _TEXT_PLAIN
        value: ContentType = h.value
        return value

    @property
    def content_disposition(self) -> ContentDisposition | None:
        """The Content-Disposition, or None when absent."""
        value: ContentDisposition | None = self.headers.value("Content-Disposition")
        return value

    @property
    def disposition(self) -> str | None:
        """``"inline"``, ``"attachment"`` (lower case), another token, or None."""
        cd = self.content_disposition
        return cd.disposition if cd is not None else None

    @property
    def filename(self) -> str | None:
        """The decoded file name: Content-Disposition ``filename``, else
        Content-Type ``name`` (RFC 2231 and, as Outlook sends it, RFC 2047)."""
        cd = self.content_disposition
        name = cd.filename if cd is not None else None
        return name if name else self.content_type.params.get("name") or None

    @property
    def content_id(self) -> str | None:
        """The Content-ID without angle brackets, or None."""
        value: str | None = self.headers.value("Content-ID")
        return value

    @property
    def transfer_encoding(self) -> str:
        """The Content-Transfer-Encoding, lower case; ``"7bit"`` when absent."""
        h = self.headers.get("Content-Transfer-Encoding")
        if h is None:
            return "7bit"
        value = h.value
        return value if isinstance(value, str) and value else "7bit"

    @property
    def charset(self) -> str | None:
        """The declared charset parameter (lower case), or None."""
        return self.content_type.charset

    # -- structure --------------------------------------------------------------

    def _structure(self) -> int:
        if self._kind:
            return self._kind
        ct = self.content_type
        defects = self._struct_defects
        kind = _LEAF
        composite = ct.maintype == "multipart" or (
            ct.maintype == "message" and ct.subtype in _MESSAGE_SUBTYPES)
        if composite and self._depth >= self._limits.max_depth:
            defects.append(Defect(kind=DefectKind.NESTING_TOO_DEEP, offset=self._start,
                                  detail=f"nested deeper than {self._limits.max_depth}; "
                                  "kept as an opaque leaf"))
        elif ct.maintype == "multipart":
            kind = self._structure_multipart(ct, defects)
        elif composite:
            kind = self._structure_message(ct, defects)
        self._kind = kind
        return kind

    def _structure_multipart(self, ct: ContentType, defects: list[Defect]) -> int:
        cte = self.transfer_encoding
        if cte not in IDENTITY_ENCODINGS:
            defects.append(Defect(kind=DefectKind.INVALID_COMPOSITE_ENCODING,
                                  offset=self._start,
                                  detail=f"multipart with Content-Transfer-Encoding {cte!r}"))
        boundary = ct.boundary
        if not boundary:
            defects.append(Defect(kind=DefectKind.MULTIPART_MISSING_BOUNDARY, offset=self._start,
                                  detail="multipart without a boundary parameter; "
                                  "treated as a single part"))
            return _LEAF
        layout = scan_multipart(self._src, self._body_start, self._end,
                                boundary.encode("utf-8", "surrogateescape"),
                                max_parts=self._limits.max_parts)
        if layout is None:
            defects.append(Defect(kind=DefectKind.START_BOUNDARY_NOT_FOUND,
                                  offset=self._body_start,
                                  detail=f"boundary {boundary!r} never appears; "
                                  "treated as a single part"))
            return _LEAF
        defects.extend(layout.defects)
        self._layout = layout
        child_type = "message/rfc822" if ct.subtype == "digest" else "text/plain"
        self._children = tuple(
            Part(self._src, s, e, depth=self._depth + 1, limits=self._limits,
                 default_type=child_type)
            for s, e in layout.parts)
        return _MULTIPART

    def _structure_message(self, ct: ContentType, defects: list[Defect]) -> int:
        cte = self.transfer_encoding
        make = type(self)._message_factory
        depth = self._depth + 1
        if cte in IDENTITY_ENCODINGS:
            self._child = make(self._src, self._body_start, self._end, depth=depth,
                               limits=self._limits)
            return _MESSAGE
        if ct.subtype == "rfc822":
            # RFC 2046 section 5.2.1 allows only 7bit, 8bit and binary here;
            # message/global (RFC 6532) may be encoded. Decode either way.
            defects.append(Defect(kind=DefectKind.INVALID_COMPOSITE_ENCODING,
                                  offset=self._start,
                                  detail=f"message/rfc822 with Content-Transfer-Encoding {cte!r}"))
        # The inner message is parsed from the decoded bytes; its offsets
        # (and its defects') are positions in those decoded bytes.
        decoded = decode_all(self._src, self._body_start, self._end, cte, defects)
        self._child = make(BytesSource(decoded), 0, len(decoded), depth=depth,
                           limits=self._limits)
        return _MESSAGE

    @property
    def is_multipart(self) -> bool:
        """True for a ``multipart/*`` entity whose boundary was found."""
        return self._structure() == _MULTIPART

    @property
    def parts(self) -> tuple[Part, ...]:
        """The body parts of a multipart (empty for anything else)."""
        self._structure()
        return self._children

    @property
    def message(self) -> Message | None:
        """The attached message of a ``message/rfc822`` (or ``global``) part."""
        self._structure()
        return self._child

    @property
    def embedded_in(self) -> Part | None:
        """For a *virtual* part, the text part it was decoded from; else None.

        A uuencoded or yEnc file inside the text of a ``text/plain`` body is
        listed in :attr:`Message.attachments <mimekit.Message.attachments>`
        as a virtual part (see ``docs/embedded.rst``): a Part of its own
        synthetic bytes, not in the tree (``walk()`` and ``bytes()`` do not
        see it). Every entity of the tree has None here.
        """
        return None

    @property
    def preamble(self) -> bytes | None:
        """A multipart's preamble bytes (the line break before the first
        delimiter excluded), or None for other entities."""
        if self._structure() != _MULTIPART or self._layout is None:
            return None
        return self._src.read(self._body_start, self._layout.preamble_end)

    @property
    def epilogue(self) -> bytes | None:
        """A multipart's epilogue bytes (after the close delimiter line), or None."""
        if self._structure() != _MULTIPART or self._layout is None:
            return None
        return self._src.read(self._layout.epilogue_start, self._end)

    def walk(self) -> Iterator[Part]:
        """Every entity depth-first, this one first, attached messages included."""
        stack: list[Part] = [self]
        while stack:
            node = stack.pop()
            yield node
            kind = node._structure()
            if kind == _MULTIPART:
                stack.extend(reversed(node._children))
            elif kind == _MESSAGE and node._child is not None:
                stack.append(node._child)

    # -- offsets ----------------------------------------------------------------

    @property
    def offset(self) -> int:
        """Where this entity starts in its source."""
        return self._start

    @property
    def body_offset(self) -> int:
        """Where the body starts in the source (after the empty line)."""
        self._scan()
        return self._body_start

    @property
    def size(self) -> int:
        """Length of the entity in the source, in bytes."""
        return self._end - self._start

    # -- body -------------------------------------------------------------------

    def _body_pieces(self) -> list[_Piece]:
        if not self._dirty():
            return [(self._src, self._body_start, self._end)]
        return list(self._changed_body_pieces())

    def get_raw_body(self) -> bytes:
        """The body exactly as it is on the wire (transfer encoding kept)."""
        self._scan()
        return b"".join(_materialize(self._body_pieces()))

    def get_bytes(self) -> bytes:
        """The body with its Content-Transfer-Encoding undone.

        For a multipart this is its raw body; for a message/rfc822 part, the
        bytes of the attached message. Decoding problems are recorded in
        :attr:`defects`, never raised.
        """
        self._scan()
        cte = self.transfer_encoding
        if not self._dirty():
            return decode_all(self._src, self._body_start, self._end, cte, [])
        raw = b"".join(_materialize(self._body_pieces()))
        return decode_all(BytesSource(raw), 0, len(raw), cte, [])

    def iter_bytes(self, chunk_size: int = 1 << 16) -> Iterator[bytes]:
        """Yield the decoded body in chunks: memory stays bounded by ``chunk_size``
        (plus a few bytes of decoder state) whatever the body's size."""
        self._scan()
        if self._dirty():
            yield self.get_bytes()
            return
        yield from iter_decoded(self._src, self._body_start, self._end,
                                self.transfer_encoding, [], chunk_size=chunk_size)

    def save(self, file: str | os.PathLike[str] | IO[bytes]) -> int:
        """Write the decoded body to a path or a binary file, streamed.

        Returns:
            The number of bytes written.
        """
        if isinstance(file, (str, os.PathLike)):
            with open(file, "wb") as f:
                return self.save(f)
        written = 0
        for chunk in self.iter_bytes():
            file.write(chunk)
            written += len(chunk)
        return written

    def get_text(self) -> str:
        """The body decoded to text.

        The charset is the declared one (through mimekit's alias table), else
        UTF-8 when the bytes are valid UTF-8, else a guess by chardet, else
        windows-1252, so there is always a result. The choice is recorded in
        :attr:`defects` when it was not the declared charset.
        """
        return decode_bytes(self.get_bytes(), self.charset, offset=self.body_offset)[0]

    # -- defects ----------------------------------------------------------------

    @property
    def defects(self) -> tuple[Defect, ...]:
        """Every problem found in this entity (not its children): header
        block, header values, multipart layout, transfer and charset decoding.

        Computed on first access (which decodes a leaf's body once) and cached.
        """
        if self._defects is None:
            headers = self.headers
            kind = self._structure()
            found = [*self._block_defects, *headers.defects, *self._struct_defects]
            if kind == _LEAF:
                cte = self.transfer_encoding
                sink: list[Defect] = []
                if self.content_type.maintype == "text":
                    body = decode_all(self._src, self._body_start, self._end, cte, sink)
                    found.extend(sink)
                    found.extend(decode_bytes(body, self.charset, offset=self._body_start)[2])
                elif cte not in IDENTITY_ENCODINGS:
                    for _ in iter_decoded(self._src, self._body_start, self._end, cte, sink):
                        pass
                    found.extend(sink)
            self._defects = tuple(found)
        return self._defects

    def all_defects(self) -> list[Defect]:
        """The defects of this entity and of every entity below it."""
        return [d for part in self.walk() for d in part.defects]

    # -- serialization ------------------------------------------------------------

    def _dirty(self) -> bool:
        """Does this entity need re-serializing (it, or a child, was changed)?"""
        if self._headers is not None and self._headers.modified:
            return True
        if self._kind == _MULTIPART:
            return any(c._dirty() for c in self._children)
        if self._kind == _MESSAGE and self._child is not None:
            return self._child._dirty()
        return False

    def _pieces(self) -> Iterator[_Piece]:
        """The serialization as pieces: the header block, then the body."""
        if not self._dirty():
            yield (self._src, self._start, self._end)
            return
        headers = self.headers
        yield headers.to_bytes() if headers.modified else (self._src, self._start,
                                                           self._body_start)
        yield from self._changed_body_pieces()

    def _changed_body_pieces(self) -> Iterator[_Piece]:
        if self._kind == _MULTIPART and self._layout is not None:
            yield from self._multipart_pieces(self._layout)
        elif self._kind == _MESSAGE and self._child is not None and self._child._dirty():
            yield from self._message_pieces(self._child)
        else:
            yield (self._src, self._body_start, self._end)

    def _multipart_pieces(self, layout: MultipartLayout) -> Iterator[_Piece]:
        src = self._src
        if not any(c._dirty() for c in self._children) and \
                self._current_boundary() == layout.boundary:
            yield (src, self._body_start, self._end)
            return
        new_boundary = self._current_boundary()
        rename = new_boundary is not None and new_boundary != layout.boundary

        def delimiter(span: tuple[int, int]) -> _Piece:
            if not rename:
                return (src, span[0], span[1])
            assert new_boundary is not None
            line = src.read(span[0], span[1])
            return line.replace(b"--" + layout.boundary, b"--" + new_boundary, 1)

        yield (src, self._body_start, layout.preamble_end)
        for span, child in zip(layout.delimiters, self._children, strict=True):
            yield delimiter(span)
            yield from child._pieces()
        if layout.close is not None:
            yield delimiter(layout.close)
        yield (src, layout.epilogue_start, self._end)

    def _current_boundary(self) -> bytes | None:
        boundary = self.content_type.boundary
        return boundary.encode("utf-8", "surrogateescape") if boundary else None

    def _message_pieces(self, child: Message) -> Iterator[_Piece]:
        cte = self.transfer_encoding
        if cte in IDENTITY_ENCODINGS:
            yield from child._pieces()
            return
        linesep = self.headers.linesep
        data = child.to_bytes()
        yield (encode_base64(data, linesep=linesep) if cte == "base64"
               else encode_qp(data, linesep=linesep, binary=True))

    def to_bytes(self) -> bytes:
        """The entity as bytes: identical to the input when nothing was
        changed; otherwise only the changed fields and entities are new."""
        if not self._dirty():
            return self._src.read(self._start, self._end)
        return b"".join(_materialize(self._pieces()))

    def __bytes__(self) -> bytes:
        return self.to_bytes()

    def write_to(self, file: IO[bytes]) -> int:
        """Stream the serialization to a binary file in bounded memory.

        Returns:
            The number of bytes written.
        """
        written = 0
        for piece in self._pieces():
            if isinstance(piece, bytes):
                file.write(piece)
                written += len(piece)
                continue
            src, start, end = piece
            for chunk in src.iter_range(start, end):
                file.write(chunk)
                written += len(chunk)
        return written


def _materialize(pieces: Iterable[_Piece]) -> Iterator[bytes]:
    for piece in pieces:
        if isinstance(piece, bytes):
            yield piece
        else:
            src, start, end = piece
            yield src.read(start, end)
