"""Header fields and the header block: raw bytes kept, values parsed lazily.

A :class:`Header` is the exact bytes of one field. Its unfolded text, its
RFC 2047-decoded ``text`` and its typed ``value`` are computed on first access
and cached. :class:`Headers` is the ordered, case-insensitive, multi-valued
collection of one entity; changing it rewrites only the fields touched, so a
DKIM signature over the other fields survives.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from .._defects import Defect, DefectKind
from ..codecs import decode_header_bytes
from ..fields import format_field, parse_field, parse_unstructured
from ._folding import HARD_LIMIT, check_name, check_value, fold
from ._headerblock import HeaderBlock

__all__ = ["Header", "Headers"]

#: Fields a message or entity may have at most once: RFC 5322 section 3.6's
#: table, and RFC 2045/2183's MIME fields.
_SINGLE_FIELDS = frozenset((
    "date", "from", "sender", "reply-to", "to", "cc", "bcc", "message-id", "in-reply-to",
    "references", "subject", "mime-version", "content-type", "content-transfer-encoding",
    "content-id", "content-description", "content-disposition",
))

_UNSET: Any = object()

#: An RFC 2047 encoded word with a fold *inside* it. RFC 2047 forbids that,
#: but some mailers fold long words anywhere; plain unfolding would leave a
#: space inside the encoded text. Every piece excludes "?" and whitespace, so
#: a match can only run to the next "?" and the scan stays linear.
_FOLDED_WORD = re.compile(rb"=\?[^?\s]+\?[bBqQ]\?[^?\s]*(?:\r?\n[ \t]+[^?\s]*)+\?=")
_FOLD = re.compile(rb"\r?\n[ \t]+")


def _join_folded_words(value: bytes) -> bytes:
    return _FOLDED_WORD.sub(lambda m: _FOLD.sub(b"", m.group()), value)


class Header:
    """One header field.

    Attributes:
        name: The field name as written (``"Subject"``, ``"SUBJECT"``...).
        raw: The whole field as in the input: name, colon, value, folding and
            the final line ending (absent only for a last field at EOF).
        offset: Where ``raw`` starts in the parsed input; ``-1`` for a field
            created through the API.
    """

    __slots__ = ("_charset_defects", "_defects", "_lname", "_text", "_unfolded", "_value", "name",
                 "offset", "raw")

    def __init__(self, name: str, raw: bytes, offset: int = -1) -> None:
        self.name = name
        self.raw = raw
        self.offset = offset
        self._lname = name.lower()
        self._unfolded: str | None = None
        self._text: str | None = None
        self._value: Any = _UNSET
        self._defects: tuple[Defect, ...] | None = None
        #: How undeclared 8-bit bytes in the value were read (a guess), if any.
        self._charset_defects: list[Defect] = []

    def __repr__(self) -> str:
        return f"<Header {self.name}: {self.unfolded!r}>"

    @property
    def raw_value(self) -> bytes:
        """The bytes after the colon, folding kept, without the final line ending."""
        raw = self.raw
        value = raw[raw.index(b":") + 1:] if self.name else raw
        if value.endswith(b"\n"):
            value = value[:-2] if value.endswith(b"\r\n") else value[:-1]
        return value

    @property
    def unfolded(self) -> str:
        """The value unfolded (line breaks before whitespace removed), not decoded.

        Raw 8-bit bytes are read as UTF-8 (RFC 6532) when valid, else through
        the charset fallback of :func:`mimekit.codecs.decode_header_bytes`.
        """
        if self._unfolded is None:
            v = self.raw_value
            if b"\n" in v:
                # Every LF inside a field starts a continuation line, so all
                # of them (and the CR before each) go.
                v = v.replace(b"\r\n", b"").replace(b"\n", b"")
            self._unfolded = decode_header_bytes(v, self._charset_defects)
        return self._unfolded

    @property
    def text(self) -> str:
        """The value unfolded, trimmed and RFC 2047-decoded, as a ``str``.

        An encoded word that was (wrongly) folded in the middle is joined
        back before decoding, as stalwart and MimeKit do.
        """
        if self._text is None:
            unfolded = self.unfolded
            if "=?" in unfolded:
                raw = self.raw_value
                joined = _join_folded_words(raw) if b"\n" in raw else raw
                if joined is not raw and joined != raw:
                    unfolded = decode_header_bytes(
                        joined.replace(b"\r\n", b"").replace(b"\n", b""))
            self._text = parse_unstructured(unfolded)[0]
        return self._text

    @property
    def value(self) -> Any:
        """The typed value, parsed on first access (by header name).

        ``AddressList`` for address fields, ``datetime | None`` for dates,
        ``ContentType``, ``ContentDisposition``, ``str | None`` for
        Message-ID, ``list[str]`` for In-Reply-To/References, else ``str``.
        """
        if self._value is _UNSET:
            self._value, defects = parse_field(self.name, self.unfolded)
            if self._defects is None:
                self._defects = self._with_offsets(defects)
        return self._value

    @property
    def defects(self) -> tuple[Defect, ...]:
        """Problems in this field: its lines, how its 8-bit bytes were read,
        and its value's syntax."""
        if self._defects is None:
            self._value, defects = parse_field(self.name, self.unfolded)
            self._defects = self._with_offsets(defects)
        charset = self._with_offsets(self._charset_defects)
        return self._line_defects() + charset + self._defects

    def _with_offsets(self, defects: list[Defect]) -> tuple[Defect, ...]:
        # Field parsers report positions inside the value text; mapping a
        # character index back to a byte offset is not worth its cost, so the
        # field's own offset is what a defect carries.
        return tuple(Defect(kind=d.kind, offset=self.offset, detail=d.detail) for d in defects)

    def _line_defects(self) -> tuple[Defect, ...]:
        raw = self.raw
        found: list[Defect] = []
        if len(raw) > HARD_LIMIT and any(len(line) > HARD_LIMIT + 2 for line in raw.split(b"\n")):
            found.append(Defect(kind=DefectKind.HEADER_LINE_TOO_LONG, offset=self.offset,
                                detail=f"{self.name or 'header'} line longer than {HARD_LIMIT}"))
        if b"\r" in raw and raw.count(b"\r") != raw.count(b"\r\n"):
            found.append(Defect(kind=DefectKind.BARE_CR, offset=self.offset,
                                detail=f"bare CR in {self.name or 'header line'}"))
        if b"\x00" in raw:
            found.append(Defect(kind=DefectKind.NUL_IN_HEADER, offset=self.offset,
                                detail=f"NUL in {self.name or 'header line'}"))
        return tuple(found)

    @classmethod
    def create(cls, name: str, value: object, linesep: bytes = b"\r\n", *,
               utf8: bool = False) -> Header:
        """Make a new field from a Python value, formatted and folded.

        ``value`` may be a ``str`` or a typed value (``AddressList``,
        ``Mailbox``, ``datetime``, ``ContentType``...).

        Raises:
            InvalidHeaderNameError: ``name`` is not a valid field name.
            HeaderInjectionError: the value contains CR, LF or NUL.
            ValueError: the value cannot be written for this field.
        """
        check_name(name)
        if isinstance(value, str):
            check_value(value)
        text = format_field(name, value, utf8=utf8)
        return cls(name, fold(name, text, linesep, utf8=utf8))


class Headers:
    """The ordered, case-insensitive, multi-valued header fields of one entity.

    Iterating gives :class:`Header` objects in order. Lookups ignore case.
    Lines of the input that belong to no field are kept (so the block
    re-serializes byte for byte) but are not listed.
    """

    __slots__ = ("_body_follows", "_index", "_items", "_linesep", "_modified", "_prefix",
                 "_separator")

    def __init__(self, block: HeaderBlock | None = None, *, linesep: bytes = b"\r\n") -> None:
        self._body_follows = False
        if block is None:
            self._items: list[Header] = []
            self._prefix = b""
            self._separator = linesep
            self._linesep = linesep
        else:
            self._body_follows = block.body_follows
            self._items = [Header(name, raw, offset) for name, raw, offset in block.fields]
            self._prefix = block.mbox_from
            self._separator = block.separator
            self._linesep = block.linesep
        self._index: dict[str, list[int]] | None = None
        self._modified = False

    # -- reading -------------------------------------------------------------

    def _lookup(self) -> dict[str, list[int]]:
        index = self._index
        if index is None:
            index = {}
            for i, h in enumerate(self._items):
                if h._lname:
                    index.setdefault(h._lname, []).append(i)
            self._index = index
        return index

    def __iter__(self) -> Iterator[Header]:
        return (h for h in self._items if h.name)

    def __len__(self) -> int:
        return sum(1 for h in self._items if h.name)

    def __bool__(self) -> bool:
        return any(h.name for h in self._items)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._lookup()

    def __getitem__(self, name: str) -> Header:
        """The first field called ``name``; ``KeyError`` if there is none."""
        found = self.get(name)
        if found is None:
            raise KeyError(name)
        return found

    def __repr__(self) -> str:
        return f"<Headers {[h.name for h in self]}>"

    def get(self, name: str, default: Header | None = None) -> Header | None:
        """The first field called ``name`` (any case), else ``default``."""
        idx = self._lookup().get(name.lower())
        return self._items[idx[0]] if idx else default

    def get_all(self, name: str) -> list[Header]:
        """Every field called ``name``, in order (empty list if none)."""
        return [self._items[i] for i in self._lookup().get(name.lower(), ())]

    def names(self) -> list[str]:
        """The field names in order, as written."""
        return [h.name for h in self]

    def value(self, name: str, default: Any = None) -> Any:
        """The typed value of the first field called ``name``, else ``default``."""
        h = self.get(name)
        return default if h is None else h.value

    def text(self, name: str, default: str | None = None) -> str | None:
        """The decoded text of the first field called ``name``, else ``default``."""
        h = self.get(name)
        return default if h is None else h.text

    @property
    def linesep(self) -> bytes:
        """The line ending of this block (used for fields added later)."""
        return self._linesep

    @property
    def modified(self) -> bool:
        """True once a field was set, added or removed."""
        return self._modified

    @property
    def defects(self) -> tuple[Defect, ...]:
        """The defects of every field (line problems and value syntax), and
        a DUPLICATE_HEADER for each repeat of a field that may occur once."""
        out: list[Defect] = []
        seen: set[str] = set()
        for h in self._items:
            out.extend(h.defects if h.name else h._line_defects())
            key = h.name.lower()
            if key in _SINGLE_FIELDS:
                if key in seen:
                    out.append(Defect(kind=DefectKind.DUPLICATE_HEADER, offset=h.offset,
                                      detail=f"second {h.name} field (the first one is used)"))
                seen.add(key)
        return tuple(out)

    # -- changing --------------------------------------------------------------

    def _changed(self) -> None:
        self._index = None
        self._modified = True
        if self._body_follows:
            # The input had no empty line before its body. The block is being
            # rewritten anyway, so write the missing line: the body stays the
            # same bytes, and a reader no longer has to guess where it starts.
            self._separator = self._linesep
            self._body_follows = False

    def _terminate_last(self) -> None:
        # A last field (or mbox line) at EOF may lack its line ending; anything
        # appended after it needs one, or the two would run together.
        if self._items and not self._items[-1].raw.endswith(b"\n"):
            last = self._items[-1]
            self._items[-1] = Header(last.name, last.raw + self._linesep, last.offset)
        elif not self._items and self._prefix and not self._prefix.endswith(b"\n"):
            self._prefix += self._linesep

    def set(self, name: str, value: object, *, utf8: bool = False) -> Header:
        """Replace the first field called ``name`` in place and drop the others.

        If there is none, the field is appended. Returns the new field.

        Raises:
            InvalidHeaderNameError, HeaderInjectionError, ValueError: see
            :meth:`Header.create`.
        """
        new = Header.create(name, value, self._linesep, utf8=utf8)
        idx = self._lookup().get(name.lower())
        if not idx:
            self._terminate_last()
            self._items.append(new)
        else:
            if idx[0] == len(self._items) - 1 and not self._items[idx[0]].raw.endswith(b"\n"):
                new = Header(new.name, new.raw[:-len(self._linesep)], -1)
            self._items[idx[0]] = new
            for i in reversed(idx[1:]):
                del self._items[i]
        self._changed()
        return new

    def add(self, name: str, value: object, *, prepend: bool = False,
            utf8: bool = False) -> Header:
        """Add a field at the end (or at the top with ``prepend=True``, as
        trace fields such as ``Received`` are added). Returns the new field."""
        new = Header.create(name, value, self._linesep, utf8=utf8)
        if prepend:
            # An orphan continuation line at the top (a defect of the input)
            # would become part of the new field: the field goes after it.
            at = 0
            while (at < len(self._items) and not self._items[at].name
                   and self._items[at].raw[:1] in (b" ", b"\t")):
                at += 1
            if at == len(self._items):
                self._terminate_last()
            self._items.insert(at, new)
        else:
            self._terminate_last()
            self._items.append(new)
        self._changed()
        return new

    def remove(self, name: str) -> int:
        """Remove every field called ``name``; return how many were removed."""
        lname = name.lower()
        before = len(self._items)
        self._items = [h for h in self._items if h._lname != lname]
        removed = before - len(self._items)
        if removed:
            self._changed()
        return removed

    # -- writing ---------------------------------------------------------------

    def to_bytes(self) -> bytes:
        """The header block as bytes: fields and the empty line that ends it."""
        return b"".join([self._prefix, *[h.raw for h in self._items], self._separator])
