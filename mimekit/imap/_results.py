"""What the IMAP clients return: typed results built from responses.

Frozen dataclasses, no I/O. :class:`FetchResult` turns a FETCH response's
raw items into Python values (:func:`fetch_value`) and looks items up by
the name they were asked for (``"BODY.PEEK[]"`` finds ``"BODY[]"``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from ._responses import ResponseCode
from ._structures import BodyStructure, Envelope, parse_bodystructure, parse_envelope
from ._values import Value, as_bytes, as_text, parse_datetime

__all__ = [
    "AppendResult",
    "CopyResult",
    "FetchResult",
    "MailboxInfo",
    "Namespaces",
    "SearchSummary",
    "SelectInfo",
    "SPECIAL_USE",
    "fetch_key",
    "fetch_value",
    "uid_list",
]

#: RFC 6154 special-use attributes (and ``\Important``, RFC 8457).
SPECIAL_USE = frozenset({"\\ALL", "\\ARCHIVE", "\\DRAFTS", "\\FLAGGED", "\\JUNK", "\\SENT",
                         "\\TRASH", "\\IMPORTANT"})


@dataclass(frozen=True, slots=True, kw_only=True)
class MailboxInfo:
    """One LIST (or LSUB) entry.

    Attributes:
        name: The decoded name (modified UTF-7 undone), hierarchy included:
            ``"Archive/2024"``.
        raw_name: The name as on the wire (give either to the client's methods).
        delimiter: The hierarchy delimiter (``"/"``), or None.
        flags: The name attributes as sent (``\\HasNoChildren``, ``\\Sent``...).
        special_use: The RFC 6154 attribute (``"\\Sent"``, ``"\\Trash"``...),
            or None.
    """

    name: str
    raw_name: str
    delimiter: str | None
    flags: tuple[str, ...] = ()
    special_use: str | None = None

    @property
    def selectable(self) -> bool:
        """Not ``\\Noselect`` nor ``\\NonExistent``."""
        return not {f.upper() for f in self.flags} & {"\\NOSELECT", "\\NONEXISTENT"}


@dataclass(frozen=True, slots=True, kw_only=True)
class SelectInfo:
    """What SELECT or EXAMINE reported (RFC 3501 section 6.3.1).

    Attributes:
        name: The mailbox selected (decoded).
        exists: Messages in the mailbox (kept current by later EXISTS and
            EXPUNGE responses on the client's ``selected`` copy).
        recent: ``\\Recent`` messages (0 when the server no longer says).
        uidvalidity: The UIDVALIDITY (UIDs are valid with it only).
        uidnext: The predicted next UID, or None.
        unseen: The sequence number of the first unseen message, or None.
        flags: The flags defined in the mailbox.
        permanent_flags: Flags the client may change permanently
            (``\\*``: new keywords too), or None when not reported.
        readonly: Selected read-only (EXAMINE, or ``[READ-ONLY]``).
        highest_modseq: RFC 7162 HIGHESTMODSEQ, or None.
    """

    name: str
    exists: int = 0
    recent: int = 0
    uidvalidity: int | None = None
    uidnext: int | None = None
    unseen: int | None = None
    flags: tuple[str, ...] = ()
    permanent_flags: tuple[str, ...] | None = None
    readonly: bool = False
    highest_modseq: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AppendResult:
    """RFC 4315 ``[APPENDUID uidvalidity uid]``: where APPEND put the message."""

    uidvalidity: int
    uid: int


@dataclass(frozen=True, slots=True, kw_only=True)
class SearchSummary:
    """What a search found, without every UID (RFC 4731 ESEARCH).

    Attributes:
        count: How many messages matched.
        min: The lowest matching UID, None when nothing matched.
        max: The highest matching UID, None when nothing matched.
        uids: Every matching UID (ascending) when asked for, else None.
    """

    count: int
    min: int | None = None
    max: int | None = None
    uids: tuple[int, ...] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CopyResult:
    """RFC 4315 ``[COPYUID uidvalidity source dest]``: the new UIDs.

    Attributes:
        uidvalidity: The destination mailbox's UIDVALIDITY.
        source_uids: The copied messages' UIDs, in the server's order.
        dest_uids: Their new UIDs, in the same order.
    """

    uidvalidity: int
    source_uids: tuple[int, ...]
    dest_uids: tuple[int, ...]

    @property
    def mapping(self) -> dict[int, int]:
        """``{source uid: destination uid}``."""
        return dict(zip(self.source_uids, self.dest_uids, strict=False))


@dataclass(frozen=True, slots=True, kw_only=True)
class Namespaces:
    """RFC 2342 NAMESPACE: ``(prefix, delimiter)`` pairs per class."""

    personal: tuple[tuple[str, str | None], ...] = ()
    other: tuple[tuple[str, str | None], ...] = ()
    shared: tuple[tuple[str, str | None], ...] = ()


#: The most UIDs :func:`uid_list` expands (as many as a COPY could name).
_MAX_UIDS = 10_000_000


def uid_list(text: str) -> tuple[int, ...]:
    """The UIDs of a ``uid-set`` in the order written (COPYUID keeps the
    pairing by order, so ranges are expanded in place, not sorted)."""
    out: list[int] = []
    for part in text.split(","):
        lo, _, hi = part.partition(":")
        if not lo.isdigit() or (hi and not hi.isdigit()):
            return ()
        a, b = int(lo), int(hi or lo)
        # Bound the whole list, not each range: a line of many big ranges
        # from a hostile server must not take all the memory.
        if len(out) + abs(b - a) > _MAX_UIDS:
            return ()
        out.extend(range(a, b + 1) if a <= b else range(a, b - 1, -1))
    return tuple(out)


def append_result(code: ResponseCode | None) -> AppendResult | None:
    """The APPENDUID code's content, or None."""
    if code is None or code.name != "APPENDUID" or len(code.values) < 2:
        return None
    validity, uid = code.values[0], code.values[1]
    if not isinstance(validity, int) or not isinstance(uid, int):
        return None
    return AppendResult(uidvalidity=validity, uid=uid)


def copy_result(code: ResponseCode | None) -> CopyResult | None:
    """The COPYUID code's content, or None."""
    if code is None or code.name != "COPYUID" or len(code.values) < 3:
        return None
    validity = code.values[0]
    source, dest = as_text(code.values[1]), as_text(code.values[2])
    if not isinstance(validity, int) or source is None or dest is None:
        return None
    return CopyResult(uidvalidity=validity, source_uids=uid_list(source),
                      dest_uids=uid_list(dest))


# -- FETCH ------------------------------------------------------------------------------------

_PEEK = re.compile(r"^(BODY|BINARY)\.PEEK\[", re.IGNORECASE)
_PARTIAL = re.compile(r"<(\d+)(?:\.\d+)?>$")


def fetch_key(name: str) -> str:
    """The name a FETCH *response* uses for a requested item:
    ``BODY.PEEK[TEXT]<0.100>`` -> ``BODY[TEXT]<0>`` (RFC 3501 7.4.2)."""
    key = name.upper().strip()
    key = _PEEK.sub(lambda m: m.group(1).upper() + "[", key)
    return _PARTIAL.sub(lambda m: f"<{m.group(1)}>", key)


def _flags(value: Value) -> tuple[str, ...] | None:
    if not isinstance(value, tuple):
        return None
    return tuple(str(v) for v in value if isinstance(v, str))


def fetch_value(name: str, value: Value) -> object:
    """A FETCH item's value as a Python value.

    ``FLAGS`` -> ``tuple[str, ...]``; ``INTERNALDATE`` -> ``datetime``;
    ``RFC822.SIZE``, ``UID``, ``MODSEQ`` -> ``int``; ``ENVELOPE`` ->
    :class:`Envelope`; ``BODYSTRUCTURE`` and ``BODY`` -> :class:`BodyStructure`;
    body sections (``BODY[...]``, ``BINARY[...]``, ``RFC822``,
    ``RFC822.HEADER``, ``RFC822.TEXT``) -> ``bytes`` (None for NIL). Anything
    else, or a malformed value, stays raw.
    """
    if name == "FLAGS":
        return _flags(value) or ()
    if name == "INTERNALDATE":
        text = as_text(value)
        return (parse_datetime(text) if text else None) or value
    if name in ("RFC822.SIZE", "UID"):
        return value
    if name == "MODSEQ":
        if isinstance(value, tuple) and len(value) == 1 and isinstance(value[0], int):
            return value[0]
        return value
    if name == "ENVELOPE":
        return parse_envelope(value) or value
    if name in ("BODYSTRUCTURE", "BODY"):
        return parse_bodystructure(value) or value
    if "[" in name or name in ("RFC822", "RFC822.HEADER", "RFC822.TEXT"):
        return None if value is None else as_bytes(value)
    return value


@dataclass(frozen=True, slots=True)
class FetchResult(Mapping[str, object]):
    """One message's FETCH items, typed (see :func:`fetch_value`).

    A mapping from item names as the server sent them (``"FLAGS"``,
    ``"BODY[]"``, ``"BODY[HEADER.FIELDS (SUBJECT)]"``, ``"BODY[]<0>"``);
    lookups also accept the requested form (``result["BODY.PEEK[]"]``,
    ``result["body[text]<0.100>"]``).

    Attributes:
        seq: The message sequence number.
        data: The typed items, by the server's names.
    """

    seq: int
    data: dict[str, object] = field(default_factory=dict)

    def __getitem__(self, name: str) -> object:
        try:
            return self.data[name]
        except KeyError:
            return self.data[fetch_key(name)]

    def __iter__(self) -> Iterator[str]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)

    @property
    def uid(self) -> int | None:
        """The UID, when fetched (always with UID FETCH)."""
        value = self.data.get("UID")
        return value if isinstance(value, int) else None

    @property
    def flags(self) -> tuple[str, ...]:
        """The flags (empty when not fetched)."""
        value = self.data.get("FLAGS")
        return value if isinstance(value, tuple) else ()

    @property
    def envelope(self) -> Envelope | None:
        """The ENVELOPE, when fetched."""
        value = self.data.get("ENVELOPE")
        return value if isinstance(value, Envelope) else None

    @property
    def bodystructure(self) -> BodyStructure | None:
        """The BODYSTRUCTURE (or BODY), when fetched."""
        for name in ("BODYSTRUCTURE", "BODY"):
            value = self.data.get(name)
            if isinstance(value, BodyStructure):
                return value
        return None

    @property
    def internaldate(self) -> datetime | None:
        """The INTERNALDATE, when fetched."""
        value = self.data.get("INTERNALDATE")
        return value if isinstance(value, datetime) else None

    @property
    def size(self) -> int | None:
        """RFC822.SIZE, when fetched."""
        value = self.data.get("RFC822.SIZE")
        return value if isinstance(value, int) else None


def fetch_result(seq: int, raw: Mapping[str, object]) -> FetchResult:
    """Type the raw items of one FETCH response."""
    return FetchResult(seq, {name: fetch_value(name, value)  # type: ignore[arg-type]
                             for name, value in raw.items()})

