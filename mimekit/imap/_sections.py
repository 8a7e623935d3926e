"""``BODY[section]<partial>`` (RFC 3501 section 6.4.5): section specs and
the exact bytes they name.

RFC 3501 section 9::

    section         = "[" [section-spec] "]"
    section-spec    = section-msgtext / (section-part ["." section-text])
    section-msgtext = "HEADER" / "HEADER.FIELDS" [".NOT"] SP header-list /
                      "TEXT"
    section-part    = nz-number *("." nz-number)
    section-text    = section-msgtext / "MIME"
    header-list     = "(" header-fld-name *(SP header-fld-name) ")"

The bytes come straight from the stored message through the offsets of the
tree (:mod:`._bodystructure` nodes), never re-serialized, and are sent with
CRLF line ends: a message stored with bare LFs (Maildir files usually are)
gets a CR before each LF, as Dovecot does, so what a client receives always
matches RFC822.SIZE and the sizes in BODYSTRUCTURE.

Part numbers follow BODYSTRUCTURE, and Dovecot's answers for the odd cases:
part 1 of a non-multipart entity is the entity itself; a part that does not
exist, and HEADER or TEXT of a part that is not ``message/rfc822``, is the
empty string (not an error).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ._bodystructure import MULTIPART, RFC822
from ._header_lexer import split_header_fields

if TYPE_CHECKING:
    from ._fetch_data import Node

__all__ = ["Section", "SectionError", "crlf", "partial", "section_bytes"]


class SectionError(ValueError):
    """A malformed section spec or partial (the server answers BAD)."""


_TEXTS = ("HEADER", "HEADER.FIELDS", "HEADER.FIELDS.NOT", "TEXT", "MIME")
# header-fld-name = astring; we accept atoms and quoted strings.
_FIELD_NAME = re.compile(r'"((?:[^"\\]|\\.)*)"|([^\s()"]+)')
_FIELD_CHARS = re.compile(r"[!-9;-~]+")  # RFC 5322 ftext


@dataclass(frozen=True, slots=True)
class Section:
    """A parsed section spec.

    Attributes:
        part: The part numbers (``(1, 2)`` for ``1.2``); empty for the whole
            message.
        text: ``""``, ``"HEADER"``, ``"HEADER.FIELDS"``,
            ``"HEADER.FIELDS.NOT"``, ``"TEXT"`` or ``"MIME"``.
        fields: The header field names of HEADER.FIELDS (.NOT), upper case.
    """

    part: tuple[int, ...] = ()
    text: str = ""
    fields: tuple[str, ...] = ()

    @classmethod
    def parse(cls, spec: str) -> Section:
        """Parse what is between the brackets: ``""``, ``"1.2.MIME"``,
        ``"HEADER.FIELDS (From To)"``...

        Raises:
            SectionError: not a valid section-spec.
        """
        s = spec.strip()
        fields: tuple[str, ...] = ()
        paren = s.find("(")
        if paren >= 0:
            head, rest = s[:paren].rstrip(), s[paren:]
            if not rest.endswith(")"):
                raise SectionError(f"invalid section {spec!r}: unbalanced parentheses")
            names = []
            pos = 0
            inner = rest[1:-1]
            for m in _FIELD_NAME.finditer(inner):
                if inner[pos:m.start()].strip():
                    raise SectionError(f"invalid header list in section {spec!r}")
                name = m.group(1) if m.group(1) is not None else m.group(2)
                name = re.sub(r"\\(.)", r"\1", name) if m.group(1) is not None else name
                if not _FIELD_CHARS.fullmatch(name):
                    raise SectionError(f"invalid header field name {name!r}")
                names.append(name.upper())
                pos = m.end()
            if inner[pos:].strip() or not names:
                raise SectionError(f"invalid header list in section {spec!r}")
            fields = tuple(names)
        else:
            head = s
        numbers: list[int] = []
        items = head.split(".") if head else []
        if any(not item for item in items):
            raise SectionError(f"invalid section {spec!r}: empty part")
        i = 0
        while i < len(items) and items[i].isdigit():
            if items[i].startswith("0") or not items[i].isascii():
                raise SectionError(f"invalid part number in section {spec!r}")
            numbers.append(int(items[i]))
            i += 1
        text = ".".join(items[i:]).upper()
        if text and text not in _TEXTS:
            raise SectionError(f"invalid section {spec!r}")
        if text == "MIME" and not numbers:
            raise SectionError("MIME needs a part number (RFC 3501 section 6.4.5)")
        if text.startswith("HEADER.FIELDS") != bool(fields):
            raise SectionError(f"invalid section {spec!r}: header list "
                               "goes with HEADER.FIELDS only")
        return cls(tuple(numbers), text, fields)

    def __str__(self) -> str:
        """The canonical spec, as a server echoes it: ``1.HEADER.FIELDS (FROM TO)``."""
        items = [str(n) for n in self.part]
        if self.text:
            items.append(self.text)
        out = ".".join(items)
        if self.fields:
            out += " (" + " ".join(self.fields) + ")"
        return out


def crlf(data: bytes) -> bytes:
    """``data`` as sent: a CR before every LF that lacks one (RFC 5322 line
    ends), and NUL as byte 0x80, as Dovecot sends it (RFC 3501 ``CHAR8``
    excludes NUL, so a literal cannot carry it). Sizes do not change."""
    if b"\x00" in data:
        data = data.replace(b"\x00", b"\x80")
    if b"\r" not in data:
        # Only bare LFs (most Maildir files): one pass. "in" is a memchr,
        # far cheaper than counting.
        return data.replace(b"\n", b"\r\n")
    lf = data.count(b"\n")
    if lf == 0 or lf == data.count(b"\r\n"):
        return data
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def partial(data: bytes, start: int, length: int | None = None) -> bytes:
    """RFC 3501 ``<start.length>``: the octets from ``start``, at most
    ``length`` of them; empty when ``start`` is past the end.

    Raises:
        SectionError: a negative start or length.
    """
    if start < 0 or (length is not None and length < 0):
        raise SectionError("partial start and length must not be negative")
    return data[start:] if length is None else data[start:start + length]


def _find(root: Node, numbers: tuple[int, ...]) -> Node | None:
    node = root
    for i, n in enumerate(numbers):
        if i and node.kind == RFC822:
            # A message/rfc822 *part*: the numbers go on inside its message.
            # (The root is a message, not a part: its part 1 is itself.)
            node = node.children[0]
        if node.kind == MULTIPART:
            kids = node.children
            if not 1 <= n <= len(kids):
                return None
            node = kids[n - 1]
        elif n != 1:
            return None  # part 1 of a non-multipart is itself; nothing else
    return node


def _header_fields(header: bytes, names: tuple[str, ...], keep: bool) -> bytes:
    wanted = {n.lower().encode("ascii") for n in names}
    out = [raw for name, raw in _raw_fields(header) if (name.lower() in wanted) == keep]
    out.append(b"\r\n")
    return crlf(b"".join(out))


def _raw_fields(header: bytes) -> list[tuple[bytes, bytes]]:
    """``(name, raw bytes)`` of each field of a header block (no empty line)."""
    fields: list[tuple[bytes, bytes]] = []
    pos = 0
    n = len(header)
    while pos < n:
        nl = header.find(b"\n", pos)
        line_end = n if nl < 0 else nl + 1
        if header[pos:line_end] in (b"\n", b"\r\n"):
            break
        end = line_end
        while end < n and header[end] in (0x20, 0x09):
            nl = header.find(b"\n", end)
            end = n if nl < 0 else nl + 1
        raw = header[pos:end]
        name = split_header_fields(raw)[0][0] if raw.strip() else b""
        if not raw.endswith(b"\n"):
            raw += b"\r\n"
        fields.append((name, raw))
        pos = end
    return fields


def section_bytes(root: Node, section: Section) -> bytes:
    """The bytes of ``section`` of the message ``root``, CRLF line ends.

    Never raises on a malformed message; a section that names nothing is
    ``b""``.
    """
    if not section.part and not section.text:
        return crlf(root.data[root.start:root.end])
    node = _find(root, section.part)
    if node is None:
        return b""
    text = section.text
    if not text:
        return crlf(node.body)
    if text == "MIME":
        return crlf(node.header)
    if section.part:
        if node.kind != RFC822:
            return b""
        node = node.children[0]
    if text == "TEXT":
        return crlf(node.body)
    if text == "HEADER":
        return crlf(node.header)
    return _header_fields(node.header, section.fields, text == "HEADER.FIELDS")
