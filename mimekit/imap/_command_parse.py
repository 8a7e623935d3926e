"""Reading commands (server side): ``tag NAME values`` to typed events.

The values come from the same tokenizer as responses (:mod:`._lexer`); this
module checks each command's arguments against its grammar (RFC 3501
section 9, and the extensions in :mod:`._commands`) and builds the event.
A mismatch raises :class:`CommandSyntaxError`, which the server core turns
into a tagged ``BAD``. Leniencies: a single flag or STATUS item without
parentheses, and a quoted string where an atom is expected (``"UTF-8"``
as a charset) are accepted.

Grammar pieces read here (RFC 3501 section 9)::

    append          = "APPEND" SP mailbox [SP flag-list] [SP date-time] SP literal
    fetch           = "FETCH" SP sequence-set SP ("ALL" / "FULL" / "FAST" /
                      fetch-att / "(" fetch-att *(SP fetch-att) ")")
    search          = "SEARCH" [SP "CHARSET" SP astring] 1*(SP search-key)
    store           = "STORE" SP sequence-set SP store-att-flags
    store-att-flags = (["+" / "-"] "FLAGS" [".SILENT"]) SP
                      (flag-list / (flag *(SP flag)))
    status          = "STATUS" SP mailbox SP "(" status-att *(SP status-att) ")"
    list            = "LIST" SP mailbox SP list-mailbox      ; + RFC 5258 options
"""

from __future__ import annotations

import re
from collections.abc import Callable

from ._commands import (
    FETCH_MACROS,
    Append,
    Authenticate,
    Capability,
    Check,
    Close,
    Command,
    Copy,
    Create,
    Delete,
    Enable,
    Examine,
    Expunge,
    Fetch,
    Id,
    Idle,
    List,
    Login,
    Logout,
    Lsub,
    Move,
    Namespace,
    Noop,
    Rename,
    Search,
    Select,
    Sort,
    StartTLS,
    Status,
    Store,
    Subscribe,
    Unselect,
    Unsubscribe,
)
from ._states import Kind
from ._values import Atom, Value, as_astring, as_text, parse_datetime

__all__ = ["COMMAND_NAMES", "UID_COMMANDS", "CommandSyntaxError", "parse_command"]


class CommandSyntaxError(ValueError):
    """A command's arguments do not follow its grammar (answered with BAD)."""


#: ``sequence-set`` (leniently: any mix of digits, ":", ",", "*" and "$"
#: for RFC 5182 SEARCHRES).
_SEQUENCE_SET = re.compile(r"[0-9:,*$]+")
_SIMPLE: dict[str, type[Command]] = {
    "CAPABILITY": Capability, "NOOP": Noop, "LOGOUT": Logout, "STARTTLS": StartTLS,
    "NAMESPACE": Namespace, "IDLE": Idle, "CHECK": Check, "CLOSE": Close,
    "UNSELECT": Unselect,
}


def _fail(name: str, why: str) -> CommandSyntaxError:
    # The text ends up in a BAD response: a value the client sent may hold
    # bytes that were not UTF-8 (surrogate escapes) or a NUL, which no
    # response can carry (found by fuzz/); show those escaped.
    why = "".join(c if c.isprintable() else repr(c)[1:-1] for c in why)
    return CommandSyntaxError(f"{name}: {why}")


def _count(name: str, args: list[Value], low: int, high: int | None = None) -> None:
    high = low if high is None else high
    if not low <= len(args) <= high:
        want = str(low) if low == high else f"{low} to {high}"
        raise _fail(name, f"expected {want} arguments, got {len(args)}")


def _astring(name: str, value: Value, what: str = "argument") -> str:
    text = as_astring(value)
    if text is None:
        raise _fail(name, f"the {what} must be a string")
    return text


def _atom(name: str, value: Value, what: str) -> str:
    if isinstance(value, Atom) or (isinstance(value, str) and value):
        return str(value)
    raise _fail(name, f"the {what} must be an atom")


def _atoms(name: str, value: Value, what: str) -> tuple[str, ...]:
    items = value if isinstance(value, tuple) else (value,)
    return tuple(_atom(name, v, what) for v in items)


def _sequence_set(name: str, value: Value) -> str:
    text = str(value) if isinstance(value, int | Atom) else ""
    if not _SEQUENCE_SET.fullmatch(text):
        raise _fail(name, "expected a sequence set")
    return text


def _flags(name: str, values: list[Value]) -> tuple[str, ...]:
    if len(values) == 1 and isinstance(values[0], tuple):
        values = list(values[0])
    flags = []
    for v in values:
        if not isinstance(v, Atom):
            raise _fail(name, "flags must be atoms")
        flags.append(str(v))
    return tuple(flags)


def _login(tag: str, args: list[Value]) -> Command:
    _count("LOGIN", args, 2)
    return Login(tag=tag, user=_astring("LOGIN", args[0], "user name"),
                 password=_astring("LOGIN", args[1], "password"))


def _authenticate(tag: str, args: list[Value]) -> Command:
    _count("AUTHENTICATE", args, 1, 2)
    initial = None
    if len(args) == 2:
        initial = as_text(args[1])
        if initial is None:
            raise _fail("AUTHENTICATE", "bad initial response")
    return Authenticate(tag=tag, mechanism=_atom("AUTHENTICATE", args[0], "mechanism").upper(),
                        initial_response=initial)


def _mailbox_with_params(cls: type[Select] | type[Examine] | type[Create]
                         ) -> Callable[[str, list[Value]], Command]:
    name = cls.KIND.value

    def parse(tag: str, args: list[Value]) -> Command:
        _count(name, args, 1, 2)
        params = args[1] if len(args) == 2 else ()
        if not isinstance(params, tuple):
            raise _fail(name, "parameters must be a list")
        return cls(tag=tag, mailbox=_astring(name, args[0], "mailbox name"), params=params)

    return parse


def _one_mailbox(cls: type[Delete] | type[Subscribe] | type[Unsubscribe]
                 ) -> Callable[[str, list[Value]], Command]:
    name = cls.KIND.value

    def parse(tag: str, args: list[Value]) -> Command:
        _count(name, args, 1)
        return cls(tag=tag, mailbox=_astring(name, args[0], "mailbox name"))

    return parse


def _rename(tag: str, args: list[Value]) -> Command:
    _count("RENAME", args, 2)
    return Rename(tag=tag, mailbox=_astring("RENAME", args[0], "mailbox name"),
                  new_name=_astring("RENAME", args[1], "new name"))


def _list(tag: str, args: list[Value]) -> Command:
    select: tuple[str, ...] = ()
    returns: tuple[str, ...] | None = None
    if args and isinstance(args[0], tuple):
        select = tuple(s.upper() for s in _atoms("LIST", args[0], "selection option"))
        args = args[1:]
    if len(args) == 4 and isinstance(args[2], Atom) and args[2].upper() == "RETURN":
        returns = tuple(r.upper() for r in _atoms("LIST", args[3], "return option"))
        args = args[:2]
    _count("LIST", args, 2)
    return List(tag=tag, reference=_astring("LIST", args[0], "reference"),
                pattern=_astring("LIST", args[1], "pattern"), select_options=select,
                return_options=returns)


def _lsub(tag: str, args: list[Value]) -> Command:
    _count("LSUB", args, 2)
    return Lsub(tag=tag, reference=_astring("LSUB", args[0], "reference"),
                pattern=_astring("LSUB", args[1], "pattern"))


def _status(tag: str, args: list[Value]) -> Command:
    _count("STATUS", args, 2)
    items = tuple(i.upper() for i in _atoms("STATUS", args[1], "status item"))
    if not items:
        raise _fail("STATUS", "no status items")
    return Status(tag=tag, mailbox=_astring("STATUS", args[0], "mailbox name"), items=items)


def _append(tag: str, args: list[Value]) -> Command:
    if len(args) < 2:
        raise _fail("APPEND", "expected a mailbox and a message")
    mailbox = _astring("APPEND", args[0], "mailbox name")
    message = args[-1]
    if isinstance(message, str):
        message = message.encode("utf-8", "surrogateescape")
    if not isinstance(message, bytes):
        raise _fail("APPEND", "the message must be a literal")
    flags: tuple[str, ...] = ()
    date = None
    middle = args[1:-1]
    if middle and isinstance(middle[0], tuple):
        flags = _flags("APPEND", [middle[0]])
        middle = middle[1:]
    if middle:
        text = as_text(middle[0]) if isinstance(middle[0], str) else None
        date = parse_datetime(text) if text is not None else None
        if date is None:
            raise _fail("APPEND", "bad date-time")
        middle = middle[1:]
    if middle:
        raise _fail("APPEND", "unexpected arguments (MULTIAPPEND and CATENATE are not supported)")
    return Append(tag=tag, mailbox=mailbox, message=message, flags=flags, internal_date=date)


def _id(tag: str, args: list[Value]) -> Command:
    _count("ID", args, 1)
    if args[0] is None:
        return Id(tag=tag, params=None)
    raw = args[0]
    if not isinstance(raw, tuple) or len(raw) % 2:
        raise _fail("ID", "expected NIL or a list of name/value pairs")
    params: dict[str, str | None] = {}
    for i in range(0, len(raw), 2):
        params[_astring("ID", raw[i], "field name")] = as_text(raw[i + 1])
    return Id(tag=tag, params=params)


def _enable(tag: str, args: list[Value]) -> Command:
    if not args:
        raise _fail("ENABLE", "no capability named")
    return Enable(tag=tag, capabilities=tuple(_atom("ENABLE", a, "capability").upper()
                                             for a in args))


def _expunge(tag: str, args: list[Value], uid: bool) -> Command:
    if uid:
        _count("UID EXPUNGE", args, 1)
        return Expunge(tag=tag, uids=_sequence_set("UID EXPUNGE", args[0]))
    _count("EXPUNGE", args, 0)
    return Expunge(tag=tag)


def _search(tag: str, args: list[Value], uid: bool) -> Command:
    name = "UID SEARCH" if uid else "SEARCH"
    returns: tuple[str, ...] | None = None
    charset: str | None = None
    if len(args) >= 2 and isinstance(args[0], Atom) and args[0].upper() == "RETURN":
        returns = tuple(r.upper() for r in _atoms(name, args[1], "return option"))
        args = args[2:]
    if len(args) >= 2 and isinstance(args[0], Atom) and args[0].upper() == "CHARSET":
        charset = _astring(name, args[1], "charset")
        args = args[2:]
    if not args:
        raise _fail(name, "no search criteria")
    return Search(tag=tag, criteria=tuple(args), charset=charset, uid=uid,
                  return_options=returns)


#: RFC 5256 section 3, with RFC 5957's DISPLAYFROM and DISPLAYTO.
SORT_KEYS = frozenset({"ARRIVAL", "CC", "DATE", "FROM", "SIZE", "SUBJECT", "TO",
                       "DISPLAYFROM", "DISPLAYTO"})


def _sort(tag: str, args: list[Value], uid: bool) -> Command:
    name = "UID SORT" if uid else "SORT"
    if len(args) < 3:
        raise _fail(name, "expected (criteria) charset search-criteria")
    if not isinstance(args[0], tuple) or not args[0]:
        raise _fail(name, "the sort criteria must be a non-empty list")
    order = tuple(o.upper() for o in _atoms(name, args[0], "sort criterion"))
    for k, key in enumerate(order):
        if key == "REVERSE":
            if k + 1 == len(order) or order[k + 1] == "REVERSE":
                raise _fail(name, "REVERSE must come before a sort key")
        elif key not in SORT_KEYS:
            raise _fail(name, f"unknown sort key {key}")
    charset = _astring(name, args[1], "charset")
    return Sort(tag=tag, order=order, charset=charset, criteria=tuple(args[2:]), uid=uid)


def _fetch(tag: str, args: list[Value], uid: bool) -> Command:
    name = "UID FETCH" if uid else "FETCH"
    _count(name, args, 2, 3)
    seq = _sequence_set(name, args[0])
    raw = args[1]
    if isinstance(raw, Atom) and raw.upper() in FETCH_MACROS:
        items = FETCH_MACROS[raw.upper()]
    else:
        items = tuple(i.upper() for i in _atoms(name, raw, "fetch item"))
        if not items:
            raise _fail(name, "no fetch items")
    modifiers = args[2] if len(args) == 3 else ()
    if not isinstance(modifiers, tuple):
        raise _fail(name, "modifiers must be a list")
    return Fetch(tag=tag, sequence_set=seq, items=items, uid=uid, modifiers=modifiers)


_OPERATIONS = {"+FLAGS": "add", "-FLAGS": "remove", "FLAGS": "replace"}


def _store(tag: str, args: list[Value], uid: bool) -> Command:
    name = "UID STORE" if uid else "STORE"
    if len(args) < 3:
        raise _fail(name, "expected a sequence set, an item and flags")
    seq = _sequence_set(name, args[0])
    unchanged = None
    rest = args[1:]
    if isinstance(rest[0], tuple):
        mods = rest[0]
        if (len(mods) != 2 or _atom(name, mods[0], "modifier").upper() != "UNCHANGEDSINCE"
                or not isinstance(mods[1], int)):
            raise _fail(name, "unknown STORE modifier")
        unchanged = mods[1]
        rest = rest[1:]
    if not rest:
        raise _fail(name, "no data item")
    item = _atom(name, rest[0], "data item").upper()
    silent = item.endswith(".SILENT")
    operation = _OPERATIONS.get(item.removesuffix(".SILENT"))
    if operation is None:
        raise _fail(name, f"unknown data item {item}")
    return Store(tag=tag, sequence_set=seq, flags=_flags(name, rest[1:]), operation=operation,
                 silent=silent, uid=uid, unchanged_since=unchanged)


def _copy_or_move(cls: type[Copy] | type[Move]
                  ) -> Callable[[str, list[Value], bool], Command]:
    def parse(tag: str, args: list[Value], uid: bool) -> Command:
        name = ("UID " if uid else "") + cls.KIND.value
        _count(name, args, 2)
        return cls(tag=tag, sequence_set=_sequence_set(name, args[0]),
                   mailbox=_astring(name, args[1], "mailbox name"), uid=uid)

    return parse


_PARSERS: dict[str, Callable[[str, list[Value]], Command]] = {
    "LOGIN": _login, "AUTHENTICATE": _authenticate,
    "SELECT": _mailbox_with_params(Select), "EXAMINE": _mailbox_with_params(Examine),
    "CREATE": _mailbox_with_params(Create), "DELETE": _one_mailbox(Delete),
    "SUBSCRIBE": _one_mailbox(Subscribe), "UNSUBSCRIBE": _one_mailbox(Unsubscribe),
    "RENAME": _rename, "LIST": _list, "LSUB": _lsub, "STATUS": _status, "APPEND": _append,
    "ID": _id, "ENABLE": _enable,
}
_UID_PARSERS: dict[str, Callable[[str, list[Value], bool], Command]] = {
    "EXPUNGE": _expunge, "SEARCH": _search, "SORT": _sort, "FETCH": _fetch, "STORE": _store,
    "COPY": _copy_or_move(Copy), "MOVE": _copy_or_move(Move),
}

#: Every command name the server core knows, with its kind.
COMMAND_NAMES: dict[str, Kind] = {k.value: k for k in Kind if k is not Kind.GREETING}
#: The commands that take a ``UID`` prefix (EXPUNGE: RFC 4315).
UID_COMMANDS = frozenset(_UID_PARSERS)


def parse_command(tag: str, name: str, args: list[Value], uid: bool = False) -> Command:
    """The typed event for a command line's values.

    Args:
        tag: The tag.
        name: The upper-cased command name (after ``UID`` when ``uid``).
        args: The values after the name.
        uid: The command had the ``UID`` prefix.

    Raises:
        CommandSyntaxError: unknown command, or arguments that do not fit.
    """
    if uid:
        parse_uid = _UID_PARSERS.get(name)
        if parse_uid is None:
            raise CommandSyntaxError(f"UID {name} is not a command")
        return parse_uid(tag, args, True)
    simple = _SIMPLE.get(name)
    if simple is not None:
        if args:
            raise _fail(name, "takes no arguments")
        return simple(tag=tag)
    parse_plain = _PARSERS.get(name)
    if parse_plain is not None:
        return parse_plain(tag, args)
    parse_uid = _UID_PARSERS.get(name)
    if parse_uid is not None:
        return parse_uid(tag, args, False)
    raise CommandSyntaxError(f"unknown command {name}")
