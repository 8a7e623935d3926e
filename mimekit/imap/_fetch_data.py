"""The IMAP FETCH data of one message, computed from the message tree.

:class:`MessageData` wraps the stored bytes of a message and gives what
FETCH asks for (RFC 3501 section 7.4.2): ENVELOPE, BODY, BODYSTRUCTURE,
RFC822.SIZE and ``BODY[section]<partial>``. Everything is computed on first
use and kept, so one FETCH of several items parses the message once.

Values are nested tuples of ``None | str | int | tuple``: None is NIL, a
``str`` is a string for the protocol encoder to quote or send as a literal
(8-bit header bytes are carried as surrogate escapes: encode with
``s.encode("utf-8", "surrogateescape")`` to get the exact bytes back), an
``int`` a number, a tuple a parenthesized list. Section bytes are ``bytes``.

Both BODYSTRUCTURE and the part numbers of ``BODY[section]`` come from one
:class:`Node` tree: the message tree's entities (their spans in the stored
bytes) as Dovecot reads them, so the values match Dovecot's (see
``docs/imap-server-model.rst`` for the comparison and the deliberate
differences). Where Dovecot's reading differs from the tree's (a header
block the tree ends at a junk line, a boundary parameter Dovecot reads
differently, an encoded ``message/rfc822`` body, a multipart nested in one
with the same boundary), that entity alone is read again.

Cost: the message is read into memory once (Dovecot reads it whole too, to
count lines); ENVELOPE needs the header only, BODYSTRUCTURE one pass over
each body part (``bytes.count``), sections are slices.
"""

from __future__ import annotations

import os
from typing import Any

from ..tree import Message, Part, parse
from ._bodystructure import (
    LEAF,
    MAX_DEPTH,
    MULTIPART,
    RFC822,
    MimeData,
    body_structure,
    crlf_size,
    parse_mime_fields,
)
from ._envelope import envelope_from_fields
from ._header_lexer import HeaderFields, split_header_fields
from ._sections import Section, SectionError, crlf, partial, section_bytes

__all__ = ["MessageData", "Node", "Section", "SectionError", "crlf", "message_node", "partial"]


# -- the entities, as Dovecot sees them --------------------------------------------------


def _header_end(data: bytes, start: int, end: int) -> int:
    """Where the body starts: just past the first empty line (exactly LF or
    CRLF) in ``data[start:end]``, else ``end``: it is all header."""
    if data.startswith(b"\n", start, end):
        return start + 1
    if data.startswith(b"\r\n", start, end):
        return start + 2
    best = end
    i = data.find(b"\n\n", start, end)
    if i >= 0:
        best = i + 2
    j = data.find(b"\n\r\n", start, best)
    if j >= 0:
        best = min(best, j + 3)
    return best


class Node:
    """One MIME entity: ``data[start:body_start]`` is its header block (its
    empty line included), ``data[body_start:end]`` its body.

    ``data`` is the buffer the spans refer to: the whole message for
    everything the tree found, or a buffer of its own where Dovecot's reading
    differs from the tree's and the entity is parsed again (an encoded
    ``message/rfc822`` body, a header block the tree ended early, a boundary
    the tree read differently).
    """

    __slots__ = ("_children", "_fields", "_mime", "body_start", "data", "depth", "digest",
                 "end", "in_multipart", "is_message", "kind", "part", "start", "text")

    def __init__(self, data: bytes, part: Part, start: int, end: int, *,
                 in_multipart: bool, digest: bool, depth: int, is_message: bool) -> None:
        self.data = data
        self.part = part
        self.start = start
        self.end = end
        self.in_multipart = in_multipart
        self.digest = digest
        self.depth = depth
        #: A message (the root, or the body of a message/rfc822 part) rather
        #: than a body part: HEADER and TEXT apply, MIME does not.
        self.is_message = is_message
        # Dovecot's header block ends at the first empty line (the tree's may
        # end earlier, at a line that is not a field: see _tree_agrees).
        self.body_start = _header_end(data, start, end)
        self._fields: HeaderFields | None = None
        self._mime: MimeData | None = None
        self._children: list[Node] | None = None
        self.kind, self.text = self._classify()

    @property
    def header(self) -> bytes:
        return self.data[self.start:self.body_start]

    @property
    def body(self) -> bytes:
        return self.data[self.body_start:self.end]

    @property
    def fields(self) -> HeaderFields:
        if self._fields is None:
            self._fields = split_header_fields(self.header)
        return self._fields

    @property
    def mime(self) -> MimeData:
        """The Content-* fields; empty unless this is a MIME entity (a part of
        a multipart, or a message with MIME-Version or Content-Type)."""
        if self._mime is None:
            fields = self.fields
            if self.in_multipart or any(n.lower() in (b"mime-version", b"content-type")
                                        for n, _ in fields):
                self._mime = parse_mime_fields(fields)
            else:
                self._mime = MimeData()
        return self._mime

    def _classify(self) -> tuple[int, bool]:
        data = self.mime
        if not data.seen_type:
            kind, text = (RFC822, False) if self.digest else (LEAF, True)
        else:
            t = data.type_string.lower()
            if t == b"message/rfc822":
                kind, text = RFC822, False
            else:
                kind = MULTIPART if t.startswith(b"multipart/") else LEAF
                text = data.ctype_lower == b"text"
        if self.depth >= MAX_DEPTH and kind != LEAF:
            kind, text = LEAF, False
        return kind, text

    @property
    def children(self) -> list[Node]:
        """A multipart's parts, or the one message of a message/rfc822 part."""
        if self._children is None:
            self._children = (self._parts() if self.kind == MULTIPART
                              else [self._message()] if self.kind == RFC822 else [])
        return self._children

    def _parts(self) -> list[Node]:
        boundary = next((v for k, v in self.mime.params if k.lower() == b"boundary"), None)
        if boundary is None:
            return []
        part = self.part
        tree_boundary = part.content_type.boundary if part.is_multipart else None
        if self._tree_agrees() and tree_boundary is not None and \
                tree_boundary.encode("utf-8", "surrogateescape") == boundary:
            data, shift, parts = self.data, self.start - part.offset, part.parts
            prev_end = self.body_start + len(part.preamble or b"")
        else:
            # Read the body again with the boundary Dovecot found.
            quoted = boundary.replace(b"\\", b"\\\\").replace(b'"', b'\\"')
            head = b'Content-Type: multipart/mixed; boundary="' + quoted + b'"\r\n\r\n'
            data = head + self.body
            syn = parse(data)
            if not syn.is_multipart:
                return []
            shift, parts = 0, syn.parts
            prev_end = len(head) + len(syn.preamble or b"")
        digest = self.mime.type_string.lower() == b"multipart/digest"
        nodes: list[Node] = []
        dash = b"--" + boundary
        for p in parts:
            start = p.offset + shift
            # The tree reads delimiter lines in a row as one delimiter;
            # Dovecot sees an empty part between each two of them.
            extra = sum(1 for line in data[prev_end:start].split(b"\n")
                        if line.startswith(dash) and not line[len(dash):].startswith(b"--"))
            for _ in range(extra - 1):
                nodes.append(_empty_node(self.depth + 1))
            node = Node(data, p, start, start + p.size, in_multipart=True, digest=digest,
                        depth=self.depth + 1, is_message=False)
            if node.kind == RFC822:
                node.extend_over_stolen_break()
            nodes.append(node)
            prev_end = start + p.size
        if any(n.kind == MULTIPART and n.boundary == boundary for n in nodes):
            return self._nested_same_boundary(boundary)
        return nodes

    @property
    def boundary(self) -> bytes | None:
        """The boundary parameter as Dovecot reads it (None if none)."""
        return next((v for k, v in self.mime.params if k.lower() == b"boundary"), None)

    def _nested_same_boundary(self, boundary: bytes) -> list[Node]:
        """The parts when a part is itself a multipart with the *same*
        boundary (RFC 2046 section 5.1.1 forbids it; some mailers do it).

        The tree splits each multipart on its own delimiter lines, so the
        outer one takes the inner one's lines. Dovecot gives each delimiter
        line to the innermost open multipart, and a close line ends that
        one; the outer multipart's parts go on after it. Read the body that
        way, with only this one boundary in play.
        """
        data, end = self.data, self.end
        dash = b"--" + boundary
        events: list[tuple[int, int, bool]] = []
        pos = self.body_start
        if not data.startswith(dash, pos):
            pos = data.find(b"\n" + dash, pos, end)
            pos = -1 if pos < 0 else pos + 1
        while 0 <= pos < end:
            nl = data.find(b"\n", pos, end)
            line_end = end if nl < 0 else nl + 1
            events.append((pos, line_end, data.startswith(b"--", pos + len(dash))))
            nxt = data.find(b"\n" + dash, line_end - 1, end)
            pos = -1 if nxt < 0 else nxt + 1

        def stop_at(i: int, start: int) -> int:
            line = events[i][0] if i < len(events) else end
            if line < end or i < len(events):
                line -= 1 if data[line - 1:line] == b"\n" else 0
                line -= 1 if data[line - 1:line] == b"\r" else 0
            return max(line, start)

        def level(i: int, depth: int) -> tuple[list[Node], int]:
            nodes: list[Node] = []
            while i < len(events):
                _line, start, close = events[i]
                i += 1
                if close:
                    return nodes, i
                node = _span_node(data, start, stop_at(i, start), depth)
                if node.kind == MULTIPART and node.boundary == boundary and depth < MAX_DEPTH:
                    node._children, i = level(i, depth + 1)
                    node.end = stop_at(i, start)
                    # Its header may end at the empty line the span now holds.
                    node.body_start = _header_end(data, start, node.end)
                elif node.kind == RFC822:
                    node.extend_over_stolen_break()
                nodes.append(node)
            return nodes, i

        return level(0, self.depth + 1)[0]

    def _message(self) -> Node:
        part = self.part
        child = part.message
        if child is not None and self._tree_agrees() and \
                part.transfer_encoding in ("7bit", "8bit", "binary"):
            shift = self.start - part.offset
            return Node(self.data, child, child.offset + shift, self.end, in_multipart=False,
                        digest=False, depth=self.depth + 1, is_message=True)
        # Encoded (or read differently by the tree): Dovecot reads the raw
        # body as a message without decoding it.
        body = self.body
        msg = parse(body)
        return Node(body, msg, 0, len(body), in_multipart=False, digest=False,
                    depth=self.depth + 1, is_message=True)

    def _tree_agrees(self) -> bool:
        """Does the tree's body start where Dovecot's does? (Then the tree's
        children are Dovecot's too.)"""
        part = self.part
        return self.body_start == part.body_offset + (self.start - part.offset)

    def extend_over_stolen_break(self) -> None:
        """Give this part the line break before the next delimiter when
        Dovecot's parser has consumed it as part of a line of this part.

        RFC 2046 gives the CRLF before a delimiter to the delimiter, and so
        does the tree. Dovecot reads line by line, so when the last line of a
        part is a header line, the empty line ending a header, or a boundary
        line of a nested multipart, that line's break is already read when
        the delimiter is seen, and it stays with the part. Only the size of a
        message/rfc822 part shows this (its size and line count include the
        break); the nested message then ends after it.
        """
        data, end = self.data, self.end
        brk = 2 if data.startswith(b"\r\n--", end) else 1 if data.startswith(b"\n--", end) else 0
        if brk and _ends_in_a_structural_line(self.children[0]):
            self.end = end + brk
            self._children = None

    def size(self) -> tuple[int, int]:
        """``(octets, lines)`` of the body, in CRLF terms."""
        return crlf_size(self.body)


def _span_node(data: bytes, start: int, end: int, depth: int) -> Node:
    """A body part at ``data[start:end]``, parsed on its own."""
    part = parse(data[start:end])
    return Node(data, part, start, end, in_multipart=True, digest=False, depth=depth,
                is_message=False)


_EMPTY_PART: Part | None = None


def _empty_node(depth: int) -> Node:
    """An empty body part (no header, no body): ``text/plain``, 0 octets."""
    global _EMPTY_PART
    if _EMPTY_PART is None:
        _EMPTY_PART = parse(b"")
    return Node(b"", _EMPTY_PART, 0, 0, in_multipart=True, digest=False, depth=depth,
                is_message=False)


def _ends_in_a_structural_line(node: Node) -> bool:
    """Does ``node`` end in a line that Dovecot reads as a unit (see
    :meth:`Node.extend_over_stolen_break`)?"""
    for _ in range(MAX_DEPTH + 2):
        if node.body_start >= node.end and not _ends_with_empty_line(node.header):
            return True  # still in the header: a header line, or its end
        if node.kind == RFC822:
            node = node.children[0]
            continue
        if node.kind != MULTIPART:
            return False
        data, end = node.data, node.end
        line = data[data.rfind(b"\n", node.body_start, end) + 1:end]
        boundary = next((v for k, v in node.mime.params if k.lower() == b"boundary"), None)
        if boundary is not None and line.startswith(b"--" + boundary):
            return True  # a delimiter line without its line break
        kids = node.children
        if not kids or kids[-1].end != end:
            return False
        node = kids[-1]
    return False


def _ends_with_empty_line(block: bytes) -> bool:
    return block in (b"\n", b"\r\n") or block.endswith((b"\n\n", b"\n\r\n"))


def message_node(message: Part, data: bytes | None = None) -> Node:
    """The root node of a message.

    Args:
        message: A parsed message (root of its tree).
        data: The message's bytes if the caller has them (saves a read);
            by default ``message.to_bytes()``.
    """
    if data is None:
        data = message.to_bytes()
    return Node(data, message, message.offset, message.offset + message.size,
                in_multipart=False, digest=False, depth=0, is_message=True)


class MessageData:
    """FETCH data of one message.

    Args:
        data: The message exactly as stored (line ends as they are: bare LF
            is fine, it is sent as CRLF).
        crlf_clean: The caller knows that every LF in ``data`` follows a CR
            (a Maildir name whose ``,S=`` size equals its ``,W=`` size), so
            BODY[] needs no scan for bare LFs.
    """

    __slots__ = ("_body", "_bodystructure", "_clean", "_envelope", "_message", "_root", "_size",
                 "data")

    def __init__(self, data: bytes, *, crlf_clean: bool = False) -> None:
        self.data = data
        self._clean = crlf_clean
        self._message: Message | None = None
        self._root: Node | None = None
        self._envelope: tuple[Any, ...] | None = None
        self._bodystructure: tuple[Any, ...] | None = None
        self._body: tuple[Any, ...] | None = None
        self._size: int | None = None

    @classmethod
    def from_path(cls, path: str | os.PathLike[str]) -> MessageData:
        """Read a message file (blocking I/O)."""
        with open(path, "rb") as f:
            return cls(f.read())

    @property
    def message(self) -> Message:
        """The message tree (:func:`mimekit.parse`)."""
        if self._message is None:
            self._message = parse(self.data)
        return self._message

    @property
    def root(self) -> Node:
        """The root entity as Dovecot reads it (:mod:`._bodystructure`)."""
        if self._root is None:
            self._root = message_node(self.message, self.data)
        return self._root

    @property
    def rfc822_size(self) -> int:
        """RFC822.SIZE: the size with CRLF line ends (what BODY[] sends)."""
        if self._size is None:
            self._size = crlf_size(self.data)[0]
        return self._size

    def envelope(self) -> tuple[Any, ...]:
        """ENVELOPE (RFC 3501 section 7.4.2)."""
        if self._envelope is None:
            self._envelope = envelope_from_fields(self.root.fields)
        return self._envelope

    def body_structure(self) -> tuple[Any, ...]:
        """BODYSTRUCTURE, with the extension data."""
        if self._bodystructure is None:
            self._bodystructure = body_structure(self.root, extended=True)
        return self._bodystructure

    def body(self) -> tuple[Any, ...]:
        """BODY (the non-extensible form of BODYSTRUCTURE)."""
        if self._body is None:
            self._body = body_structure(self.root, extended=False)
        return self._body

    def section(self, section: Section | str = "", start: int | None = None,
                length: int | None = None) -> bytes:
        """``BODY[section]<start.length>``, CRLF line ends.

        RFC822 is ``section("")``, RFC822.HEADER ``section("HEADER")`` and
        RFC822.TEXT ``section("TEXT")``.

        Raises:
            SectionError: a malformed section string or partial.
        """
        if isinstance(section, str):
            section = Section.parse(section)
        if not section.part and not section.text:
            # BODY[]: no need to parse anything.
            data = self.data if self._clean and b"\x00" not in self.data else crlf(self.data)
        else:
            data = section_bytes(self.root, section)
        if start is None:
            return data
        return partial(data, start, length)
