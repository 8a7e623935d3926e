"""The commands on the selected mailbox (RFC 3501 section 6.4): CHECK, CLOSE,
UNSELECT (RFC 3691), EXPUNGE and UID EXPUNGE (RFC 4315), SEARCH (with RFC
4731 ESEARCH's ``RETURN (MIN MAX COUNT ALL)``), SORT (RFC 5256, :mod:`._sort`),
FETCH, STORE, COPY and MOVE (RFC 6851), and their UID forms.

Sequence sets are read strictly (:mod:`._seqset`): ``0``, numbers past
2^32 - 1 and message numbers past EXISTS are ``BAD``; a UID set may name
UIDs that do not exist (they are ignored, RFC 3501 section 6.4.8). COPY and
MOVE answer with RFC 4315 ``COPYUID``; MOVE sends ``* OK [COPYUID ...]``
and then the EXPUNGEs before its tagged OK (RFC 6851 section 4.3).
"""

from __future__ import annotations

import asyncio
from typing import cast

from ._commands import Check, Close, Copy, Expunge, Fetch, Move, Search, Sort, Store, Unselect
from ._mailbox_errors import MailboxError
from ._mailbox_names import decode_wire_name
from ._mailbox_view import Changes
from ._responses import (
    FetchResponse,
    ResponseCode,
    SearchResponse,
    StatusResponse,
    UntaggedResponse,
)
from ._search import SearchSyntaxError, parse_search
from ._seqset import SequenceSet, SequenceSetError, format_numbers
from ._server_base import SessionBase
from ._server_fetch import FetchItemError, fetch_batch, parse_items
from ._sort import sort
from ._values import Atom, Value

__all__ = ["MessageCommands"]

#: Output octets per FETCH batch: each batch is computed in a worker thread
#: (the next one while this one is written), bounding memory.
FETCH_BATCH_BYTES = 4 << 20
_STORE_MODES = {"add": "+", "remove": "-", "replace": ""}
_ESEARCH_OPTIONS = frozenset({"MIN", "MAX", "ALL", "COUNT"})


def _esearch(command: Search, wanted: frozenset[str], found: list[int]) -> UntaggedResponse:
    """``* ESEARCH (TAG "t") [UID] MIN m MAX n COUNT c ALL set`` (RFC 4731
    section 3.1): MIN, MAX and ALL are left out when nothing matched."""
    values: list[Value] = [(Atom("TAG"), command.tag)]
    if command.uid:
        values.append(Atom("UID"))
    if found and "MIN" in wanted:
        values += [Atom("MIN"), found[0]]
    if found and "MAX" in wanted:
        values += [Atom("MAX"), found[-1]]
    if "COUNT" in wanted:
        values += [Atom("COUNT"), len(found)]
    if found and "ALL" in wanted:
        values += [Atom("ALL"), Atom(format_numbers(found))]
    return UntaggedResponse(name="ESEARCH", values=tuple(values))


class MessageCommands(SessionBase):
    """The selected-state commands of a session."""

    def _say_changes(self, changes: Changes) -> None:
        for response in self.changes_responses(changes):
            self.say(response)

    # -- CHECK, CLOSE, UNSELECT (6.4.1, 6.4.2; RFC 3691) -------------------------------------

    async def cmd_check(self, command: Check) -> StatusResponse:
        # Every change is on disk when its command completes: nothing to do.
        return self.ok(command, "CHECK completed")

    async def cmd_close(self, command: Close | Unselect) -> StatusResponse:
        view, self.view = self.selected(), None
        if isinstance(command, Close):
            # RFC 3501 6.4.2: expunge silently (not in a read-only session).
            await self.blocking(view.close)
        else:
            view.unselect()
        return self.ok(command, f"{command.name} completed")

    # -- EXPUNGE, UID EXPUNGE (6.4.3; RFC 4315 2.1) ----------------------------------------

    async def cmd_expunge(self, command: Expunge) -> StatusResponse:
        view = self.selected()
        try:
            uids = None
            if command.uids is not None:
                uids = SequenceSet.parse(command.uids).select(view.uids)
            changes = await self.blocking(view.expunge, uids)
        except (MailboxError, SequenceSetError) as exc:
            return self.refusal(command, exc)
        self._say_changes(changes)
        return self.ok(command, f"{command.name} completed")

    # -- SEARCH (6.4.4) -----------------------------------------------------------------

    async def cmd_search(self, command: Search) -> StatusResponse:
        returns = command.return_options
        if returns is not None:
            # RFC 4731 section 3.1: "RETURN ()" means ALL. SAVE (RFC 5182)
            # is not offered, so it is as unknown as any other option.
            wanted = frozenset(returns) or frozenset({"ALL"})
            unknown = sorted(wanted - _ESEARCH_OPTIONS)
            if unknown:
                return self.bad(command, f"unknown SEARCH RETURN option {unknown[0]}")
        view = self.selected()
        try:
            key = parse_search(cast("tuple[Value, ...]", command.criteria), command.charset)
            found = await self.blocking(view.search, key, uid=command.uid)
        except (SearchSyntaxError, SequenceSetError) as exc:
            return self.refusal(command, exc)
        if returns is None:
            self.say(SearchResponse(numbers=tuple(found)))
        else:
            self.say(_esearch(command, wanted, sorted(found)))
        return self.ok(command, f"{command.name} completed")

    async def cmd_sort(self, command: Sort) -> StatusResponse:
        view = self.selected()
        try:
            key = parse_search(cast("tuple[Value, ...]", command.criteria), command.charset)
            found = await self.blocking(sort, view, key, command.order, uid=command.uid)
        except (SearchSyntaxError, SequenceSetError) as exc:
            return self.refusal(command, exc)
        self.say(UntaggedResponse(name="SORT", values=tuple(found)))
        return self.ok(command, f"{command.name} completed")

    # -- FETCH (6.4.5) --------------------------------------------------------------------

    async def cmd_fetch(self, command: Fetch) -> StatusResponse:
        if command.modifiers:
            return self.bad(command, "FETCH modifiers (CONDSTORE) are not supported")
        view = self.selected()
        try:
            plan = parse_items(command.items, uid=command.uid)
            seqs = view.resolve(command.sequence_set, uid=command.uid)
        except (FetchItemError, SequenceSetError) as exc:
            return self.refusal(command, exc)
        skipped = done = 0
        cache = self.server.fetch_cache

        def batch(first: int) -> asyncio.Task[tuple[list[bytes], int, int]]:
            return asyncio.ensure_future(self.blocking(fetch_batch, view, seqs[first:], plan,
                                                       cache, FETCH_BATCH_BYTES))

        job = batch(0) if seqs else None
        try:
            while job is not None:
                chunks, count, missing = await job
                done += count
                skipped += missing
                # The next batch is computed while this one is sent.
                job = batch(done) if done < len(seqs) else None
                await self.write_chunks(chunks)
        finally:
            if job is not None:
                job.cancel()
        if skipped and not command.uid:
            return self.no(command, "Some of the requested messages no longer exist",
                           "EXPUNGEISSUED")
        return self.ok(command, f"{command.name} completed")

    # -- STORE (6.4.6) ----------------------------------------------------------------------

    async def cmd_store(self, command: Store) -> StatusResponse:
        if command.unchanged_since is not None:
            return self.bad(command, "STORE UNCHANGEDSINCE (CONDSTORE) is not supported")
        view = self.selected()
        try:
            seqs = view.resolve(command.sequence_set, uid=command.uid)
            updates = await self.blocking(view.store, seqs, _STORE_MODES[command.operation],
                                          command.flags)
        except (MailboxError, SequenceSetError) as exc:
            return self.refusal(command, exc)
        for response in self.keyword_responses():
            self.say(response)
        if not command.silent:
            for seq, uid, flags in updates:
                items: dict[str, object] = {"UID": uid} if command.uid else {}
                items["FLAGS"] = tuple(Atom(f) for f in flags)
                self.say(FetchResponse(seq=seq, items=items))
        return self.ok(command, f"{command.name} completed")

    # -- COPY, MOVE (6.4.7; RFC 6851; RFC 4315 COPYUID) --------------------------------------

    async def cmd_copy(self, command: Copy | Move) -> StatusResponse:
        view = self.selected()
        move = isinstance(command, Move)
        try:
            seqs = view.resolve(command.sequence_set, uid=command.uid)
            dest = decode_wire_name(command.mailbox)
            if move and dest == view.name:
                return self.no(command, "Cannot move messages into the mailbox they are in",
                               "CANNOT")
            result = await self.blocking(view.move if move else view.copy, seqs, dest)
        except (MailboxError, SequenceSetError) as exc:
            return self.refusal(command, exc, trycreate=True)
        code = None
        if result.pairs:
            code = ResponseCode(name="COPYUID", values=(
                result.uidvalidity, Atom(format_numbers(result.source_uids)),
                Atom(format_numbers(result.dest_uids))))
        if move:
            if code is not None:
                self.say(StatusResponse(status="OK", code=code, text="Moved UIDs"))
            await self.send_updates(allow_expunge=True)
            return self.ok(command, f"{command.name} completed")
        return self.ok(command, f"{command.name} completed", code)
