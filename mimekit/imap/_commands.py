"""IMAP commands: the events a client sends and a server receives.

Each is a frozen, slotted, keyword-only dataclass (convention 3) with the
command's arguments as Python values; :meth:`Command.arguments` gives the
values the encoder writes after ``tag NAME`` and
:func:`~._command_parse.parse_command` reads them back on the server. Names
of mailboxes are the names *on the wire* (modified UTF-7 unless
``UTF8=ACCEPT`` is on): the client encodes and the server decodes them
(:func:`mimekit.codecs.encode_imap_utf7`), the core does not guess.

RFC 3501 section 9 (abridged)::

    command         = tag SP (command-any / command-auth / command-nonauth /
                      command-select) CRLF
    command-any     = "CAPABILITY" / "LOGOUT" / "NOOP" / x-command
    command-auth    = append / create / delete / examine / list / lsub /
                      rename / select / status / subscribe / unsubscribe
    command-nonauth = login / authenticate / "STARTTLS"
    command-select  = "CHECK" / "CLOSE" / "EXPUNGE" / copy / fetch / store /
                      uid / search
    uid             = "UID" SP (copy / fetch / search / store)

plus RFC 2177 IDLE, RFC 2342 NAMESPACE, RFC 2971 ID, RFC 3691 UNSELECT,
RFC 4315 ``UID EXPUNGE``, RFC 5161 ENABLE, RFC 6851 MOVE.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from ._responses import Event
from ._states import Kind
from ._values import Atom, Value

__all__ = [
    "Append",
    "Authenticate",
    "Capability",
    "Check",
    "Close",
    "Command",
    "Copy",
    "Create",
    "Delete",
    "Enable",
    "Examine",
    "Expunge",
    "FETCH_MACROS",
    "Fetch",
    "Id",
    "Idle",
    "List",
    "Login",
    "Logout",
    "Lsub",
    "Move",
    "Namespace",
    "Noop",
    "Rename",
    "Search",
    "Select",
    "Sort",
    "StartTLS",
    "Status",
    "Store",
    "Subscribe",
    "Unselect",
    "Unsubscribe",
]

#: RFC 3501 section 6.4.5: the FETCH macros, expanded by the server core.
FETCH_MACROS: dict[str, tuple[str, ...]] = {
    "ALL": ("FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE"),
    "FAST": ("FLAGS", "INTERNALDATE", "RFC822.SIZE"),
    "FULL": ("FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY"),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Command(Event):
    """Base class of the commands.

    Attributes:
        tag: The command's tag. A client core assigns one when it is ``""``
            (see ``ClientConnection.last_tag``); a server gets the tag sent.
    """

    tag: str = ""
    KIND: ClassVar[Kind]

    @property
    def kind(self) -> Kind:
        """The command's kind in the transition table."""
        return self.KIND

    @property
    def name(self) -> str:
        """The command as written: ``"FETCH"``, or ``"UID FETCH"``."""
        return ("UID " if getattr(self, "uid", False) else "") + self.KIND.value

    def arguments(self) -> list[object]:
        """The values written after the name."""
        return []


@dataclass(frozen=True, slots=True, kw_only=True)
class Capability(Command):
    """``CAPABILITY`` (RFC 3501 section 6.1.1)."""

    KIND: ClassVar[Kind] = Kind.CAPABILITY


@dataclass(frozen=True, slots=True, kw_only=True)
class Noop(Command):
    """``NOOP``: also how a client polls for mailbox changes."""

    KIND: ClassVar[Kind] = Kind.NOOP


@dataclass(frozen=True, slots=True, kw_only=True)
class Logout(Command):
    """``LOGOUT``: the server sends ``* BYE`` then the tagged OK."""

    KIND: ClassVar[Kind] = Kind.LOGOUT


@dataclass(frozen=True, slots=True, kw_only=True)
class StartTLS(Command):
    """``STARTTLS`` (RFC 3501 section 6.2.1): the handshake follows the OK."""

    KIND: ClassVar[Kind] = Kind.STARTTLS


@dataclass(frozen=True, slots=True, kw_only=True)
class Login(Command):
    """``LOGIN user password`` (both astrings)."""

    KIND: ClassVar[Kind] = Kind.LOGIN
    user: str
    password: str

    def arguments(self) -> list[object]:
        return [self.user, self.password]

    def __repr__(self) -> str:  # keep passwords out of logs and tracebacks
        return f"Login(tag={self.tag!r}, user={self.user!r}, password=<hidden>)"


@dataclass(frozen=True, slots=True, kw_only=True)
class Authenticate(Command):
    """``AUTHENTICATE mechanism [initial-response]`` (RFC 3501 6.2.2, RFC 4959).

    Attributes:
        mechanism: Upper-cased SASL mechanism name.
        initial_response: The base64 initial response (``"="`` for an
            empty one, SASL-IR), or None.
    """

    KIND: ClassVar[Kind] = Kind.AUTHENTICATE
    mechanism: str
    initial_response: str | None = None

    def arguments(self) -> list[object]:
        out: list[object] = [Atom(self.mechanism.upper())]
        if self.initial_response is not None:
            out.append(Atom(self.initial_response))
        return out

    def __repr__(self) -> str:
        shown = None if self.initial_response is None else "<hidden>"
        return f"Authenticate(tag={self.tag!r}, mechanism={self.mechanism!r}, " \
               f"initial_response={shown})"


@dataclass(frozen=True, slots=True, kw_only=True)
class Select(Command):
    """``SELECT mailbox [(params)]`` (RFC 3501 6.3.1; RFC 7162 CONDSTORE)."""

    KIND: ClassVar[Kind] = Kind.SELECT
    mailbox: str
    params: tuple[Value, ...] = ()

    def arguments(self) -> list[object]:
        return [self.mailbox, *([self.params] if self.params else [])]


@dataclass(frozen=True, slots=True, kw_only=True)
class Examine(Command):
    """``EXAMINE mailbox``: SELECT read-only."""

    KIND: ClassVar[Kind] = Kind.EXAMINE
    mailbox: str
    params: tuple[Value, ...] = ()

    def arguments(self) -> list[object]:
        return [self.mailbox, *([self.params] if self.params else [])]


@dataclass(frozen=True, slots=True, kw_only=True)
class Create(Command):
    """``CREATE mailbox [(params)]`` (RFC 6154: ``(USE (\\Sent))``)."""

    KIND: ClassVar[Kind] = Kind.CREATE
    mailbox: str
    params: tuple[Value, ...] = ()

    def arguments(self) -> list[object]:
        return [self.mailbox, *([self.params] if self.params else [])]


@dataclass(frozen=True, slots=True, kw_only=True)
class Delete(Command):
    """``DELETE mailbox``."""

    KIND: ClassVar[Kind] = Kind.DELETE
    mailbox: str

    def arguments(self) -> list[object]:
        return [self.mailbox]


@dataclass(frozen=True, slots=True, kw_only=True)
class Rename(Command):
    """``RENAME mailbox new-name``."""

    KIND: ClassVar[Kind] = Kind.RENAME
    mailbox: str
    new_name: str

    def arguments(self) -> list[object]:
        return [self.mailbox, self.new_name]


@dataclass(frozen=True, slots=True, kw_only=True)
class Subscribe(Command):
    """``SUBSCRIBE mailbox``."""

    KIND: ClassVar[Kind] = Kind.SUBSCRIBE
    mailbox: str

    def arguments(self) -> list[object]:
        return [self.mailbox]


@dataclass(frozen=True, slots=True, kw_only=True)
class Unsubscribe(Command):
    """``UNSUBSCRIBE mailbox``."""

    KIND: ClassVar[Kind] = Kind.UNSUBSCRIBE
    mailbox: str

    def arguments(self) -> list[object]:
        return [self.mailbox]


def _pattern(pattern: str) -> object:
    # list-mailbox = 1*list-char / string: "*" and "%" are not atom-chars
    # in the strict grammar but every server reads them unquoted, and a
    # quoted "*" means the same; quoting is always safe.
    return Atom(pattern) if pattern in ("*", "%") else pattern


@dataclass(frozen=True, slots=True, kw_only=True)
class List(Command):
    """``LIST [(select-opts)] reference pattern [RETURN (return-opts)]``
    (RFC 3501 6.3.8, RFC 5258 LIST-EXTENDED, RFC 6154 SPECIAL-USE).

    Attributes:
        reference: The reference name (usually ``""``).
        pattern: The mailbox pattern, ``*`` and ``%`` wildcards.
        select_options: RFC 5258 selection options (``("SPECIAL-USE",)``,
            ``("SUBSCRIBED",)``); empty for a plain LIST.
        return_options: RFC 5258 return options (``("SPECIAL-USE",)``,
            ``("CHILDREN",)``...), or None for no RETURN clause.
    """

    KIND: ClassVar[Kind] = Kind.LIST
    reference: str = ""
    pattern: str = "*"
    select_options: tuple[str, ...] = ()
    return_options: tuple[str, ...] | None = None

    def arguments(self) -> list[object]:
        out: list[object] = []
        if self.select_options:
            out.append(tuple(Atom(o) for o in self.select_options))
        out += [self.reference, _pattern(self.pattern)]
        if self.return_options is not None:
            out += [Atom("RETURN"), tuple(Atom(o) for o in self.return_options)]
        return out


@dataclass(frozen=True, slots=True, kw_only=True)
class Lsub(Command):
    """``LSUB reference pattern``: the subscribed mailboxes."""

    KIND: ClassVar[Kind] = Kind.LSUB
    reference: str = ""
    pattern: str = "*"

    def arguments(self) -> list[object]:
        return [self.reference, _pattern(self.pattern)]


@dataclass(frozen=True, slots=True, kw_only=True)
class Status(Command):
    """``STATUS mailbox (items)``: MESSAGES, RECENT, UIDNEXT, UIDVALIDITY,
    UNSEEN (RFC 3501 6.3.10), SIZE (RFC 8438), HIGHESTMODSEQ..."""

    KIND: ClassVar[Kind] = Kind.STATUS
    mailbox: str
    items: tuple[str, ...]

    def arguments(self) -> list[object]:
        return [self.mailbox, tuple(Atom(i.upper()) for i in self.items)]


@dataclass(frozen=True, slots=True, kw_only=True)
class Append(Command):
    """``APPEND mailbox [(flags)] [date-time] literal`` (RFC 3501 6.3.11).

    Attributes:
        mailbox: The target mailbox (wire name).
        message: The message octets (always sent as a literal).
        flags: Flags to set (``\\Seen``, keywords).
        internal_date: The INTERNALDATE to give it, or None (the server's now).
    """

    KIND: ClassVar[Kind] = Kind.APPEND
    mailbox: str
    message: bytes
    flags: tuple[str, ...] = ()
    internal_date: datetime | None = None

    def arguments(self) -> list[object]:
        out: list[object] = [self.mailbox]
        if self.flags:
            out.append(tuple(Atom(f) for f in self.flags))
        if self.internal_date is not None:
            out.append(self.internal_date)
        out.append(self.message)
        return out

    def __repr__(self) -> str:
        return (f"Append(tag={self.tag!r}, mailbox={self.mailbox!r}, "
                f"message=<{len(self.message)} octets>, flags={self.flags!r}, "
                f"internal_date={self.internal_date!r})")


@dataclass(frozen=True, slots=True, kw_only=True)
class Namespace(Command):
    """``NAMESPACE`` (RFC 2342)."""

    KIND: ClassVar[Kind] = Kind.NAMESPACE


@dataclass(frozen=True, slots=True, kw_only=True)
class Id(Command):
    """``ID ("name" "value" ...)`` or ``ID NIL`` (RFC 2971)."""

    KIND: ClassVar[Kind] = Kind.ID
    params: dict[str, str | None] | None = None

    def arguments(self) -> list[object]:
        if self.params is None:
            return [None]
        flat: list[object] = []
        for key, value in self.params.items():
            flat += [key, value]
        return [tuple(flat)]


@dataclass(frozen=True, slots=True, kw_only=True)
class Enable(Command):
    """``ENABLE capability...`` (RFC 5161)."""

    KIND: ClassVar[Kind] = Kind.ENABLE
    capabilities: tuple[str, ...]

    def arguments(self) -> list[object]:
        return [Atom(c) for c in self.capabilities]


@dataclass(frozen=True, slots=True, kw_only=True)
class Idle(Command):
    """``IDLE`` (RFC 2177): after ``+`` the server sends updates until the
    client sends ``DONE`` (:class:`IdleDone`)."""

    KIND: ClassVar[Kind] = Kind.IDLE


@dataclass(frozen=True, slots=True, kw_only=True)
class Check(Command):
    """``CHECK``."""

    KIND: ClassVar[Kind] = Kind.CHECK


@dataclass(frozen=True, slots=True, kw_only=True)
class Close(Command):
    """``CLOSE``: expunge silently and leave SELECTED."""

    KIND: ClassVar[Kind] = Kind.CLOSE


@dataclass(frozen=True, slots=True, kw_only=True)
class Unselect(Command):
    """``UNSELECT`` (RFC 3691): leave SELECTED without expunging."""

    KIND: ClassVar[Kind] = Kind.UNSELECT


@dataclass(frozen=True, slots=True, kw_only=True)
class Expunge(Command):
    """``EXPUNGE``, or ``UID EXPUNGE uid-set`` (RFC 4315) when ``uids`` is set."""

    KIND: ClassVar[Kind] = Kind.EXPUNGE
    uids: str | None = None

    @property
    def uid(self) -> bool:
        """A UID EXPUNGE."""
        return self.uids is not None

    def arguments(self) -> list[object]:
        return [] if self.uids is None else [Atom(self.uids)]


@dataclass(frozen=True, slots=True, kw_only=True)
class Search(Command):
    """``[UID] SEARCH [RETURN (opts)] [CHARSET name] criteria...``.

    Attributes:
        criteria: The search keys as values (see :mod:`._search`, which
            builds and reads them).
        charset: The CHARSET argument, or None.
        uid: UID SEARCH: the results are UIDs.
        return_options: RFC 4731 ESEARCH return options, or None.
    """

    KIND: ClassVar[Kind] = Kind.SEARCH
    criteria: tuple[object, ...] = (Atom("ALL"),)
    charset: str | None = None
    uid: bool = False
    return_options: tuple[str, ...] | None = None

    def arguments(self) -> list[object]:
        out: list[object] = []
        if self.return_options is not None:
            out += [Atom("RETURN"), tuple(Atom(o) for o in self.return_options)]
        if self.charset is not None:
            out += [Atom("CHARSET"), Atom(self.charset)]
        return out + list(self.criteria)


@dataclass(frozen=True, slots=True, kw_only=True)
class Sort(Command):
    """``[UID] SORT (criteria) charset search-criteria...`` (RFC 5256).

    Attributes:
        order: The sort criteria, upper-cased (``("REVERSE", "DATE",
            "SUBJECT")``); ``REVERSE`` applies to the key after it.
        charset: The charset of the search criteria (required by RFC 5256).
        criteria: The search keys as values, as for :class:`Search`.
        uid: UID SORT: the results are UIDs.
    """

    KIND: ClassVar[Kind] = Kind.SORT
    order: tuple[str, ...] = ("ARRIVAL",)
    charset: str = "UTF-8"
    criteria: tuple[object, ...] = (Atom("ALL"),)
    uid: bool = False

    def arguments(self) -> list[object]:
        return [tuple(Atom(o) for o in self.order), Atom(self.charset), *self.criteria]


@dataclass(frozen=True, slots=True, kw_only=True)
class Fetch(Command):
    """``[UID] FETCH sequence-set items [(modifiers)]``.

    Attributes:
        sequence_set: ``"1:5,7"``, ``"1:*"`` (UIDs with ``uid=True``).
        items: Upper-cased item names as written: ``FLAGS``, ``ENVELOPE``,
            ``BODY.PEEK[HEADER.FIELDS (SUBJECT)]<0.100>``... A server gets
            the macros ALL, FAST and FULL expanded.
        uid: UID FETCH (the UID item is implied in every response).
        modifiers: RFC 4466 modifiers (``(CHANGEDSINCE 12345)``).
    """

    KIND: ClassVar[Kind] = Kind.FETCH
    sequence_set: str
    items: tuple[str, ...]
    uid: bool = False
    modifiers: tuple[Value, ...] = ()

    def arguments(self) -> list[object]:
        items: object
        if len(self.items) == 1 and self.items[0].upper() in FETCH_MACROS:
            items = Atom(self.items[0])
        else:
            items = tuple(Atom(i) for i in self.items)
        out: list[object] = [Atom(self.sequence_set), items]
        if self.modifiers:
            out.append(self.modifiers)
        return out


#: STORE operations: the data item name for each.
STORE_OPERATIONS = {"add": "+FLAGS", "remove": "-FLAGS", "replace": "FLAGS"}


@dataclass(frozen=True, slots=True, kw_only=True)
class Store(Command):
    """``[UID] STORE sequence-set [(UNCHANGEDSINCE n)] (+|-)FLAGS[.SILENT] (flags)``.

    Attributes:
        operation: ``"add"`` (+FLAGS), ``"remove"`` (-FLAGS) or ``"replace"`` (FLAGS).
        silent: ``.SILENT``: no FETCH responses with the new flags.
        unchanged_since: RFC 7162 UNCHANGEDSINCE, or None.
    """

    KIND: ClassVar[Kind] = Kind.STORE
    sequence_set: str
    flags: tuple[str, ...]
    operation: str = "add"
    silent: bool = False
    uid: bool = False
    unchanged_since: int | None = None

    def arguments(self) -> list[object]:
        out: list[object] = [Atom(self.sequence_set)]
        if self.unchanged_since is not None:
            out.append((Atom("UNCHANGEDSINCE"), self.unchanged_since))
        item = STORE_OPERATIONS[self.operation] + (".SILENT" if self.silent else "")
        return [*out, Atom(item), tuple(Atom(f) for f in self.flags)]


@dataclass(frozen=True, slots=True, kw_only=True)
class Copy(Command):
    """``[UID] COPY sequence-set mailbox`` (COPYUID with UIDPLUS)."""

    KIND: ClassVar[Kind] = Kind.COPY
    sequence_set: str
    mailbox: str
    uid: bool = False

    def arguments(self) -> list[object]:
        return [Atom(self.sequence_set), self.mailbox]


@dataclass(frozen=True, slots=True, kw_only=True)
class Move(Command):
    """``[UID] MOVE sequence-set mailbox`` (RFC 6851)."""

    KIND: ClassVar[Kind] = Kind.MOVE
    sequence_set: str
    mailbox: str
    uid: bool = False

    def arguments(self) -> list[object]:
        return [Atom(self.sequence_set), self.mailbox]
