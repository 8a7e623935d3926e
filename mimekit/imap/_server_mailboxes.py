"""The commands on mailboxes (RFC 3501 section 6.3): SELECT, EXAMINE, CREATE,
DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE, LIST, LSUB, STATUS and APPEND.

Mailbox names arrive in modified UTF-7 (RFC 3501 section 5.1.3) and are
decoded strictly (:func:`~._mailbox_names.decode_wire_name`): only the
canonical spelling of a name that passes the store's checks is accepted, so
``..``, ``/etc``, ``a/../b``, ``~root``, a ``/`` hidden in base64
(``&AC8-``) or a control character never reach the file system: they get
``NO [CANNOT]``. Names go back to the client in modified UTF-7.
"""

from __future__ import annotations

from ..codecs import decode_imap_utf7, encode_imap_utf7
from ._command_events import LiteralAnnounced
from ._commands import (
    Append,
    Create,
    Delete,
    Examine,
    List,
    Lsub,
    Rename,
    Select,
    Status,
    Subscribe,
    Unsubscribe,
)
from ._mailbox import SPECIAL_USE, ListEntry, MailStore
from ._mailbox_errors import MailboxError
from ._mailbox_names import DELIMITER, INBOX, InvalidMailboxName, decode_wire_name
from ._mailbox_view import MailboxView
from ._responses import (
    ContinuationRequest,
    ExistsResponse,
    FlagsResponse,
    ListResponse,
    MailboxStatusResponse,
    RecentResponse,
    Response,
    ResponseCode,
    StatusResponse,
)
from ._server_base import SessionBase, clean_text, permanent_flags_code
from ._values import as_astring

__all__ = ["MailboxCommands"]

#: RFC 5258 selection and return options understood by LIST (without
#: LIST-EXTENDED being advertised, as RFC 6154 section 5.1 allows).
_LIST_SELECT = frozenset({"SUBSCRIBED", "SPECIAL-USE", "RECURSIVEMATCH"})
_LIST_RETURN = frozenset({"SUBSCRIBED", "SPECIAL-USE", "CHILDREN"})


def _wire(name: str) -> str:
    return encode_imap_utf7(name)


def _select_responses(view: MailboxView) -> list[Response]:
    """The untagged data of SELECT/EXAMINE (RFC 3501 section 6.3.1), in
    Dovecot's order (blocking: ``first_unseen`` walks the messages)."""
    out: list[Response] = [
        FlagsResponse(flags=view.flags),
        StatusResponse(status="OK", code=permanent_flags_code(view),
                       text="Flags permitted" if not view.readonly else "Read-only mailbox"),
        ExistsResponse(count=view.exists),
        RecentResponse(count=len(view.recent)),
    ]
    unseen = view.first_unseen
    if unseen is not None:
        out.append(StatusResponse(status="OK", code=ResponseCode(name="UNSEEN", values=(unseen,)),
                                  text="First unseen"))
    out.append(StatusResponse(status="OK", text="UIDs valid", code=ResponseCode(
        name="UIDVALIDITY", values=(view.uidvalidity,))))
    out.append(StatusResponse(status="OK", text="Predicted next UID", code=ResponseCode(
        name="UIDNEXT", values=(view.uidnext,))))
    return out


class MailboxCommands(SessionBase):
    """The authenticated-state commands of a session."""

    def mailstore(self) -> MailStore:
        assert self.store is not None, "not logged in"
        return self.store

    # -- SELECT / EXAMINE (RFC 3501 6.3.1, 6.3.2) ------------------------------------------

    async def cmd_select(self, command: Select | Examine) -> StatusResponse:
        readonly = isinstance(command, Examine)
        if command.params:
            # (A BAD leaves the session as it was, the selected mailbox too.)
            return self.bad(command, f"{command.name} parameters are not supported")
        if self.view is not None:
            # RFC 3501: selecting closes the current mailbox without
            # expunging; RFC 7162 section 3.2.11's [CLOSED] tells the client
            # where the old mailbox's responses end.
            self.leave()
            self.say(StatusResponse(status="OK", code=ResponseCode(name="CLOSED"),
                                    text="Previous mailbox closed"))
        try:
            name = decode_wire_name(command.mailbox)
            view = await self.blocking(self.mailstore().select, name, readonly=readonly)
        except MailboxError as exc:
            return self.refusal(command, exc)
        self.select_view(view)
        for response in await self.blocking(_select_responses, view):
            self.say(response)
        code = "READ-ONLY" if readonly else "READ-WRITE"
        return self.ok(command, f"{command.name} completed", ResponseCode(name=code))

    # -- CREATE, DELETE, RENAME (6.3.3 - 6.3.5) ----------------------------------------------

    async def cmd_create(self, command: Create) -> StatusResponse:
        if command.params:
            # RFC 6154 CREATE-SPECIAL-USE is not offered.
            return self.bad(command, "CREATE parameters are not supported")
        wire = command.mailbox
        if wire.endswith(DELIMITER) and len(wire) > 1:
            wire = wire[:-1]  # RFC 3501 6.3.3: a trailing delimiter is allowed
        try:
            await self.blocking(self.mailstore().create, decode_wire_name(wire))
        except MailboxError as exc:
            return self.refusal(command, exc)
        return self.ok(command, "CREATE completed")

    def _in_use(self, name: str) -> bool:
        """Is ``name`` (or a mailbox below it) the selected mailbox?"""
        view = self.view
        return view is not None and (view.name == name or
                                     view.name.startswith(name + DELIMITER))

    async def cmd_delete(self, command: Delete) -> StatusResponse:
        try:
            name = decode_wire_name(command.mailbox)
            if self.view is not None and self.view.name == name:
                return self.no(command, "Cannot delete the selected mailbox; "
                                        "select another first", "INUSE")
            await self.blocking(self.mailstore().delete, name)
        except MailboxError as exc:
            return self.refusal(command, exc)
        return self.ok(command, "DELETE completed")

    async def cmd_rename(self, command: Rename) -> StatusResponse:
        try:
            old = decode_wire_name(command.mailbox)
            new = decode_wire_name(command.new_name)
            if old != INBOX and self._in_use(old):
                return self.no(command, "Cannot rename the selected mailbox; "
                                        "select another first", "INUSE")
            await self.blocking(self.mailstore().rename, old, new)
        except MailboxError as exc:
            return self.refusal(command, exc)
        return self.ok(command, "RENAME completed")

    # -- SUBSCRIBE, UNSUBSCRIBE (6.3.6, 6.3.7) -----------------------------------------------

    async def cmd_subscribe(self, command: Subscribe | Unsubscribe) -> StatusResponse:
        store = self.mailstore()
        action = store.subscribe if isinstance(command, Subscribe) else store.unsubscribe
        try:
            await self.blocking(action, decode_wire_name(command.mailbox))
        except MailboxError as exc:
            return self.refusal(command, exc)
        return self.ok(command, f"{command.name} completed")

    # -- LIST, LSUB (6.3.8, 6.3.9; RFC 5258 options; RFC 6154) -------------------------------

    def _list(self, command: List | Lsub) -> list[ListEntry]:
        # A reference or pattern that is not valid modified UTF-7 is read
        # leniently: it only selects among the existing names.
        reference = decode_imap_utf7(command.reference)
        pattern = decode_imap_utf7(command.pattern)
        store = self.mailstore()
        if isinstance(command, Lsub):
            return store.lsub(reference, pattern)
        entries = store.list(reference, pattern)
        select = set(command.select_options)
        returns = set(command.return_options or ())
        if "SUBSCRIBED" in select or "SUBSCRIBED" in returns:
            subscribed = set(store.subscriptions())
            entries = [ListEntry(e.name, (*e.attributes, "\\Subscribed"))
                       if e.name in subscribed else e for e in entries]
            if "SUBSCRIBED" in select:
                entries = [e for e in entries if "\\Subscribed" in e.attributes]
        if "SPECIAL-USE" in select:
            special = set(SPECIAL_USE.values())
            entries = [e for e in entries if special & set(e.attributes)]
        return entries

    async def cmd_list(self, command: List | Lsub) -> StatusResponse:
        if isinstance(command, List):
            unknown = (set(command.select_options) - _LIST_SELECT) | (
                set(command.return_options or ()) - _LIST_RETURN)
            if unknown:
                return self.bad(command, f"LIST options not supported: "
                                         f"{' '.join(sorted(unknown))}")
        kind = "LSUB" if isinstance(command, Lsub) else "LIST"
        for entry in await self.blocking(self._list, command):
            self.say(ListResponse(flags=entry.attributes, delimiter=entry.delimiter,
                                  mailbox=_wire(entry.name), kind=kind))
        return self.ok(command, f"{kind} completed")

    # -- STATUS (6.3.10) -----------------------------------------------------------------------

    async def cmd_status(self, command: Status) -> StatusResponse:
        try:
            name = decode_wire_name(command.mailbox)
            items = await self.blocking(self.mailstore().status, name, command.items)
        except MailboxError as exc:
            return self.refusal(command, exc)
        self.say(MailboxStatusResponse(mailbox=_wire(name), items=items))
        return self.ok(command, "STATUS completed")

    # -- APPEND (6.3.11; RFC 4315 APPENDUID; RFC 7888 LITERAL+) ------------------------------

    def literal_decision(self, event: LiteralAnnounced) -> StatusResponse | ContinuationRequest:
        """Accept (``+``) or refuse a synchronizing literal before the
        client sends it. APPEND to a mailbox that does not exist is refused
        at once with ``NO [TRYCREATE]`` (RFC 3501 6.3.11), so the message is
        never transferred; the core has already refused literals over the
        size limit with ``NO [TOOBIG]``."""
        if event.name == "APPEND" and event.arguments and self.store is not None:
            wire = as_astring(event.arguments[0])
            if wire is not None and len(event.arguments) <= 3:
                try:
                    exists = self.store.exists(decode_wire_name(wire))
                except InvalidMailboxName as exc:
                    return StatusResponse(tag=event.tag, status="NO",
                                          code=ResponseCode(name="CANNOT"),
                                          text=clean_text(str(exc)))
                if not exists:
                    return StatusResponse(tag=event.tag, status="NO",
                                          code=ResponseCode(name="TRYCREATE"),
                                          text="Mailbox does not exist")
        return ContinuationRequest(text="Ready for literal data")

    async def cmd_append(self, command: Append) -> StatusResponse:
        if not command.message:
            return self.no(command, "Cannot append an empty message")
        try:
            name = decode_wire_name(command.mailbox)
            result = await self.blocking(self.mailstore().append, name, command.message,
                                         command.flags, command.internal_date)
        except MailboxError as exc:
            return self.refusal(command, exc, trycreate=True)
        return self.ok(command, "APPEND completed", ResponseCode(
            name="APPENDUID", values=(result.uidvalidity, result.uid)))
