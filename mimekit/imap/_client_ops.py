"""The IMAP clients' mailbox and message operations, and IDLE, as generators.

Part two of the logic both clients share (see :mod:`._client_logic` for the
request protocol). Message operations address messages by UID (the UID
variants of the commands), because sequence numbers shift under the
client's feet when other sessions expunge.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from ..tree import Message
from ._client_logic import READ, Deliver, SessionBase, Step, Wait
from ._command_events import IdleDone
from ._command_parse import SORT_KEYS
from ._commands import (
    Append,
    Close,
    Copy,
    Create,
    Delete,
    Examine,
    Expunge,
    Fetch,
    Idle,
    List,
    Lsub,
    Move,
    Rename,
    Search,
    Select,
    Sort,
    Status,
    Store,
    Subscribe,
    Unselect,
    Unsubscribe,
)
from ._errors import (
    IMAPCommandError,
    IMAPDisconnected,
    IMAPNoSuchMessage,
    IMAPNotSupportedError,
    RemoteProtocolError,
)
from ._responses import (
    ContinuationRequest,
    ExistsResponse,
    ExpungeResponse,
    FetchResponse,
    FlagsResponse,
    ListResponse,
    MailboxStatusResponse,
    RecentResponse,
    Response,
    SearchResponse,
    StatusResponse,
    UntaggedResponse,
)
from ._results import (
    SPECIAL_USE,
    AppendResult,
    CopyResult,
    FetchResult,
    MailboxInfo,
    SearchSummary,
    SelectInfo,
    append_result,
    copy_result,
    fetch_result,
    uid_list,
)
from ._search import build_search
from ._values import Atom, Value, as_text, format_sequence_set

__all__ = ["DEFAULT_STATUS_ITEMS", "IDLE_RENEW", "ClientSession", "StopIdle"]

#: RFC 2177: "clients using IDLE are advised to terminate the IDLE and
#: re-issue it at least every 29 minutes" (servers may log out after 30).
IDLE_RENEW = 29 * 60.0
DEFAULT_STATUS_ITEMS = ("MESSAGES", "RECENT", "UIDNEXT", "UIDVALIDITY", "UNSEEN")


class StopIdle(Exception):
    """Thrown into :meth:`ClientSession.idle` when its consumer stops
    iterating: the logic ends IDLE (DONE, tagged OK) without delivering more."""


def _uid_set(uids: int | str | Iterable[int]) -> str | None:
    """A UID set for the wire, or None for an empty collection."""
    if isinstance(uids, int | str):
        return format_sequence_set(uids)
    values = list(uids)
    return format_sequence_set(values) if values else None


def _message_bytes(message: Any) -> bytes:
    if isinstance(message, bytes | bytearray | memoryview):
        return bytes(message)
    if isinstance(message, Message):
        return message.to_bytes()
    raise TypeError(f"append() takes a Message or bytes, not {type(message).__name__}")


def _code_int(event: StatusResponse) -> int | None:
    code = event.code
    if code is None or not code.values or not isinstance(code.values[0], int):
        return None
    return code.values[0]


class ClientSession(SessionBase):
    """All client operations over one connection (see :class:`SessionBase`)."""

    # -- mailboxes ----------------------------------------------------------------------

    def list_mailboxes(self, pattern: str = "*", reference: str = "", *,
                       subscribed: bool = False, special_use: bool = False
                       ) -> Step[list[MailboxInfo]]:
        """LIST (or LSUB); see :meth:`IMAPClient.list_mailboxes`."""
        caps = self.capabilities
        extended = "LIST-EXTENDED" in caps
        command: List | Lsub
        if special_use:
            self._require("SPECIAL-USE", "listing special-use mailboxes")
            self._require("LIST-EXTENDED", "listing special-use mailboxes")
        wire_pattern = self.wire_name(pattern)
        wire_reference = self.wire_name(reference)
        if subscribed and not extended:
            command = Lsub(reference=wire_reference, pattern=wire_pattern)
        else:
            select: tuple[str, ...] = ()
            if special_use:
                select += ("SPECIAL-USE",)
            if subscribed:
                select += ("SUBSCRIBED",)
            returns = ("SPECIAL-USE",) if extended and "SPECIAL-USE" in caps else None
            command = List(reference=wire_reference, pattern=wire_pattern,
                           select_options=select, return_options=returns)
        _, got = yield from self.command(command, keep=(ListResponse,))
        out = []
        for event in got:
            assert isinstance(event, ListResponse)
            flags = tuple(event.flags)
            use = next((f for f in flags if f.upper() in SPECIAL_USE), None)
            out.append(MailboxInfo(name=self.decode_name(event.mailbox), raw_name=event.mailbox,
                                   delimiter=event.delimiter, flags=flags, special_use=use))
        return out

    def select(self, mailbox: str, readonly: bool = False) -> Step[SelectInfo]:
        """SELECT or EXAMINE (RFC 3501 6.3.1/6.3.2); see :meth:`IMAPClient.select`."""
        wire = self.wire_name(mailbox)
        self.selected = None
        command = Examine(mailbox=wire) if readonly else Select(mailbox=wire)
        tagged, got = yield from self.command(
            command, keep=(ExistsResponse, RecentResponse, FlagsResponse, StatusResponse))
        info: dict[str, Any] = {"name": mailbox, "readonly": readonly}
        for event in got:
            if isinstance(event, ExistsResponse):
                info["exists"] = event.count
            elif isinstance(event, RecentResponse):
                info["recent"] = event.count
            elif isinstance(event, FlagsResponse):
                info["flags"] = event.flags
            elif isinstance(event, StatusResponse) and event.code is not None:
                name = event.code.name
                if name in ("UIDVALIDITY", "UIDNEXT", "UNSEEN", "HIGHESTMODSEQ"):
                    key = "highest_modseq" if name == "HIGHESTMODSEQ" else name.lower()
                    info[key] = _code_int(event)
                elif name == "PERMANENTFLAGS" and event.code.values \
                        and isinstance(event.code.values[0], tuple):
                    info["permanent_flags"] = tuple(str(f) for f in event.code.values[0])
                else:
                    self.updates.append(event)
            else:
                self.updates.append(event)
        if tagged.code is not None and tagged.code.name in ("READ-ONLY", "READ-WRITE"):
            info["readonly"] = tagged.code.name == "READ-ONLY"
        self.selected = SelectInfo(**info)
        return self.selected

    def close_mailbox(self) -> Step[None]:
        """CLOSE: expunge \\Deleted messages silently and deselect."""
        yield from self.command(Close())
        self.selected = None

    def unselect(self) -> Step[None]:
        """UNSELECT (RFC 3691): deselect without expunging."""
        self._require("UNSELECT", "UNSELECT")
        yield from self.command(Unselect())
        self.selected = None

    def create(self, mailbox: str, special_use: str | None = None) -> Step[None]:
        """CREATE (with RFC 6154 ``USE`` when ``special_use`` is given)."""
        params: tuple[Any, ...] = ()
        if special_use is not None:
            self._require("CREATE-SPECIAL-USE", "CREATE with a special use")
            params = (Atom("USE"), (Atom(special_use),))
        yield from self.command(Create(mailbox=self.wire_name(mailbox), params=params))

    def delete(self, mailbox: str) -> Step[None]:
        """DELETE."""
        yield from self.command(Delete(mailbox=self.wire_name(mailbox)))

    def rename(self, mailbox: str, new_name: str) -> Step[None]:
        """RENAME."""
        yield from self.command(Rename(mailbox=self.wire_name(mailbox),
                                       new_name=self.wire_name(new_name)))

    def subscribe(self, mailbox: str) -> Step[None]:
        """SUBSCRIBE."""
        yield from self.command(Subscribe(mailbox=self.wire_name(mailbox)))

    def unsubscribe(self, mailbox: str) -> Step[None]:
        """UNSUBSCRIBE."""
        yield from self.command(Unsubscribe(mailbox=self.wire_name(mailbox)))

    def status(self, mailbox: str, items: Iterable[str] | None = None) -> Step[dict[str, int]]:
        """STATUS: ``{"MESSAGES": 3, "UIDNEXT": 12, ...}``."""
        names = tuple(i.upper() for i in (items or DEFAULT_STATUS_ITEMS))
        _, got = yield from self.command(Status(mailbox=self.wire_name(mailbox), items=names),
                                         keep=(MailboxStatusResponse,))
        out: dict[str, int] = {}
        for event in got:
            assert isinstance(event, MailboxStatusResponse)
            out.update(event.items)
        return out

    # -- messages -----------------------------------------------------------------------

    def search(self, criteria: object = None, charset: str | None = None,
               **keys: object) -> Step[list[int]]:
        """UID SEARCH; see :meth:`IMAPClient.search`."""
        key = build_search(criteria, **keys)
        if charset is None and key.needs_charset:
            charset = "UTF-8"
        _, got = yield from self.command(
            Search(criteria=tuple(key.to_values()), charset=charset, uid=True),
            keep=(SearchResponse,))
        out: list[int] = []
        for event in got:
            assert isinstance(event, SearchResponse)
            out.extend(event.numbers)
        return out

    def search_summary(self, criteria: object = None, charset: str | None = None, *,
                       uids: bool = False, **keys: object) -> Step[SearchSummary]:
        """UID SEARCH RETURN (MIN MAX COUNT [ALL]); see :meth:`IMAPClient.search_summary`."""
        key = build_search(criteria, **keys)
        if charset is None and key.needs_charset:
            charset = "UTF-8"
        values = tuple(key.to_values())
        if "ESEARCH" not in self.capabilities:
            _, got = yield from self.command(
                Search(criteria=values, charset=charset, uid=True), keep=(SearchResponse,))
            found = sorted({n for e in got if isinstance(e, SearchResponse) for n in e.numbers})
            return SearchSummary(count=len(found), min=found[0] if found else None,
                                 max=found[-1] if found else None,
                                 uids=tuple(found) if uids else None)
        returns = ("MIN", "MAX", "COUNT", "ALL") if uids else ("MIN", "MAX", "COUNT")
        _, got = yield from self.command(
            Search(criteria=values, charset=charset, uid=True, return_options=returns),
            keep=(UntaggedResponse,))
        answer = next((e for e in got if isinstance(e, UntaggedResponse)
                       and e.name == "ESEARCH"), None)
        items: dict[str, Value] = {}
        if answer is not None:
            rest = list(answer.values)
            if rest and isinstance(rest[0], tuple):
                rest = rest[1:]  # the (TAG "...") correlator
            if rest and isinstance(rest[0], Atom) and rest[0].upper() == "UID":
                rest = rest[1:]
            # Name/value pairs; a value may be a list (RFC 5267 PARTIAL).
            for name, value in zip(rest[::2], rest[1::2], strict=False):
                if isinstance(name, Atom):
                    items.setdefault(name.upper(), value)
        low, high, count = items.get("MIN"), items.get("MAX"), items.get("COUNT")
        if not isinstance(count, int):
            raise RemoteProtocolError("ESEARCH answer without COUNT")
        found_uids: tuple[int, ...] | None = None
        if uids:
            text = as_text(items.get("ALL"), "")
            found_uids = tuple(sorted(uid_list(text))) if text else ()
        return SearchSummary(count=count, min=low if isinstance(low, int) else None,
                             max=high if isinstance(high, int) else None, uids=found_uids)

    def sort(self, order: str | Iterable[str], criteria: object = None,
             charset: str = "UTF-8", **keys: object) -> Step[list[int]]:
        """UID SORT (RFC 5256); see :meth:`IMAPClient.sort`."""
        words = tuple(order.split() if isinstance(order, str) else order)
        words = tuple(w.upper() for w in words)
        if not words or words[-1] == "REVERSE" or any(
                w not in SORT_KEYS and w != "REVERSE" for w in words):
            raise ValueError(f"not SORT criteria: {order!r} (keys: {sorted(SORT_KEYS)}, "
                             "each may follow REVERSE)")
        if "SORT" not in self.capabilities:
            raise IMAPNotSupportedError("the server does not offer SORT (RFC 5256)")
        key = build_search(criteria, **keys)
        _, got = yield from self.command(
            Sort(order=words, charset=charset, criteria=tuple(key.to_values()), uid=True),
            keep=(UntaggedResponse,))
        return [v for e in got if isinstance(e, UntaggedResponse) and e.name == "SORT"
                for v in e.values if isinstance(v, int)]

    def fetch(self, uids: int | str | Iterable[int], items: str | Iterable[str]
              ) -> Step[dict[int, FetchResult]]:
        """UID FETCH; see :meth:`IMAPClient.fetch`."""
        wanted = (items,) if isinstance(items, str) else tuple(items)
        if not wanted:
            raise ValueError("name at least one FETCH item")
        uid_set = _uid_set(uids)
        if uid_set is None:
            return {}
        _, got = yield from self.command(
            Fetch(sequence_set=uid_set, items=wanted, uid=True), keep=(FetchResponse,))
        raw: dict[int, tuple[int, dict[str, object]]] = {}
        for event in got:
            assert isinstance(event, FetchResponse)
            uid = event.items.get("UID")
            if not isinstance(uid, int):
                self.updates.append(event)  # an unsolicited flag update
                continue
            raw.setdefault(uid, (event.seq, {}))[1].update(event.items)
        return {uid: fetch_result(seq, items_) for uid, (seq, items_) in raw.items()}

    def fetch_bytes(self, uid: int) -> Step[bytes]:
        """The whole message as stored (``BODY.PEEK[]``: \\Seen is not set)."""
        results = yield from self.fetch(uid, ["BODY.PEEK[]"])
        result = results.get(uid)
        data = result.get("BODY[]") if result is not None else None
        if not isinstance(data, bytes):
            raise IMAPNoSuchMessage(f"no message with UID {uid} in "
                                    f"{self.selected.name if self.selected else 'the mailbox'}")
        return data

    def append(self, mailbox: str, message: Any, flags: Iterable[str] = (),
               date: datetime | None = None) -> Step[AppendResult | None]:
        """APPEND; see :meth:`IMAPClient.append`."""
        data = _message_bytes(message)
        flag_tuple = (flags,) if isinstance(flags, str) else tuple(flags)
        tagged, _ = yield from self.command(Append(mailbox=self.wire_name(mailbox), message=data,
                                                   flags=flag_tuple, internal_date=date))
        return append_result(tagged.code)

    def store(self, uids: int | str | Iterable[int], *, add_flags: Iterable[str] | None = None,
              remove_flags: Iterable[str] | None = None, set_flags: Iterable[str] | None = None,
              silent: bool = False) -> Step[dict[int, tuple[str, ...]]]:
        """UID STORE; see :meth:`IMAPClient.store`."""
        ops: list[tuple[str, tuple[str, ...]]] = []
        if set_flags is not None:
            if add_flags is not None or remove_flags is not None:
                raise ValueError("set_flags replaces all flags: do not combine it with "
                                 "add_flags or remove_flags")
            ops.append(("replace", _flag_tuple(set_flags)))
        if add_flags is not None:
            ops.append(("add", _flag_tuple(add_flags)))
        if remove_flags is not None:
            ops.append(("remove", _flag_tuple(remove_flags)))
        if not ops:
            raise ValueError("give add_flags, remove_flags or set_flags")
        uid_set = _uid_set(uids)
        if uid_set is None:
            return {}
        out: dict[int, tuple[str, ...]] = {}
        for operation, flags in ops:
            _, got = yield from self.command(
                Store(sequence_set=uid_set, flags=flags, operation=operation, silent=silent,
                      uid=True), keep=(FetchResponse,))
            for event in got:
                assert isinstance(event, FetchResponse)
                uid, new = event.items.get("UID"), event.items.get("FLAGS")
                if isinstance(uid, int) and isinstance(new, tuple):
                    out[uid] = tuple(str(f) for f in new)
                else:
                    self.updates.append(event)
        return out

    def copy(self, uids: int | str | Iterable[int], mailbox: str) -> Step[CopyResult | None]:
        """UID COPY; returns the COPYUID result (RFC 4315) when offered."""
        uid_set = _uid_set(uids)
        if uid_set is None:
            return None
        tagged, _ = yield from self.command(
            Copy(sequence_set=uid_set, mailbox=self.wire_name(mailbox), uid=True))
        return copy_result(tagged.code)

    def move(self, uids: int | str | Iterable[int], mailbox: str) -> Step[CopyResult | None]:
        """UID MOVE (RFC 6851), or COPY + STORE \\Deleted + EXPUNGE."""
        uid_set = _uid_set(uids)
        if uid_set is None:
            return None
        wire = self.wire_name(mailbox)
        if "MOVE" in self.capabilities:
            tagged, got = yield from self.command(
                Move(sequence_set=uid_set, mailbox=wire, uid=True), keep=(StatusResponse,))
            # RFC 6851 section 4.3: COPYUID comes in an untagged OK before
            # the EXPUNGEs (some servers put it in the tagged OK).
            for event in [*got, tagged]:
                assert isinstance(event, StatusResponse)
                result = copy_result(event.code)
                if result is not None:
                    return result
                if event is not tagged:
                    self.updates.append(event)
            return None
        tagged, _ = yield from self.command(Copy(sequence_set=uid_set, mailbox=wire, uid=True))
        yield from self.command(Store(sequence_set=uid_set, flags=("\\Deleted",),
                                      operation="add", silent=True, uid=True))
        if "UIDPLUS" in self.capabilities:
            yield from self.command(Expunge(uids=uid_set))
        else:
            # Without UIDPLUS only a plain EXPUNGE exists: it also removes
            # other messages already marked \Deleted (documented).
            yield from self.command(Expunge())
        return copy_result(tagged.code)

    def expunge(self, uids: int | str | Iterable[int] | None = None) -> Step[list[int]]:
        """EXPUNGE, or UID EXPUNGE (RFC 4315) for the given UIDs only.

        Returns the sequence numbers the server reported expunged, in order.
        """
        command = Expunge()
        if uids is not None:
            self._require("UIDPLUS", "expunging by UID")
            uid_set = _uid_set(uids)
            if uid_set is None:
                return []
            command = Expunge(uids=uid_set)
        _, got = yield from self.command(command, keep=(ExpungeResponse,))
        return [e.seq for e in got if isinstance(e, ExpungeResponse)]

    # -- IDLE ---------------------------------------------------------------------------

    def idle(self, timeout: float | None, renew: float = IDLE_RENEW) -> Step[None]:
        """IDLE (RFC 2177) as a stream of :class:`Deliver` requests.

        Ends normally when ``timeout`` seconds have passed (after DONE and the
        tagged OK), or when :class:`StopIdle` is thrown in (the caller
        stopped iterating; events after that are queued in ``updates``).
        Re-issues IDLE every ``renew`` seconds. An untagged BYE raises
        :class:`IMAPDisconnected`; a refused IDLE :class:`IMAPCommandError`.
        """
        self._require("IDLE", "IDLE")
        if renew <= 0:
            raise ValueError("renew must be positive")
        clock = time.monotonic
        deadline = None if timeout is None else clock() + timeout
        while True:
            yield self.conn.send(Idle())
            tag = self.conn.last_tag
            phase = ["starting"]
            stopping = False
            try:
                yield from self._idle_started(tag, phase)
                renew_at = clock() + renew
                while True:
                    now = clock()
                    wait = renew_at - now if deadline is None else min(renew_at, deadline) - now
                    if wait <= 0:
                        break
                    event = yield Wait(wait)
                    if event is not None:
                        yield from self._idle_event(event, deliver=True)
                yield from self._idle_done(tag, phase, deliver=True)
            except StopIdle:
                stopping = True
                yield from self._idle_done(tag, phase, deliver=False)
            if stopping or (deadline is not None and clock() >= deadline):
                return

    def _idle_started(self, tag: str, phase: list[str]) -> Step[None]:
        """Read to the server's "+" (events before it are delivered)."""
        while True:
            event = yield READ
            assert event is not None
            if isinstance(event, ContinuationRequest):
                phase[0] = "idling"
                return
            if isinstance(event, StatusResponse) and event.tag == tag:
                phase[0] = "over"
                raise IMAPCommandError(event.status, event.text, event.code, "IDLE")
            yield from self._idle_event(event, deliver=True)

    def _idle_event(self, event: Response, *, deliver: bool) -> Step[None]:
        if isinstance(event, StatusResponse) and event.tag is None and event.status == "BYE":
            raise IMAPDisconnected(f"the server ended the session: {event.text}",
                                   bye=event.text)
        self._observe(event)
        if deliver:
            yield Deliver(event)
        else:
            self.updates.append(event)

    def _idle_done(self, tag: str, phase: list[str], *, deliver: bool) -> Step[None]:
        """End IDLE: wait for the "+" if it has not come, send DONE, read to
        the tagged OK. ``phase`` ("starting", "idling", "done", "over") lets
        a second call, after the consumer stopped, finish what the first began."""
        while phase[0] == "starting":
            event = yield READ
            assert event is not None
            if isinstance(event, ContinuationRequest):
                phase[0] = "idling"
            elif isinstance(event, StatusResponse) and event.tag == tag:
                phase[0] = "over"
                return
            else:
                yield from self._idle_event(event, deliver=False)
        if phase[0] == "idling":
            yield self.conn.send(IdleDone())
            phase[0] = "done"
        while phase[0] == "done":
            event = yield READ
            assert event is not None
            if isinstance(event, StatusResponse) and event.tag == tag:
                phase[0] = "over"
                if event.status != "OK":
                    raise IMAPCommandError(event.status, event.text, event.code, "IDLE")
                return
            yield from self._idle_event(event, deliver=deliver)


def _flag_tuple(flags: Iterable[str]) -> tuple[str, ...]:
    return (flags,) if isinstance(flags, str) else tuple(flags)
