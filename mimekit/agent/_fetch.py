"""``fetch``: new mail from a POP3 or IMAP server into the account's Maildir.

Incremental: a message is known by its POP3 UIDL, or by its IMAP UID under
the mailbox's UIDVALIDITY; the ones already fetched are in a state file in
the Maildir's directory, ``.mimekit-fetch-<id>`` (a :mod:`journal
<._journal>`; ``<id>`` is a digest of ``protocol://user@host[/mailbox]``, so
a port or TLS change keeps the state and two accounts can share a Maildir).

State records, after the header ``{"format": "mimekit-fetch", "version": 1,
"source": ..., "uidvalidity": N | null}``::

    {"want": UID, "sha256": HEX, "t": SECONDS}   # about to store this message
    {"got": UID, "key": MAILDIR_KEY}             # stored, durably

Crash safety. Per message: download it; append ``want`` (fsync); store it
with :meth:`Maildir.add <mimekit.mailstore.Maildir.add>` (fsync of the file
and of the directory); append ``got`` (fsync). Killed:

* before ``want`` is durable: nothing stored, nothing recorded: fetched again;
* between ``want`` and the end of ``add``: ``add`` leaves nothing in
  ``new/`` (it renames a complete, fsync'ed file in one step); the next run
  looks for a message with that digest delivered since ``t``, finds none,
  and fetches again;
* between ``add`` and ``got``: the next run finds the stored message by its
  digest, records it, and does not fetch it again;
* after ``got``: known.

So a message is never stored twice nor lost. Deleting on the server
(``delete=True``) happens only for messages whose ``got`` is durable: POP3
DELE takes effect at QUIT, which is sent only when the run ends normally;
IMAP messages are marked ``\\Deleted`` after their ``got`` and expunged at
the end. At the start of each run the file is compacted (atomically) to the
``got`` records of messages still on the server.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from ..imap import IMAPClient
from ..mailstore import Maildir
from ..pop3 import POP3Client, POP3ResponseError
from ._accounts import Account, Endpoint
from ._connect import Connector
from ._content import digest, find_stored
from ._errors import ServerError
from ._flags import maildir_flags
from ._journal import Journal
from ._report import Reporter

__all__ = ["FetchOutcome", "fetch", "fetch_state_path"]

#: Called at two points of storing each message, ``hook("stored", uid)``
#: (after the Maildir has it, before the state says so) and
#: ``hook("recorded", uid)``: tests raise from it to simulate a crash.
Hook = Callable[[str, str], None]


@dataclass(slots=True)
class FetchOutcome:
    """What a fetch did.

    Attributes:
        source: ``pop3://user@host`` or ``imap://user@host/INBOX``.
        maildir: Where the mail went.
        fetched: Messages stored.
        skipped: Messages left on the server for being older than ``since``.
        deleted: Messages deleted on the server.
        recovered: Messages an interrupted run had stored but not recorded.
        matched: After a UIDVALIDITY change, messages found already stored.
    """

    source: str
    maildir: Path
    fetched: int = 0
    skipped: int = 0
    deleted: int = 0
    recovered: int = 0
    matched: int = 0


def _source(endpoint: Endpoint, mailbox: str | None) -> str:
    # Not the port nor the TLS mode: moving to port 995 must not look like
    # a new server (which would fetch everything again).
    text = f"{endpoint.protocol}://{endpoint.user}@{endpoint.host.lower()}"
    return f"{text}/{mailbox}" if mailbox is not None else text


def fetch_state_path(maildir: Path, source: str) -> Path:
    """The state file of ``source`` in ``maildir``."""
    return maildir / f".mimekit-fetch-{hashlib.sha256(source.encode()).hexdigest()[:12]}"


class _State:
    """The replayed journal: what is stored, and what was being stored."""

    def __init__(self, md: Maildir, source: str, hook: Hook | None) -> None:
        self.md = md
        self.hook = hook
        self.journal = Journal(fetch_state_path(md.path, source),
                               {"format": "mimekit-fetch", "version": 1, "source": source,
                                "uidvalidity": None})
        header, records = self.journal.load()
        self.uidvalidity: int | None = header.get("uidvalidity") if header else None
        self.got: dict[str, str] = {}
        self.wants: dict[str, dict[str, Any]] = {}
        for record in records:
            if "got" in record:
                uid = str(record["got"])
                self.got[uid] = str(record["key"])
                self.wants.pop(uid, None)
            elif "want" in record:
                self.wants[str(record["want"])] = record

    def recover(self) -> int:
        """Settle the ``want`` records an interrupted run left (see the module)."""
        found = 0
        for uid, want in self.wants.items():
            if uid in self.got:
                continue
            key = find_stored(self.md, str(want.get("sha256")), not_before=want.get("t"),
                              exclude=self.got.values())
            if key is not None:
                self.got[uid] = key
                found += 1
        self.wants.clear()
        return found

    def compact(self, on_server: set[str], uidvalidity: int | None) -> None:
        """Keep only messages still on the server; rewrite the file atomically."""
        self.got = {uid: key for uid, key in self.got.items() if uid in on_server}
        self.uidvalidity = uidvalidity
        self.journal.header["uidvalidity"] = uidvalidity
        self.journal.rewrite({"got": uid, "key": key} for uid, key in self.got.items())

    def record(self, uid: str, key: str) -> None:
        self.journal.append({"got": uid, "key": key})
        self.got[uid] = key

    def store(self, uid: str, data: bytes, flags: str = "") -> str:
        """Store one message crash-safely (see the module)."""
        self.journal.append({"want": uid, "sha256": digest(data), "t": int(time.time())})
        key = self.md.add(data, flags)
        if self.hook is not None:
            self.hook("stored", uid)
        self.record(uid, key)
        if self.hook is not None:
            self.hook("recorded", uid)
        return key


def fetch(account: Account, connector: Connector, *, delete: bool = False,
          since: date | None = None, reporter: Reporter | None = None,
          hook: Hook | None = None) -> FetchOutcome:
    """Fetch new mail of ``account`` into its Maildir (see the module).

    Args:
        delete: Delete fetched messages on the server (also those fetched
            by earlier runs that are still there).
        since: Only messages dated on or after this day (POP3: the Date
            header, read with TOP; IMAP: SEARCH SINCE, the arrival date).
        reporter: Receives the progress and warnings.

    Raises:
        AgentError: configuration, connection, authentication or server
            errors; a damaged state file.
    """
    reporter = reporter or Reporter()
    endpoint = account.fetch_endpoint()
    md = Maildir(account.need_maildir(), create=True)
    # A run killed (SIGKILL, power loss) while writing leaves its message
    # in tmp/, never in new/ or cur/; remove such leftovers of dead runs.
    md.clean(dead_writers=True)
    if endpoint.protocol == "pop3":
        source = _source(endpoint, None)
        outcome = FetchOutcome(source, md.path)
        state = _State(md, source, hook)
        try:
            with connector.pop3(endpoint) as client:
                _fetch_pop3(client, state, outcome, delete, since, reporter)
        finally:
            state.journal.close()
    else:
        source = _source(endpoint, "INBOX")
        outcome = FetchOutcome(source, md.path)
        state = _State(md, source, hook)
        try:
            with connector.imap(endpoint) as imap:
                _fetch_imap(imap, state, outcome, delete, since, reporter)
        finally:
            state.journal.close()
    return outcome


def _fetch_pop3(client: POP3Client, state: _State, outcome: FetchOutcome, delete: bool,
                since: date | None, reporter: Reporter) -> None:
    try:
        listing = client.uidl()
    except POP3ResponseError as exc:
        raise ServerError(f"{outcome.source}: the server has no UIDL, so fetching cannot "
                          f"be incremental ({exc})") from exc
    outcome.recovered = state.recover()
    state.compact({uid for _n, uid in listing}, None)
    todo = []
    for number, uid in listing:
        if uid in state.got:
            if delete:
                client.delete(number)
                outcome.deleted += 1
        else:
            todo.append((number, uid))
    if since is not None:
        kept = []
        for number, uid in todo:
            stamp = client.top(number, 0).date
            if stamp is not None and stamp.date() < since:
                outcome.skipped += 1
            else:
                kept.append((number, uid))
        todo = kept
    progress = reporter.progress("fetch", len(todo))
    try:
        for number, uid in todo:
            state.store(uid, client.retrieve_bytes(number))
            outcome.fetched += 1
            if delete:
                client.delete(number)
                outcome.deleted += 1
            progress.advance()
    finally:
        progress.finish()


def _fetch_imap(client: IMAPClient, state: _State, outcome: FetchOutcome, delete: bool,
                since: date | None, reporter: Reporter) -> None:
    info = client.select("INBOX", readonly=not delete)
    uidvalidity = info.uidvalidity
    everything = client.search("ALL")
    on_server = {str(uid) for uid in everything}
    old: dict[str, str] = {}  # digest -> key of what we had, after a UIDVALIDITY change
    if state.uidvalidity is not None and uidvalidity != state.uidvalidity:
        reporter.warn(f"{outcome.source}: UIDVALIDITY changed ({state.uidvalidity} -> "
                      f"{uidvalidity}): messages already here are recognised by content")
        for key in state.got.values():
            try:
                old[digest(state.md.get_bytes(key))] = key
            except KeyError:
                continue
        state.got, state.wants = {}, {}
    else:
        outcome.recovered = state.recover()
    state.compact(on_server, uidvalidity)
    candidates = everything if since is None else client.search(since=since)
    chosen = set(candidates)
    outcome.skipped = sum(1 for u in everything if str(u) not in state.got and u not in chosen)
    todo = sorted(uid for uid in candidates if str(uid) not in state.got)
    done = [uid for uid in everything if str(uid) in state.got]
    progress = reporter.progress("fetch", len(todo))
    try:
        for uid in todo:
            result = client.fetch(uid, ["FLAGS", "BODY.PEEK[]"]).get(uid)
            if result is None:
                continue  # expunged meanwhile
            data = result["BODY.PEEK[]"]
            assert isinstance(data, bytes)
            known = old.pop(digest(data), None) if old else None
            if known is not None:
                state.record(str(uid), known)
                outcome.matched += 1
            else:
                # Keep the server's flags (read, answered...), but not
                # \Deleted: what was fetched is not trash here.
                flags = maildir_flags(result.flags).replace("T", "")
                state.store(str(uid), data, flags)
                outcome.fetched += 1
            done.append(uid)
            progress.advance()
    finally:
        progress.finish()
    if delete and done:
        client.store(done, add_flags=["\\Deleted"], silent=True)
        if "UIDPLUS" in client.capabilities:
            client.expunge(done)
        else:
            client.expunge()
        outcome.deleted = len(done)

