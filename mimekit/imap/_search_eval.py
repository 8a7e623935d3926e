"""SEARCH evaluation (RFC 3501 section 6.4.4) over a selected mailbox.

Input: the key tree of :func:`mimekit.imap._search.parse_search` (what the
protocol core reads from a SEARCH command): a :class:`SearchKey` with an
upper-case ``name`` and ``args`` that are ``str``, ``int``, ``date``, a
sequence-set ``str`` or child keys (``NOT``, ``OR``, ``AND`` for a
parenthesized group and the top level, ``SEQUENCE`` for a bare sequence
set). Any object with ``name`` and ``args`` like that works, so a caller may
also build the tree directly::

    SearchKey("AND", (SearchKey("UNSEEN"), SearchKey("FROM", ("alice",))))

A plain sequence of values (atoms, strings, lists) is parsed first with
:func:`~._search.parse_search`, with the ``charset`` given.

Output: the matching message sequence numbers, or UIDs, ascending.

How keys match, as Dovecot does:

* Flags, ``UID``, sequence sets, ``LARGER``/``SMALLER`` and the
  INTERNALDATE keys never open a message file (sizes come from the file
  name's ``,W=``, dates from its mtime); an ``AND`` tries its cheap keys
  first, so an expensive key is only looked at for messages that passed.
* ``BEFORE``/``ON``/``SINCE`` compare the INTERNALDATE's day in the
  server's time zone; ``SENT*`` the Date field's day in its own zone (RFC
  3501: "disregarding time and timezone"); no valid Date field, no match.
* String keys match a case-insensitive substring of *decoded* text:
  header fields with RFC 2047 words decoded (``FROM`` etc. and ``HEADER``;
  ``HEADER name ""`` matches every message that has the field), ``BODY``
  the text parts with their transfer encoding and charset undone, ``TEXT``
  the header and the body. Attached messages are searched too.
* ``OLDER``/``YOUNGER`` (RFC 5032) compare INTERNALDATE with now.
  ``MODSEQ`` and ``$`` (SEARCHRES) are not supported.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from ..tree import Message, parse
from ._search import SearchKey, SearchSyntaxError, parse_search
from ._seqset import SequenceSet, SequenceSetError

if TYPE_CHECKING:
    from ._mailbox_view import MailboxView

__all__ = ["SearchError", "search"]


class SearchError(SearchSyntaxError):
    """A search key that is malformed or not supported: the server answers
    ``BAD``."""


class _Msg:
    """One message during a search: everything computed at most once."""

    __slots__ = ("_header_text", "_message", "_texts", "seq", "uid", "view")

    def __init__(self, view: MailboxView, seq: int) -> None:
        self.view = view
        self.seq = seq
        self.uid = view.uids[seq - 1]
        self._message: Message | None = None
        self._texts: list[str] | None = None
        self._header_text: str | None = None

    @property
    def letters(self) -> str:
        info = self.view.folder.msgs.get(self.uid)
        return info.letters if info is not None else ""

    @property
    def message(self) -> Message:
        if self._message is None:
            self._message = parse(self.view.folder.read(self.uid))
        return self._message

    def header_values(self, name: str) -> list[str]:
        return [h.text.casefold() for h in self.message.headers.get_all(name)]

    def header_text(self) -> str:
        if self._header_text is None:
            self._header_text = "\n".join(f"{h.name}: {h.text}" for h in self.message.headers
                                          ).casefold()
        return self._header_text

    def body_texts(self) -> list[str]:
        if self._texts is None:
            texts: list[str] = []
            for part in self.message.walk():
                if part.is_multipart:
                    continue
                if part.message is not None:
                    # An attached message: its header is text to search too.
                    texts.append("\n".join(f"{h.name}: {h.text}"
                                           for h in part.message.headers).casefold())
                    continue
                if part.content_type.maintype == "text":
                    texts.append(part.get_text().casefold())
            self._texts = texts
        return self._texts


_Test = Callable[[_Msg], bool]
# Costs: how expensive a key is to test (an AND tests cheap ones first).
_FLAG, _STAT, _HEADER, _BODY = 1, 2, 3, 4


def _flag(letter: str, present: bool) -> tuple[_Test, int]:
    return (lambda m: (letter in m.letters) == present), _FLAG


def _contains(needle: str) -> Callable[[Iterable[str]], bool]:
    folded = needle.casefold()
    return lambda texts: any(folded in t for t in texts)


def _day(arg: Any, name: str) -> date:
    if isinstance(arg, datetime):
        return arg.date()
    if isinstance(arg, date):
        return arg
    raise SearchError(f"{name} needs a date")


def _compare_day(op: str, day: date) -> Callable[[date], bool]:
    if op.endswith("BEFORE"):
        return lambda d: d < day
    if op.endswith("ON"):
        return lambda d: d == day
    return lambda d: d >= day


def _internal_day(m: _Msg) -> date:
    stamp = m.view.folder.internal_date(m.uid).timestamp()
    return datetime.fromtimestamp(stamp).date()  # the server's time zone


def _sent_day(m: _Msg) -> date | None:
    when = m.message.date
    return when.date() if when is not None else None


def _text_arg(args: tuple[Any, ...], i: int, name: str) -> str:
    if i >= len(args):
        raise SearchError(f"{name} needs an argument")
    value = args[i]
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        raise SearchError(f"{name} needs a string")
    return value


def _compile(key: Any, view: MailboxView, depth: int = 0) -> tuple[_Test, int]:
    if depth > 100:
        raise SearchError("search keys nested too deeply")
    name = str(getattr(key, "name", "")).upper()
    args: tuple[Any, ...] = tuple(getattr(key, "args", ()))
    if name == "AND":
        parts = sorted((_compile(a, view, depth + 1) for a in args), key=lambda p: p[1])
        tests = [t for t, _ in parts]
        return (lambda m: all(t(m) for t in tests)), max((c for _, c in parts), default=_FLAG)
    if name == "OR":
        if len(args) != 2:
            raise SearchError("OR needs two keys")
        (a, ca), (b, cb) = sorted((_compile(x, view, depth + 1) for x in args),
                                  key=lambda p: p[1])
        return (lambda m: a(m) or b(m)), max(ca, cb)
    if name == "NOT":
        if len(args) != 1:
            raise SearchError("NOT needs one key")
        t, c = _compile(args[0], view, depth + 1)
        return (lambda m: not t(m)), c
    simple = _SIMPLE.get(name)
    if simple is not None:
        return simple
    if name == "RECENT":
        return (lambda m: m.uid in view.recent), _FLAG
    if name == "OLD":
        return (lambda m: m.uid not in view.recent), _FLAG
    if name == "NEW":
        return (lambda m: m.uid in view.recent and "S" not in m.letters), _FLAG
    if name in ("KEYWORD", "UNKEYWORD"):
        letter = view.folder.keywords.letter(_text_arg(args, 0, name), create=False)
        present = name == "KEYWORD"
        if letter is None:
            return (lambda m: not present), _FLAG
        return _flag(letter, present)
    if name in ("LARGER", "SMALLER"):
        if not args or not isinstance(args[0], int):
            raise SearchError(f"{name} needs a number")
        n = args[0]
        size = view.folder.size
        if name == "LARGER":
            return (lambda m: size(m.uid) > n), _STAT
        return (lambda m: size(m.uid) < n), _STAT
    if name in ("BEFORE", "ON", "SINCE"):
        cmp = _compare_day(name, _day(args[0] if args else None, name))
        return (lambda m: cmp(_internal_day(m))), _STAT
    if name in ("SENTBEFORE", "SENTON", "SENTSINCE"):
        cmp = _compare_day(name, _day(args[0] if args else None, name))

        def sent(m: _Msg) -> bool:
            day = _sent_day(m)
            return day is not None and cmp(day)
        return sent, _HEADER
    if name in ("OLDER", "YOUNGER"):
        if not args or not isinstance(args[0], int):
            raise SearchError(f"{name} needs a number of seconds")
        limit = time.time() - args[0]
        stamp = view.folder.internal_date
        if name == "OLDER":
            return (lambda m: stamp(m.uid).timestamp() <= limit), _STAT
        return (lambda m: stamp(m.uid).timestamp() >= limit), _STAT
    if name in ("UID", "SEQUENCE"):
        text = _text_arg(args, 0, name)
        if text == "$":
            raise SearchError("SEARCHRES ($) is not supported")
        try:
            sset = SequenceSet.parse(text)
        except SequenceSetError as exc:
            raise SearchError(str(exc)) from None
        if name == "UID":
            wanted = set(sset.select(view.uids))
            return (lambda m: m.uid in wanted), _FLAG
        spans = sset.ranges(len(view.uids))
        return (lambda m: any(lo <= m.seq <= hi for lo, hi in spans)), _FLAG
    if name in ("FROM", "TO", "CC", "BCC", "SUBJECT"):
        field = name.capitalize()
        has = _contains(_text_arg(args, 0, name))
        return (lambda m: has(m.header_values(field))), _HEADER
    if name == "HEADER":
        field = _text_arg(args, 0, name)
        needle = _text_arg(args, 1, name)
        if not needle:
            return (lambda m: bool(m.message.headers.get_all(field))), _HEADER
        has = _contains(needle)
        return (lambda m: has(m.header_values(field))), _HEADER
    if name == "BODY":
        has = _contains(_text_arg(args, 0, name))
        return (lambda m: has(m.body_texts())), _BODY
    if name == "TEXT":
        has = _contains(_text_arg(args, 0, name))
        return (lambda m: has([m.header_text()]) or has(m.body_texts())), _BODY
    raise SearchError(f"search key {name or key!r} is not supported")


_SIMPLE: dict[str, tuple[_Test, int]] = {
    "ALL": ((lambda m: True), _FLAG),
    "ANSWERED": _flag("R", True), "UNANSWERED": _flag("R", False),
    "DELETED": _flag("T", True), "UNDELETED": _flag("T", False),
    "DRAFT": _flag("D", True), "UNDRAFT": _flag("D", False),
    "FLAGGED": _flag("F", True), "UNFLAGGED": _flag("F", False),
    "SEEN": _flag("S", True), "UNSEEN": _flag("S", False),
}


def search(view: MailboxView, key: Any, *, uid: bool = False,
           charset: str | None = None) -> list[int]:
    """Run a SEARCH in ``view``.

    Args:
        view: The selected mailbox.
        key: A :class:`~._search.SearchKey` tree, or the raw criteria values.
        uid: Return UIDs (UID SEARCH) instead of sequence numbers.
        charset: For raw values: the CHARSET of literal strings.

    Returns:
        Matching sequence numbers or UIDs, ascending. Messages expunged by
        another session (not yet reported) never match.

    Raises:
        SearchError (a ``SearchSyntaxError``): malformed or unsupported keys.
        SearchCharsetError: an unknown CHARSET (``NO [BADCHARSET]``).
    """
    if not hasattr(key, "name"):
        key = parse_search(tuple(key), charset)
    elif not isinstance(key, SearchKey) and not hasattr(key, "args"):
        raise SearchError(f"not a search key: {key!r}")
    test, _ = _compile(key, view)
    out: list[int] = []
    msgs = view.folder.msgs
    for seq in range(1, len(view.uids) + 1):
        m = _Msg(view, seq)
        if m.uid not in msgs:
            continue
        try:
            ok = test(m)
        except KeyError:
            ok = False  # expunged while we looked
        if ok:
            out.append(m.uid if uid else seq)
    return out
