"""SEARCH criteria: built from Python values (client), read from values (server).

RFC 3501 section 6.4.4 and 9::

    search-key      = "ALL" / "ANSWERED" / "BCC" SP astring /
                      "BEFORE" SP date / "BODY" SP astring /
                      "CC" SP astring / "DELETED" / "FLAGGED" /
                      "FROM" SP astring / "KEYWORD" SP flag-keyword /
                      "NEW" / "OLD" / "ON" SP date / "RECENT" / "SEEN" /
                      "SINCE" SP date / "SUBJECT" SP astring /
                      "TEXT" SP astring / "TO" SP astring /
                      "UNANSWERED" / "UNDELETED" / "UNFLAGGED" /
                      "UNKEYWORD" SP flag-keyword / "UNSEEN" /
                      "DRAFT" / "HEADER" SP header-fld-name SP astring /
                      "LARGER" SP number / "NOT" SP search-key /
                      "OR" SP search-key SP search-key /
                      "SENTBEFORE" SP date / "SENTON" SP date /
                      "SENTSINCE" SP date / "SMALLER" SP number /
                      "UID" SP sequence-set / "UNDRAFT" / sequence-set /
                      "(" search-key *(SP search-key) ")"

plus RFC 5032 ``OLDER``/``YOUNGER`` (seconds) and RFC 7162 ``MODSEQ``.

Both directions meet in :class:`SearchKey`, a small tree: a key's name and
its arguments (``str``, ``int``, ``date``, a sequence-set ``str``, or child
keys for ``NOT``, ``OR`` and ``AND``, which stands for a parenthesized group
and for the top-level list). :func:`build_search` makes one from Python
values, :meth:`SearchKey.to_values` writes it, and :func:`parse_search`
reads the values a server received back into the same tree.

How Python values become criteria (:func:`build_search`):

* ``"UNSEEN"``: a key without arguments; any other string is raw IMAP
  search text (``"FROM alice SINCE 1-Jan-2024"``), checked by reading it.
* ``("SINCE", date(2024, 1, 1))``, ``("FROM", "alice")``,
  ``("HEADER", "List-Id", "dev")``, ``("OR", "SEEN", ("FROM", "bob"))``,
  ``("NOT", "DELETED")``, ``("UID", [1, 2, 3])``: a key and its arguments.
  Dates take ``date`` or ``datetime`` (its date: SEARCH dates have no time
  or zone, RFC 3501 6.4.4).
* A list: all of its criteria (AND); a list inside becomes ``( ... )``.
* Keyword arguments, ANDed with the rest: ``seen=False`` (UNSEEN),
  ``flagged=True``, ``since=date(...)``, ``from_="alice"``,
  ``subject="x"``, ``header={"List-Id": "dev"}``, ``larger=10_000``,
  ``uid=[1, 5]``, ``keyword="$Junk"``, ``not_=...``, ``or_=(a, b)``.

A non-ASCII string needs ``CHARSET UTF-8`` (:attr:`SearchKey.needs_charset`);
the client adds it, and the encoder sends the text as a literal (or quoted
UTF-8 once ``UTF8=ACCEPT`` is enabled).
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime

from ._lexer import ParseError, parse_values
from ._values import Atom, Value, as_text, format_sequence_set, parse_date

__all__ = ["SEARCH_KEYS", "SearchKey", "SearchSyntaxError", "build_search", "parse_search"]


class SearchSyntaxError(ValueError):
    """Criteria that are not valid SEARCH keys (a caller mistake on the
    client side; a ``BAD`` on the server side)."""


class SearchCharsetError(SearchSyntaxError):
    """The CHARSET is unknown (a server answers ``NO [BADCHARSET]``)."""


_NO_ARGS = frozenset({"ALL", "ANSWERED", "DELETED", "DRAFT", "FLAGGED", "NEW", "OLD", "RECENT",
                      "SEEN", "UNANSWERED", "UNDELETED", "UNDRAFT", "UNFLAGGED", "UNSEEN"})
_STRING = frozenset({"BCC", "BODY", "CC", "FROM", "SUBJECT", "TEXT", "TO"})
_DATE = frozenset({"BEFORE", "ON", "SINCE", "SENTBEFORE", "SENTON", "SENTSINCE"})
_NUMBER = frozenset({"LARGER", "SMALLER", "OLDER", "YOUNGER", "MODSEQ"})
_ATOM = frozenset({"KEYWORD", "UNKEYWORD"})

#: Every key name known, with its argument kinds.
SEARCH_KEYS: dict[str, tuple[str, ...]] = {
    **{k: () for k in _NO_ARGS}, **{k: ("string",) for k in _STRING},
    **{k: ("date",) for k in _DATE}, **{k: ("number",) for k in _NUMBER},
    **{k: ("atom",) for k in _ATOM}, "HEADER": ("string", "string"), "UID": ("set",),
    "NOT": ("key",), "OR": ("key", "key"),
}


@dataclass(frozen=True, slots=True)
class SearchKey:
    """One search key and its arguments.

    Attributes:
        name: Upper-cased key (``"SINCE"``); ``"AND"`` for a group (and the
            top level), ``"SEQUENCE"`` for a bare sequence set.
        args: ``str`` (strings, atoms, sequence sets), ``int``, ``date``, or
            :class:`SearchKey` children (NOT, OR, AND).
    """

    name: str
    args: tuple[object, ...] = ()

    @property
    def needs_charset(self) -> bool:
        """A string argument is not ASCII (so CHARSET UTF-8 must be sent)."""
        for arg in self.args:
            if isinstance(arg, SearchKey):
                if arg.needs_charset:
                    return True
            elif isinstance(arg, str) and not arg.isascii():
                return True
        return False

    def to_values(self, top: bool = True) -> list[object]:
        """The values to write (the top-level AND without parentheses)."""
        if self.name == "AND":
            inner: list[object] = []
            for child in self.args:
                assert isinstance(child, SearchKey)
                inner += child.to_values(False)
            return inner if top else [tuple(inner)]
        if self.name == "SEQUENCE":
            return [Atom(str(self.args[0]))]
        out: list[object] = [Atom(self.name)]
        kinds = SEARCH_KEYS.get(self.name)
        for i, arg in enumerate(self.args):
            kind = kinds[i] if kinds is not None and i < len(kinds) else ""
            if isinstance(arg, SearchKey):
                out += arg.to_values(False)
            elif kind in ("atom", "set") and isinstance(arg, str):
                out.append(Atom(arg))
            else:
                out.append(arg)
        return out


# -- building from Python values ---------------------------------------------------------------


def _date_arg(key: str, value: object) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        parsed = parse_date(value)
        if parsed is not None:
            return parsed
    raise SearchSyntaxError(f"{key} takes a date, not {value!r}")


def _string_arg(key: str, value: object) -> str:
    if isinstance(value, bytes):
        value = value.decode("utf-8")
    if not isinstance(value, str):
        raise SearchSyntaxError(f"{key} takes a string, not {value!r}")
    if any(c in value for c in "\r\n\x00"):
        raise SearchSyntaxError(f"{key}: a search string cannot hold CR, LF or NUL")
    return value


def _number_arg(key: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise SearchSyntaxError(f"{key} takes a number >= 0, not {value!r}")
    return value


def _set_arg(key: str, value: object) -> str:
    try:
        return format_sequence_set(value)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise SearchSyntaxError(f"{key}: {exc}") from None


def _key(spec: object) -> SearchKey:
    """One criterion from a Python value (see the module docs)."""
    if isinstance(spec, SearchKey):
        return spec
    if isinstance(spec, str):
        name = spec.strip().upper()
        if name in _NO_ARGS:
            return SearchKey(name)
        return _raw(spec)
    if isinstance(spec, list):
        return SearchKey("AND", tuple(_key(s) for s in spec))
    if isinstance(spec, tuple) and spec and isinstance(spec[0], str):
        name = spec[0].upper()
        return _with_args(name, spec[1:])
    raise SearchSyntaxError(f"not a search criterion: {spec!r}")


def _with_args(name: str, args: tuple[object, ...]) -> SearchKey:
    kinds = SEARCH_KEYS.get(name)
    if name in ("SEQ", "SEQUENCE"):
        if len(args) != 1:
            raise SearchSyntaxError("SEQUENCE takes one sequence set")
        return SearchKey("SEQUENCE", (_set_arg(name, args[0]),))
    if kinds is None:
        # An extension key (X-GM-RAW, EMAILID...): arguments as given.
        converted: list[object] = []
        for arg in args:
            if isinstance(arg, datetime | date):
                converted.append(_date_arg(name, arg))
            elif isinstance(arg, int | str):
                converted.append(arg)
            else:
                converted.append(_key(arg))
        return SearchKey(name, tuple(converted))
    if len(args) != len(kinds):
        raise SearchSyntaxError(f"{name} takes {len(kinds)} argument(s), not {len(args)}")
    out: list[object] = []
    for kind, arg in zip(kinds, args, strict=True):
        if kind == "string":
            out.append(_string_arg(name, arg))
        elif kind == "date":
            out.append(_date_arg(name, arg))
        elif kind == "number":
            out.append(_number_arg(name, arg))
        elif kind == "atom":
            out.append(_string_arg(name, arg))
        elif kind == "set":
            out.append(_set_arg(name, arg))
        else:
            out.append(_key(arg))
    return SearchKey(name, tuple(out))


def _raw(text: str) -> SearchKey:
    """Raw search text, read as the server would read it."""
    if any(c in text for c in "\r\n\x00"):
        raise SearchSyntaxError("search text cannot hold CR, LF or NUL")
    try:
        values = parse_values(text.encode("utf-8"))
    except ParseError as exc:
        raise SearchSyntaxError(f"not IMAP search text: {text!r} ({exc})") from None
    # Non-ASCII atoms (FROM jürgen) are strings to the writer.
    fixed = [str(v) if isinstance(v, Atom) and not v.isascii() else v for v in values]
    key = parse_search(tuple(fixed), None)
    return key.args[0] if len(key.args) == 1 else key  # type: ignore[return-value]


_FLAG_KEYS = {
    "answered": ("ANSWERED", "UNANSWERED"), "deleted": ("DELETED", "UNDELETED"),
    "draft": ("DRAFT", "UNDRAFT"), "flagged": ("FLAGGED", "UNFLAGGED"),
    "seen": ("SEEN", "UNSEEN"), "unseen": ("UNSEEN", "SEEN"),
    "unanswered": ("UNANSWERED", "ANSWERED"), "undeleted": ("UNDELETED", "DELETED"),
    "undraft": ("UNDRAFT", "DRAFT"), "unflagged": ("UNFLAGGED", "FLAGGED"),
}
_BOOL_ONLY = {"all": "ALL", "new": "NEW", "old": "OLD", "recent": "RECENT"}
_RENAMED = {"from_": "FROM", "sent_since": "SENTSINCE", "sent_before": "SENTBEFORE",
            "sent_on": "SENTON", "not_": "NOT", "or_": "OR"}


def _from_keyword(name: str, value: object) -> list[SearchKey]:
    if name in _FLAG_KEYS:
        yes, no = _FLAG_KEYS[name]
        return [SearchKey(yes if value else no)]
    if name in _BOOL_ONLY:
        key = SearchKey(_BOOL_ONLY[name])
        return [key if value else SearchKey("NOT", (key,))]
    upper = _RENAMED.get(name, name.upper())
    if upper == "HEADER":
        pairs = value.items() if isinstance(value, Mapping) else [value]
        return [_with_args("HEADER", tuple(p)) for p in pairs]  # type: ignore[arg-type]
    if upper in ("KEYWORD", "UNKEYWORD") and not isinstance(value, str):
        return [_with_args(upper, (v,)) for v in value]  # type: ignore[attr-defined]
    if upper == "OR":
        if not isinstance(value, tuple | list) or len(value) != 2:
            raise SearchSyntaxError("or_ takes a pair of criteria")
        return [SearchKey("OR", (_key(value[0]), _key(value[1])))]
    if upper not in SEARCH_KEYS or upper in _NO_ARGS:
        raise SearchSyntaxError(f"unknown search keyword argument {name}=")
    return [_with_args(upper, (value,))]


def build_search(criteria: object = None, **keys: object) -> SearchKey:
    """Criteria from Python values (see the module docs) as one top-level AND.

    Raises:
        SearchSyntaxError: an unknown key, a wrong number or type of
            arguments, CR/LF in a string, raw text that is not IMAP.
    """
    parts: list[SearchKey] = []
    if criteria is not None:
        key = _key(criteria)
        parts += [a for a in key.args if isinstance(a, SearchKey)] if key.name == "AND" \
            else [key]
    for name, value in keys.items():
        if value is None:
            continue
        parts += _from_keyword(name, value)
    if not parts:
        parts = [SearchKey("ALL")]
    return SearchKey("AND", tuple(parts))


# -- reading values (server side) ----------------------------------------------------------------


class _Values:
    __slots__ = ("charset", "pos", "values")

    def __init__(self, values: tuple[Value, ...], charset: str | None) -> None:
        self.values = values
        self.pos = 0
        self.charset = charset

    def take(self, what: str) -> Value:
        if self.pos >= len(self.values):
            raise SearchSyntaxError(f"missing {what}")
        value = self.values[self.pos]
        self.pos += 1
        return value

    def string(self, what: str) -> str:
        value = self.take(what)
        if isinstance(value, bytes):
            try:
                return value.decode(self.charset or "utf-8")
            except (UnicodeDecodeError, LookupError):
                return value.decode("utf-8", "replace")
        text = as_text(value)
        if text is None:
            raise SearchSyntaxError(f"{what} must be a string")
        return text


def _read_key(src: _Values, depth: int) -> SearchKey:
    if depth > 50:
        raise SearchSyntaxError("search keys nested too deeply")
    value = src.take("search key")
    if isinstance(value, tuple):
        inner = _Values(value, src.charset)
        children = []
        while inner.pos < len(value):
            children.append(_read_key(inner, depth + 1))
        if not children:
            raise SearchSyntaxError("empty search group")
        return SearchKey("AND", tuple(children))
    if isinstance(value, int) or (isinstance(value, Atom) and value[:1] in "0123456789*$"):
        text = str(value)
        return SearchKey("SEQUENCE", (text if text == "$" else _set_arg("sequence set", text),))
    if not isinstance(value, Atom):
        raise SearchSyntaxError(f"not a search key: {value!r}")
    name = value.upper()
    kinds = SEARCH_KEYS.get(name)
    if kinds is None:
        raise SearchSyntaxError(f"unknown search key {name}")
    args: list[object] = []
    for kind in kinds:
        if kind == "key":
            args.append(_read_key(src, depth + 1))
        elif kind in ("string", "atom"):
            args.append(src.string(f"argument of {name}"))
        elif kind == "date":
            raw = as_text(src.take(f"date after {name}"))
            day = parse_date(raw) if raw is not None else None
            if day is None:
                raise SearchSyntaxError(f"{name} needs a date like 1-Feb-1994")
            args.append(day)
        elif kind == "number":
            number = src.take(f"number after {name}")
            if not isinstance(number, int):
                raise SearchSyntaxError(f"{name} needs a number")
            args.append(number)
        else:
            seq = src.take(f"sequence set after {name}")
            args.append(_set_arg(name, str(seq)) if str(seq) != "$" else "$")
    return SearchKey(name, tuple(args))


def parse_search(values: tuple[Value, ...] | Iterable[Value], charset: str | None) -> SearchKey:
    """Read criteria values (as a server received them, after CHARSET) into
    a :class:`SearchKey` tree: a top-level ``AND`` of the keys.

    Literal strings are decoded with ``charset`` (UTF-8 when None); quoted
    ones are already text.

    Raises:
        SearchCharsetError: ``charset`` is not known.
        SearchSyntaxError: unknown keys, missing or malformed arguments.
    """
    if charset is not None:
        try:
            codecs.lookup(charset)
        except (LookupError, UnicodeError):
            # UnicodeError: a name with bytes that were not UTF-8 (surrogate
            # escapes; found by fuzz/). Escaped, since the text goes in a NO.
            shown = charset.encode("ascii", "backslashreplace").decode("ascii")
            raise SearchCharsetError(f"unknown charset {shown}") from None
    src = _Values(tuple(values), charset)
    keys = []
    while src.pos < len(src.values):
        keys.append(_read_key(src, 0))
    if not keys:
        raise SearchSyntaxError("no search criteria")
    return SearchKey("AND", tuple(keys))
