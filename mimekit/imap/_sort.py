"""SORT (RFC 5256) over a selected mailbox, with RFC 5957's DISPLAYFROM/DISPLAYTO.

The messages a SEARCH key selects are ordered by the criteria, each one
optionally ``REVERSE``; messages equal on every criterion stay in mailbox
order (RFC 5256 section 3), which a stable sort per criterion, last to
first, gives for free.

The keys, as RFC 5256 section 3 and RFC 5957 define them:

* ``ARRIVAL``: INTERNALDATE. ``SIZE``: RFC822.SIZE.
* ``DATE``: the Date field as a UTC instant; a message without a valid one
  sorts by its INTERNALDATE instead.
* ``FROM``, ``TO``, ``CC``: the local part (``addr-mailbox``) of the first
  address, case-insensitively; none sorts first.
* ``DISPLAYFROM``, ``DISPLAYTO``: the first address's display name, or its
  address when it has none (RFC 5957 section 3).
* ``SUBJECT``: the *base subject* of RFC 5256 section 2.1 (no ``Re:``,
  ``Fwd:``, ``[list]`` tags or ``(fwd)`` trailers; :func:`base_subject`).

Text compares with Python's ``casefold`` (close to the i;unicode-casemap
collation the RFC names). Only the header block of each message is read;
the subject is cut to 2000 characters before its base is computed, so a
hostile subject of nested ``[...]`` blobs costs bounded time.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..fields import Mailbox
from ..tree import Message, parse

if TYPE_CHECKING:
    from ._mailbox_view import MailboxView

__all__ = ["base_subject", "sort"]

_SPACES = re.compile(r"[ \t\r\n]+")
# RFC 5256 section 5: subj-leader without its WSP alternative,
# (*subj-blob subj-refwd); BLOBCHAR is any CHAR but "[" and "]".
_LEADER = re.compile(r"(?:\[[^\[\]]*\] *)*(?:re|fwd?) *(?:\[[^\[\]]*\] *)?:", re.IGNORECASE)
_BLOB = re.compile(r"\[[^\[\]]*\] *")
_MAX_SUBJECT = 2000
#: The most of a message read to find its header block.
_MAX_HEADER = 1 << 20


def base_subject(subject: str) -> str:
    """The base subject of RFC 5256 section 2.1, for SORT SUBJECT and THREAD.

    >>> base_subject("Re: [list] Fwd: Hello (fwd)")
    'Hello'
    >>> base_subject("[fwd: Re: Hello]")
    'Hello'
    """
    # (1) Encoded words are already decoded; whitespace runs become one space.
    text = _SPACES.sub(" ", subject[:_MAX_SUBJECT])
    while True:
        # (2) Trailing "(fwd)" and whitespace, repeatedly.
        while True:
            stripped = text.rstrip(" ")
            if stripped[-5:].lower() == "(fwd)":
                stripped = stripped[:-5]
            if stripped == text:
                break
            text = stripped
        # (3)-(5) Leading "Re:"/"Fwd:" (after blobs) and whitespace; a blob
        # alone, when what follows is not empty.
        while True:
            before = text
            text = text.lstrip(" ")
            m = _LEADER.match(text)
            if m is not None:
                text = text[m.end():]
                continue
            m = _BLOB.match(text)
            if m is not None and text[m.end():].strip(" "):
                text = text[m.end():]
            if text == before:
                break
        # (6) "[fwd: ...]" around the whole: unwrap and start again.
        if text[:5].lower() == "[fwd:" and text.endswith("]"):
            text = text[5:-1]
            continue
        return text


def _header(view: MailboxView, uid: int) -> Message:
    """The message's header block, parsed (its body is not read)."""
    data = bytearray()
    try:
        with view.folder.open(uid) as f:
            while len(data) < _MAX_HEADER:
                chunk = f.read(16384)
                if not chunk:
                    break
                start = max(0, len(data) - 3)
                data += chunk
                if data.find(b"\n\n", start) >= 0 or data.find(b"\n\r\n", start) >= 0:
                    break
    except (OSError, KeyError):
        data.clear()  # expunged or gone meanwhile: sorts as an empty message
    return parse(bytes(data))


def _first(msg: Message, field: str) -> Mailbox | None:
    boxes: tuple[Mailbox, ...] = getattr(msg, field).mailboxes
    return boxes[0] if boxes else None


def _first_local(field: str) -> Callable[[Message], str]:
    def key(msg: Message) -> str:
        box = _first(msg, field)
        return box.local_part.casefold() if box is not None else ""
    return key


def _first_display(field: str) -> Callable[[Message], str]:
    def key(msg: Message) -> str:
        box = _first(msg, field)
        return (box.name or box.addr_spec).casefold() if box is not None else ""
    return key


_HEADER_KEYS: dict[str, Callable[[Message], Any]] = {
    "FROM": _first_local("from_"), "TO": _first_local("to"), "CC": _first_local("cc"),
    "DISPLAYFROM": _first_display("from_"), "DISPLAYTO": _first_display("to"),
    "SUBJECT": lambda msg: base_subject(msg.subject or "").casefold(),
}


def sort(view: MailboxView, key: Any, order: tuple[str, ...], *, uid: bool = False) -> list[int]:
    """SORT: the sequence numbers (or UIDs) of the messages ``key`` selects,
    ordered by ``order`` (the parsed criteria, ``REVERSE`` before a key).

    Raises:
        SearchError, SearchCharsetError: as :func:`._search_eval.search`.
    """
    seqs = view.search(key)
    criteria: list[tuple[str, bool]] = []
    reverse = False
    for word in order:
        if word == "REVERSE":
            reverse = True
        else:
            criteria.append((word, reverse))
            reverse = False
    headers: dict[int, Message] = {}

    def message(seq: int) -> Message:
        msg = headers.get(seq)
        if msg is None:
            msg = headers[seq] = _header(view, view.uids[seq - 1])
        return msg

    def arrival(seq: int) -> float:
        return view.internal_date(seq).timestamp()

    def sent(seq: int) -> float:
        when = message(seq).date
        return when.timestamp() if when is not None else arrival(seq)

    keys: dict[str, Callable[[int], Any]] = {
        "ARRIVAL": arrival, "DATE": sent, "SIZE": view.rfc822_size}
    ordered = list(seqs)  # ascending: the tie order
    for name, backwards in reversed(criteria):
        of_header = _HEADER_KEYS.get(name)
        if of_header is not None:
            values = {seq: of_header(message(seq)) for seq in ordered}
        else:
            values = {seq: keys[name](seq) for seq in ordered}
        ordered.sort(key=values.__getitem__, reverse=backwards)
    return [view.uids[seq - 1] for seq in ordered] if uid else ordered
