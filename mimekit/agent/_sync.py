"""``sync``: two-way IMAP <-> Maildir synchronisation of every folder.

Folders: INBOX is the Maildir itself; every other mailbox is the Maildir++
folder of the same name, hierarchy levels joined with ``.`` locally and with
the server's delimiter remotely (``Archive/2024`` <-> ``.Archive.2024``). A
folder on one side only is created on the other. Folders are never deleted:
a folder removed on one side is created again and its messages copied back
(the UIDVALIDITY path of :mod:`._sync_folder`), so nothing is lost without
the user deleting it on both sides. A mailbox whose name has a ``.`` within
a level cannot be a Maildir++ folder: it is skipped with a warning.

Each folder is synchronised by :class:`~._sync_folder.FolderSync`; the
conflict rules and the crash-safety argument are there.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..imap import IMAPClient, IMAPCommandError
from ..mailstore import Maildir
from ._accounts import Account
from ._connect import Connector
from ._errors import AgentError, ConfigError, endpoint_errors
from ._report import Reporter
from ._sync_folder import FolderSync, Hook, SyncCounts

__all__ = ["SyncOutcome", "sync"]


@dataclass(slots=True)
class SyncOutcome(SyncCounts):
    """What a sync did.

    Attributes:
        maildir: The local Maildir.
        folders: The folders synchronised (remote names).
        created_local, created_remote: Folders created on each side.
        errors: Folders that failed (one line each); the others were synced.
        downloaded, uploaded, deleted_local, deleted_remote, flags_local,
        flags_remote, recovered, matched, conflicts: see
        :class:`~._sync_folder.SyncCounts`.
    """

    maildir: Path = Path()
    folders: list[str] = field(default_factory=list)
    created_local: list[str] = field(default_factory=list)
    created_remote: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _local_name(remote: str, delimiter: str | None) -> str | None:
    """The Maildir++ folder for a remote mailbox ("" for INBOX), None if impossible."""
    if remote.upper() == "INBOX":
        return ""
    levels = remote.split(delimiter) if delimiter else [remote]
    if any(not level or "." in level or "/" in level or level == ".." for level in levels):
        return None
    return ".".join(levels)


def _remote_name(local: str, delimiter: str | None) -> str:
    return delimiter.join(local.split(".")) if delimiter else local


def _folder_pairs(client: IMAPClient, md: Maildir, outcome: SyncOutcome, reporter: Reporter,
                  only: set[str] | None) -> list[tuple[str, str]]:
    """``[(local name, remote name)]``, creating what is missing on either side
    (among the mailboxes in ``only``, when given)."""
    boxes = client.list_mailboxes()
    delimiter = next((b.delimiter for b in boxes if b.delimiter), None)
    pairs: dict[str, str] = {"": "INBOX"}
    for box in boxes:
        if not box.selectable:
            continue
        local = _local_name(box.name, delimiter)
        if local is None:
            reporter.warn(f"mailbox {box.name!r} cannot be a Maildir++ folder (a '.' or "
                          "'/' in a name): not synced")
            continue
        pairs.setdefault(local, box.name)
    remote_names = {b.name for b in boxes}
    local_folders = set(md.list_folders())
    for local in sorted(local_folders):
        if local not in pairs:
            pairs[local] = _remote_name(local, delimiter)
    if only is not None:
        unknown = only - set(pairs.values())
        if unknown:
            raise ConfigError(f"no such mailbox: {', '.join(sorted(unknown))}")
        pairs = {lo: re for lo, re in pairs.items() if re in only}
    for local, remote in pairs.items():
        if remote not in remote_names and local:
            client.create(remote)
            with contextlib.suppress(IMAPCommandError):  # a convenience only
                client.subscribe(remote)
            outcome.created_remote.append(remote)
        if local and local not in local_folders:
            md.add_folder(local)
            outcome.created_local.append(remote)
    # INBOX first, then the others by name.
    return sorted(pairs.items(), key=lambda item: (item[0] != "", item[0]))


def sync(account: Account, connector: Connector, *, folders: Sequence[str] | None = None,
         reporter: Reporter | None = None, hook: Hook | None = None) -> SyncOutcome:
    """Synchronise the account's IMAP mailboxes with its Maildir (see the module).

    Args:
        folders: Only these mailboxes (remote names, ``INBOX`` included).
        reporter: Receives progress, conflicts and warnings.
        hook: See :data:`~._sync_folder.Hook` (tests).

    Returns:
        A :class:`SyncOutcome`; conflicts are in ``conflicts``, folders
        that failed in ``errors`` (the others were synchronised).

    Raises:
        AgentError: no IMAP server or maildir, connection or authentication
            failures.
    """
    reporter = reporter or Reporter()
    endpoint = account.imap
    if endpoint is None:
        raise ConfigError(f"account {account.name!r} has no imap server to sync with")
    md = Maildir(account.need_maildir(), create=True)
    outcome = SyncOutcome(maildir=md.path)
    with connector.imap(endpoint) as client:
        only = None if folders is None else {
            f.upper() if f.upper() == "INBOX" else f for f in folders}
        pairs = _folder_pairs(client, md, outcome, reporter, only)
        for local, remote in pairs:
            folder = md if not local else md.folder(local)
            folder.clean(dead_writers=True)  # tmp/ leftovers of killed runs
            remote_id = f"imap://{endpoint.user}@{endpoint.host.lower()}/{remote}"
            label = f"{endpoint.label} {remote}"
            try:
                with endpoint_errors(label):
                    FolderSync(client, folder, remote, remote_id, outcome, reporter,
                               hook).run()
            except AgentError as exc:
                if not client.connected:
                    raise
                outcome.errors.append(str(exc))
                reporter.warn(str(exc))
                continue
            outcome.folders.append(remote)
    return outcome
