"""FETCH on the server: the items a client asked for, and the responses.

RFC 3501 section 6.4.5 and 9::

    fetch-att       = "ENVELOPE" / "FLAGS" / "INTERNALDATE" /
                      "RFC822" [".HEADER" / ".SIZE" / ".TEXT"] /
                      "BODY" ["STRUCTURE"] / "UID" /
                      "BODY" section ["<" number "." nz-number ">"] /
                      "BODY.PEEK" section ["<" number "." nz-number ">"]

The core has already expanded the macros ALL, FAST and FULL and upper-cased
the item names (``BODY.PEEK[HEADER.FIELDS (SUBJECT)]<0.100>`` is one atom).
:func:`parse_items` turns them into a :class:`FetchPlan` once per command;
:func:`fetch_batch` runs the plan over some messages of a
:class:`~._mailbox_view.MailboxView` and gives the octets of their
``* n FETCH`` responses. It does blocking file I/O (reading messages, and
setting ``\\Seen``), so the server calls it in a worker thread, a batch of
a few MB at a time, computing the next batch while the last one is sent: a
FETCH of a whole large mailbox never sits in memory at once.

**What it costs, and the caches.** ENVELOPE and BODYSTRUCTURE come from the
mailbox model, which parses each message once and keeps the values per
folder. Writing those nested values as IMAP text costs more than looking
them up (some 100 µs a message in Python), and the text never changes for a
UID (a message is immutable, and UIDs are never reused within a
UIDVALIDITY), so the octets as sent are kept too, in an :class:`EncodedCache`
shared by the server's sessions. A body section is sent as read: the
message's octets are a chunk of their own in the output, never copied into
a bigger buffer (a literal's length is known before it is written).

Response names follow RFC 3501 section 7.4.2: ``BODY.PEEK[...]`` is
answered as ``BODY[...]``, and a partial ``<start.length>`` as
``<start>``. ``BODY[...]`` (not PEEK), ``RFC822`` and ``RFC822.TEXT`` set
``\\Seen``; the changed FLAGS are then part of the same response (as
Dovecot does), so the client learns of the change. UID commands always get
the UID item, first.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field

from ._encode import check_atom, encode
from ._errors import LocalProtocolError
from ._mailbox_errors import MessageExpungedError
from ._mailbox_view import MailboxView
from ._sections import Section, SectionError
from ._values import Atom

__all__ = ["EncodedCache", "FetchItemError", "FetchPlan", "fetch_batch", "parse_items"]

# "BODY" / "BODY.PEEK", the section, the partial.
_BODY = re.compile(r"(BODY|BODY\.PEEK)\[([^\]]*)\](?:<([0-9]{1,10})(?:\.([0-9]{1,10}))?>)?",
                   re.DOTALL)
#: The simple items and the response name of each.
_SIMPLE = frozenset({"UID", "FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY",
                     "BODYSTRUCTURE"})
#: RFC822 items: their section, and whether they set \Seen.
_RFC822 = {"RFC822": ("", True), "RFC822.HEADER": ("HEADER", False),
           "RFC822.TEXT": ("TEXT", True)}
_MAX_NUMBER = 4_294_967_295


class FetchItemError(ValueError):
    """An item the server does not know or cannot read (answered with BAD)."""


@dataclass(frozen=True, slots=True)
class _SectionItem:
    """One ``BODY[section]<partial>`` (or RFC822 item) to send."""

    name: str
    section: Section
    start: int | None
    length: int | None


@dataclass(slots=True)
class FetchPlan:
    """What to send for each message, in the order asked.

    Attributes:
        items: The simple item names and section items, in order.
        sets_seen: A body item without PEEK: the messages get ``\\Seen``.
        wants_flags: FLAGS was asked for.
        uid: A UID FETCH (UID first in every response).
    """

    items: list[str | _SectionItem] = field(default_factory=list)
    sets_seen: bool = False
    wants_flags: bool = False
    uid: bool = False

    @property
    def needs_message(self) -> bool:
        """Some item needs the message's octets."""
        return any(isinstance(i, _SectionItem) for i in self.items)


def _number(text: str | None, what: str) -> int | None:
    if text is None:
        return None
    value = int(text)
    if value > _MAX_NUMBER:
        raise FetchItemError(f"{what} {value} is too large")
    return value


def parse_items(items: tuple[str, ...], *, uid: bool) -> FetchPlan:
    """A plan for these (upper-cased) fetch items.

    Raises:
        FetchItemError: an unknown item, a malformed section or partial.
    """
    plan = FetchPlan(uid=uid)
    seen: set[str] = set()
    if uid:
        plan.items.append("UID")
        seen.add("UID")
    for raw in items:
        item = raw.upper()
        if item in _SIMPLE:
            if item not in seen:
                seen.add(item)
                plan.items.append(item)
                plan.wants_flags |= item == "FLAGS"
            continue
        if item in _RFC822:
            spec, sets_seen = _RFC822[item]
            plan.items.append(_SectionItem(item, Section.parse(spec), None, None))
            plan.sets_seen |= sets_seen
            continue
        m = _BODY.fullmatch(raw)
        if m is None:
            raise FetchItemError(f"unknown FETCH item {raw}")
        try:
            section = Section.parse(m.group(2))
        except SectionError as exc:
            raise FetchItemError(str(exc)) from None
        start = _number(m.group(3), "partial start")
        length = _number(m.group(4), "partial length")
        name = f"BODY[{section}]" + (f"<{start}>" if start is not None else "")
        try:
            check_atom(name)  # a header field name that could not be echoed back
        except LocalProtocolError as exc:
            raise FetchItemError(str(exc)) from None
        plan.items.append(_SectionItem(name, section, start, length))
        plan.sets_seen |= m.group(1) == "BODY"
    return plan


class EncodedCache:
    """ENVELOPE, BODYSTRUCTURE and BODY of messages as sent (the encoded
    octets), least recently used first out, bounded in octets. Shared by
    the sessions of a server (thread-safe: FETCH runs in worker threads).

    Keys are ``(folder directory, UIDVALIDITY, UID, item)``: a UID names
    the same octets for as long as its UIDVALIDITY lasts.

    Args:
        max_bytes: The most octets kept (values and keys, roughly).
    """

    def __init__(self, max_bytes: int = 64 << 20) -> None:
        self.max_bytes = max_bytes
        self._data: OrderedDict[tuple[str, int, int, str], bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, key: tuple[str, int, int, str]) -> bytes | None:
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    def put(self, key: tuple[str, int, int, str], value: bytes) -> None:
        with self._lock:
            old = self._data.pop(key, None)
            if old is not None:
                self._size -= len(old) + 100
            self._data[key] = value
            self._size += len(value) + 100
            while self._size > self.max_bytes and self._data:
                _, dropped = self._data.popitem(last=False)
                self._size -= len(dropped) + 100


#: Literals at least this long are separate output chunks (never copied
#: into a buffer with the rest).
BIG = 32 << 10


class _Out:
    """The octets of some responses, as a list of chunks: small pieces
    joined, big literals kept as they are."""

    __slots__ = ("chunks", "size", "small")

    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.small: list[bytes] = []
        self.size = 0

    def add(self, data: bytes) -> None:
        self.size += len(data)
        if len(data) >= BIG:
            self._join()
            self.chunks.append(data)
        else:
            self.small.append(data)

    def _join(self) -> None:
        if self.small:
            self.chunks.append(b"".join(self.small))
            self.small = []

    def finish(self) -> list[bytes]:
        self._join()
        return self.chunks


def _flags(flags: tuple[str, ...]) -> bytes:
    return b"".join(encode([tuple(Atom(f) for f in flags)]))


def _value(value: object) -> bytes:
    return b"".join(encode([value]))


def _structure(view: MailboxView, seq: int, item: str, cache: EncodedCache) -> bytes:
    """The encoded ENVELOPE, BODYSTRUCTURE or BODY of a message, cached."""
    uid = view.uid(seq)
    key = (str(view.folder.path), view.uidvalidity, uid, item)
    data = cache.get(key)
    if data is None:
        if item == "ENVELOPE":
            value = view.envelope(seq)
        else:
            value = view.body_structure(seq, extended=item == "BODYSTRUCTURE")
        data = _value(value)
        cache.put(key, data)
    return data


def _one(view: MailboxView, seq: int, plan: FetchPlan, flags_changed: bool,
         cache: EncodedCache, out: _Out) -> None:
    """Write one message's ``* n FETCH (...)`` (raises MessageExpungedError
    before writing anything)."""
    data = view.message_data(seq) if plan.needs_message else None
    # Each item: its pieces (a literal's octets are a piece of their own).
    items: list[tuple[bytes, ...]] = []
    for item in plan.items:
        if isinstance(item, _SectionItem):
            assert data is not None
            octets = data.section(item.section, item.start, item.length)
            items.append((item.name.encode("ascii") + b" {%d}\r\n" % len(octets), octets))
            continue
        if item == "UID":
            value = b"%d" % view.uid(seq)
        elif item == "FLAGS":
            value = _flags(view.message_flags(seq))
        elif item == "INTERNALDATE":
            value = _value(view.internal_date(seq).astimezone())
        elif item == "RFC822.SIZE":
            value = b"%d" % view.rfc822_size(seq)
        else:  # ENVELOPE, BODYSTRUCTURE, BODY
            value = _structure(view, seq, item, cache)
        items.append((item.encode("ascii") + b" " + value,))
    if flags_changed and not plan.wants_flags:
        # RFC 3501 6.4.5: \Seen set by this FETCH; tell the client with it.
        items.append((b"FLAGS " + _flags(view.message_flags(seq)),))
    out.add(b"* %d FETCH (" % seq)
    for i, pieces in enumerate(items):
        if i:
            out.add(b" ")
        for piece in pieces:
            out.add(piece)
    out.add(b")\r\n")


def fetch_batch(view: MailboxView, seqs: list[int], plan: FetchPlan, cache: EncodedCache,
                max_bytes: int = 4 << 20) -> tuple[list[bytes], int, int]:
    """Run ``plan`` over the first messages of ``seqs`` (blocking I/O),
    stopping after about ``max_bytes`` of output.

    Returns:
        The output chunks (``* n FETCH`` responses), how many of ``seqs``
        were done, and how many of those were skipped because another
        session expunged them (their numbers live on until the EXPUNGE is
        sent, RFC 3501 section 7.4.1).
    """
    out = _Out()
    skipped = done = 0
    step = 16  # \Seen is set a few messages ahead, in one STORE each time
    for start in range(0, len(seqs), step):
        group = seqs[start:start + step]
        changed: set[int] = set()
        if plan.sets_seen and not view.readonly:
            changed = {seq for seq, _uid, _flags in view.mark_seen(
                [s for s in group if not view.is_expunged(s)])}
        for seq in group:
            done += 1
            if view.is_expunged(seq):
                skipped += 1
                continue
            try:
                _one(view, seq, plan, seq in changed, cache, out)
            except MessageExpungedError:
                skipped += 1
        if out.size >= max_bytes:
            break
    return out.finish(), done, skipped
