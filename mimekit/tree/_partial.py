"""Reassembling a message split into ``message/partial`` fragments.

RFC 2046 section 5.2.2: a message too large for some transport is cut into
pieces, each sent as the body of a ``message/partial`` message::

    Content-Type: message/partial; id="ABC@host.com"; number=2; total=3

``id`` is the same in every fragment, ``number`` counts from 1, and
``total`` is required on the last fragment (optional on the others). The
bodies, concatenated in order, are the original message: the first one
starts with its header block.

Header merging, RFC 2046 section 5.2.2.1:

    (1) All of the header fields from the initial enclosing message, except
    those that start with "Content-" and the specific header fields
    "Subject", "Message-ID", "Encrypted", and "MIME-Version", must be
    copied, in order, to the new message.

    (2) The header fields in the enclosed message which start with
    "Content-", plus the "Subject", "Message-ID", "Encrypted", and
    "MIME-Version" fields, must be appended, in order, to the header fields
    of the new message. Any header fields in the enclosed message which do
    not start with "Content-" (except for the "Subject", "Message-ID",
    "Encrypted", and "MIME-Version" fields) will be ignored and dropped.

The RFC's own example (section 5.2.2.2) does not append the enclosed
Subject and Message-ID "in order": its result has the enclosed ``Subject``
and ``Message-ID`` where the enclosing message had its own, in the
enclosing message's order. mimekit follows the example, as MimeKit and
GMime do: an enclosed Subject, Message-ID, Encrypted or MIME-Version field
takes the place of the enclosing message's field of the same name; those
the enclosing message lacks, then the enclosed ``Content-*`` fields, are
appended in their order. Every field is copied byte for byte (folding and
line ending kept), so joining MimeKit's test fragments gives MimeKit's
expected files exactly.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .._errors import MimekitError
from ._headers import Header
from ._limits import Limits
from ._message import Message
from ._parse import Parser, parse
from ._part import Part

__all__ = ["PartialJoinError", "join_partial"]

#: Fields of the enclosed message that survive, besides Content-* (RFC 2046
#: section 5.2.2.1); the enclosing message's fields of these names do not.
_FROM_ENCLOSED = frozenset({"subject", "message-id", "encrypted", "mime-version"})
#: Largest ``number``/``total`` read (more digits is not a real fragment count).
_MAX_DIGITS = 9


class PartialJoinError(MimekitError, ValueError):
    """The fragments given to :func:`~mimekit.join_partial` do not make one message.

    The list of fragments is the caller's choice (which messages to join),
    so this is a caller error, raised at once: a fragment that is not
    ``message/partial`` or lacks a valid ``id``/``number``, fragments of
    different messages, a fragment given twice with different bodies, or
    fragments missing.
    """


@dataclass(slots=True)
class _Fragment:
    part: Part
    number: int
    total: int | None


def join_partial(fragments: Iterable[Part | bytes | bytearray | memoryview], *,
                 limits: Limits | None = None) -> Message:
    """Reassemble a message from its ``message/partial`` fragments.

    Args:
        fragments: Every fragment, in any order: parsed messages (or any
            part whose Content-Type is ``message/partial``) or raw bytes.
            A fragment given twice with the same body counts once (the
            first one given is used).
        limits: Parser limits for the joined message.

    Returns:
        The enclosed message, with its header fields merged with those of
        the first fragment's enclosing message (see the module docstring).
        Its bytes are new: the fragments' bodies are streamed into a
        :class:`~mimekit.Parser`, which spools to a temporary file past
        8 MiB, so joining a large message stays in bounded memory. An
        mbox ``From`` line of the first fragment is not carried over.

    Raises:
        PartialJoinError: (a ``ValueError``) no fragments; a fragment that
            is not ``message/partial``, or without ``id``, or with a
            ``number`` or ``total`` that is not a positive integer; ids
            that differ; no fragment with ``total``, or totals that differ,
            or a number above the total; the same number twice with
            different bodies; fragments missing.
        TypeError: a fragment that is neither a Part nor bytes.
    """
    found: dict[int, _Fragment] = {}
    ids: set[str] = set()
    totals: set[int] = set()
    for i, item in enumerate(fragments):
        frag, frag_id = _fragment(i, item)
        ids.add(frag_id)
        if len(ids) > 1:
            raise PartialJoinError(f"fragments of different messages: ids {sorted(ids)}")
        if frag.total is not None:
            totals.add(frag.total)
        seen = found.setdefault(frag.number, frag)
        if seen is not frag and seen.part.get_bytes() != frag.part.get_bytes():
            raise PartialJoinError(f"fragment {frag.number} is given twice, with different "
                                   "bodies")
    if not found:
        raise PartialJoinError("no fragments to join")
    if len(totals) > 1:
        raise PartialJoinError(f"the fragments disagree on total ({sorted(totals)})")
    if not totals:
        raise PartialJoinError("no fragment says total= (the last fragment must): "
                               "fragments missing")
    total = totals.pop()
    if max(found) > total:
        raise PartialJoinError(f"fragment {max(found)} is beyond total={total}")
    if len(found) < total:
        # The numbers found are distinct and <= total, so the first missing
        # one is <= len(found) + 1: list a few without walking to total
        # (which a hostile fragment may set to 999999999).
        missing = [n for n in range(1, min(total, len(found) + 10) + 1) if n not in found]
        raise PartialJoinError(f"fragments missing: {', '.join(map(str, missing))} "
                               f"(have {len(found)} of {total})")
    return _assemble([found[n].part for n in range(1, total + 1)], limits)


def _fragment(index: int, item: Part | bytes | bytearray | memoryview) -> tuple[_Fragment, str]:
    if isinstance(item, (bytes, bytearray, memoryview)):
        part: Part = parse(item)
    elif isinstance(item, Part):
        part = item
    else:
        raise TypeError(f"fragment {index}: expected a Message or bytes, "
                        f"not {type(item).__name__}")
    ctype = part.content_type
    if ctype.mime_type != "message/partial":
        raise PartialJoinError(f"fragment {index} is {ctype.mime_type}, not message/partial")
    frag_id = ctype.params.get("id")
    if not frag_id:
        raise PartialJoinError(f"fragment {index} has no id parameter")
    number = _positive(ctype.params.get("number"))
    if number is None:
        raise PartialJoinError(f"fragment {index} has no valid number parameter "
                               f"({ctype.params.get('number')!r})")
    raw_total = ctype.params.get("total")
    total = _positive(raw_total)
    if raw_total is not None and total is None:
        raise PartialJoinError(f"fragment {index} has an invalid total parameter "
                               f"({raw_total!r})")
    return _Fragment(part, number, total), frag_id


def _positive(value: str | None) -> int | None:
    """RFC 2046: ``number`` and ``total`` are ``1*DIGIT``; 0 is no part number."""
    value = value.strip() if value is not None else None
    if not value or not value.isascii() or not value.isdigit() or len(value) > _MAX_DIGITS:
        return None
    return int(value) or None


def _assemble(parts: list[Part], limits: Limits | None) -> Message:
    # 1. The enclosed message: every fragment's body, transfer encoding
    #    undone (RFC 2046 wants 7bit, but a gateway may have encoded it).
    joined = Parser(limits=limits)
    for part in parts:
        for chunk in part.iter_bytes():
            joined.feed(chunk)
    enclosed = joined.close()
    try:
        # 2. The same message with the merged header block.
        out = Parser(limits=limits)
        out.feed(_merged_header_block(parts[0].headers, enclosed))
        src, end = enclosed._src, enclosed.offset + enclosed.size
        for chunk in src.iter_range(enclosed.body_offset, end):
            out.feed(chunk)
        return out.close()
    finally:
        enclosed.close()


def _merged_header_block(outer: Iterable[Header], enclosed: Message) -> bytes:
    """RFC 2046 section 5.2.2.1, as its example shows it (module docstring)."""
    headers = enclosed.headers
    linesep = headers.linesep
    inner = list(headers)
    wanted = [h for h in inner if h.name.lower() in _FROM_ENCLOSED]
    used: set[int] = set()
    fields: list[bytes] = []
    for h in outer:
        name = h.name.lower()
        if name.startswith("content-"):
            continue
        if name not in _FROM_ENCLOSED:
            fields.append(h.raw)
            continue
        # Its place goes to the enclosed field of the same name, if any.
        for i, w in enumerate(wanted):
            if i not in used and w.name.lower() == name:
                used.add(i)
                fields.append(w.raw)
                break
    fields += [w.raw for i, w in enumerate(wanted) if i not in used]
    fields += [h.raw for h in inner if h.name.lower().startswith("content-")]
    # A last field at EOF may lack its line ending.
    fields = [f if f.endswith(b"\n") else f + linesep for f in fields]
    separator = headers._separator
    if not separator and enclosed.body_offset < enclosed.offset + enclosed.size:
        separator = linesep  # the enclosed block had no empty line before its body
    return b"".join(fields) + separator
