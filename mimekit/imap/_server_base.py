"""What every part of an IMAP server session shares: the connection, the
output buffer, the selected mailbox, error answers and the untagged updates.

The session is split by job over a few modules (convention 10):
:mod:`._server_mailboxes` (the authenticated-state commands),
:mod:`._server_messages` (the selected-state commands) and
:mod:`._server_session` (the loop, login, IDLE, STARTTLS) each add methods
to :class:`SessionBase`.

**When untagged updates go out** (RFC 3501 sections 5.2, 5.5 and 7.4.1).
Changes made by other sessions and processes (new messages, expunges, flag
changes, new keywords) are sent only while a command is in progress, just
before its tagged response, or at once during IDLE (RFC 2177); never while
the client is not waiting for a response. EXPUNGE responses are held back
during FETCH, STORE and SEARCH (but not their UID forms, which identify
messages by UID): the numbers a client just used must stay valid. An
expunged message keeps its number until then; FETCH skips it and answers
``NO [EXPUNGEISSUED]`` (RFC 5530).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from .._guard import is_loopback
from ._command_parse import CommandSyntaxError
from ._commands import Command
from ._mailbox import MailStore
from ._mailbox_errors import (
    FlagError,
    KeywordLimitError,
    MailboxError,
    NoSuchMailboxError,
    StatusItemError,
)
from ._mailbox_view import Changes, MailboxView
from ._responses import (
    ExistsResponse,
    ExpungeResponse,
    FetchResponse,
    FlagsResponse,
    RecentResponse,
    Response,
    ResponseCode,
    StatusResponse,
)
from ._search import SearchCharsetError, SearchSyntaxError
from ._sections import SectionError
from ._seqset import SequenceSetError
from ._server_connection import ServerConnection
from ._server_fetch import FetchItemError
from ._server_handler import Handler, Session
from ._values import Atom

if TYPE_CHECKING:
    from ._server import IMAPServer, IMAPServerConfig

__all__ = ["Closing", "SessionBase", "clean_text"]

log = logging.getLogger("mimekit.imap.server")

T = TypeVar("T")

#: Flush the output buffer once it holds this much (FETCH of many messages).
FLUSH_AT = 256 << 10


class Closing(Exception):
    """End the session: send ``* BYE text`` (when given) and close."""

    def __init__(self, text: str | None = None, code: str | None = None) -> None:
        super().__init__(text)
        self.text = text
        self.code = code


def clean_text(text: str) -> str:
    """Text safe for a response line: one line, printable ASCII (names and
    values from the client are shown escaped)."""
    return text.encode("ascii", "backslashreplace").decode("ascii").replace(
        "\r", " ").replace("\n", " ")[:500]


def _flags(flags: tuple[str, ...]) -> tuple[Atom, ...]:
    return tuple(Atom(f) for f in flags)


def permanent_flags_code(view: MailboxView) -> ResponseCode:
    """``[PERMANENTFLAGS (...)]`` for a view (empty for EXAMINE)."""
    return ResponseCode(name="PERMANENTFLAGS", values=(_flags(view.permanent_flags),))


class SessionBase:
    """State and helpers of one IMAP session (see the module docs)."""

    def __init__(self, server: IMAPServer, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter) -> None:
        self.server = server
        self.config: IMAPServerConfig = server.config
        self.handler: Handler = server.handler
        self.reader = reader
        self.writer = writer
        peer = writer.get_extra_info("peername") or ("", 0)
        local = writer.get_extra_info("sockname") or ("", 0)
        self.session = Session(peer=(peer[0], peer[1]), local=(local[0], local[1]),
                               tls=self.config.implicit_tls, loopback=is_loopback(peer[0]))
        self.conn = ServerConnection(max_line=self.config.max_line,
                                     max_literal=self.config.max_literal)
        self.out = bytearray()
        self.loop = asyncio.get_running_loop()
        #: The user's store once logged in.
        self.store: MailStore | None = None
        #: The selected mailbox.
        self.view: MailboxView | None = None
        #: Set (from any thread) when another session or a delivery changed
        #: the selected mailbox: IDLE wakes.
        self.wake = asyncio.Event()

    # -- output ----------------------------------------------------------------------------

    def say(self, response: Response) -> None:
        """Queue a response (checked by the core)."""
        self.out += self.conn.send(response)

    async def flush(self) -> None:
        """Write what is queued; a client that stops reading is cut after
        ``write_timeout``."""
        if not self.out:
            return
        self.writer.write(bytes(self.out))
        self.out.clear()
        async with asyncio.timeout(self.config.write_timeout):
            await self.writer.drain()

    async def flush_if_full(self) -> None:
        if len(self.out) >= FLUSH_AT:
            await self.flush()

    async def write_chunks(self, chunks: list[bytes]) -> None:
        """Write response octets that bypass the core (FETCH data: after the
        greeting the core has nothing to check in them). Big chunks (a
        message's octets) go to the transport as they are, not through the
        buffer."""
        for chunk in chunks:
            if len(chunk) < FLUSH_AT:
                self.out += chunk
                await self.flush_if_full()
                continue
            if self.out:
                self.writer.write(bytes(self.out))
                self.out.clear()
            self.writer.write(chunk)
            if self.writer.transport.get_write_buffer_size() >= FLUSH_AT:
                async with asyncio.timeout(self.config.write_timeout):
                    await self.writer.drain()

    async def blocking(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a blocking mailbox operation (file I/O, parsing) in a worker
        thread, so other sessions go on meanwhile."""
        return await asyncio.to_thread(func, *args, **kwargs)

    # -- tagged answers ----------------------------------------------------------------------

    @staticmethod
    def ok(command: Command, text: str, code: ResponseCode | None = None) -> StatusResponse:
        return StatusResponse(tag=command.tag, status="OK", code=code, text=text)

    @staticmethod
    def no(command: Command, text: str, code: str | None = None) -> StatusResponse:
        return StatusResponse(tag=command.tag, status="NO", text=clean_text(text),
                              code=ResponseCode(name=code) if code else None)

    @staticmethod
    def bad(command: Command, text: str) -> StatusResponse:
        return StatusResponse(tag=command.tag, status="BAD", text=clean_text(text))

    def refusal(self, command: Command, exc: Exception, *,
                trycreate: bool = False) -> StatusResponse:
        """The NO or BAD for an error raised by the mailbox model or by
        reading the command's arguments (RFC 5530 response codes)."""
        text = str(exc) or type(exc).__name__
        if isinstance(exc, KeywordLimitError):
            return self.no(command, text, "LIMIT")
        if isinstance(exc, SearchCharsetError):
            return StatusResponse(tag=command.tag, status="NO", text=clean_text(text),
                                  code=ResponseCode(name="BADCHARSET", values=(
                                      (Atom("UTF-8"), Atom("US-ASCII")),)))
        if isinstance(exc, FlagError | StatusItemError | SequenceSetError | SectionError |
                      FetchItemError | CommandSyntaxError | SearchSyntaxError):
            return self.bad(command, text)
        if isinstance(exc, NoSuchMailboxError) and trycreate:
            return self.no(command, text, "TRYCREATE")
        if isinstance(exc, MailboxError):
            return self.no(command, text, exc.code)
        raise exc

    # -- the selected mailbox ---------------------------------------------------------------

    def selected(self) -> MailboxView:
        """The selected mailbox (the core allows message commands only in
        the SELECTED state, which a view always backs)."""
        assert self.view is not None, "no mailbox selected"
        return self.view

    def _changed(self) -> None:
        # Called in whatever thread changed the folder.
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody to wake
            self.loop.call_soon_threadsafe(self.wake.set)

    def select_view(self, view: MailboxView) -> None:
        self.view = view
        self.wake.clear()
        view.set_listener(self._changed)
        self.server.keep_folder(view.folder)

    def leave(self) -> None:
        """Leave the selected mailbox (without expunging)."""
        view, self.view = self.view, None
        if view is not None:
            view.unselect()

    def updates(self, *, allow_expunge: bool) -> list[Response]:
        """What the client must be told about the selected mailbox, in the
        order RFC 3501 wants (blocking: it may re-read the folder).

        Raises:
            Closing: the mailbox was deleted or renamed by someone else, or
                its UIDs started over (UIDVALIDITY changed): the session
                ends with a BYE, as Dovecot does.
        """
        if self.view is None:
            return []
        return self.changes_responses(self.view.refresh(allow_expunge=allow_expunge))

    def changes_responses(self, changes: Changes) -> list[Response]:
        """The responses for :class:`Changes` of the selected mailbox (see
        :meth:`updates`)."""
        out: list[Response] = []
        if changes.gone:
            raise Closing("Selected mailbox was deleted or renamed, or its UIDs were reset",
                          "UNAVAILABLE")
        out += self.keyword_responses()
        out += [ExpungeResponse(seq=seq) for seq in changes.expunged]
        if changes.exists is not None:
            out.append(ExistsResponse(count=changes.exists))
        if changes.recent is not None:
            out.append(RecentResponse(count=changes.recent))
        for seq, uid, flags in changes.flags:
            # The UID too: a client that tracks messages by UID (mbsync,
            # imapclient) needs no second look.
            out.append(FetchResponse(seq=seq, items={"UID": uid, "FLAGS": _flags(flags)}))
        return out

    def keyword_responses(self) -> list[Response]:
        """``* FLAGS`` and ``* OK [PERMANENTFLAGS]`` again when the folder got
        a new keyword (RFC 3501 7.2.6), before any FETCH that shows it."""
        view = self.view
        if view is None or not view.keywords_changed():
            return []
        return [FlagsResponse(flags=view.flags),
                StatusResponse(status="OK", code=permanent_flags_code(view),
                               text="Flags permitted")]

    async def send_updates(self, *, allow_expunge: bool = True) -> None:
        if self.view is None:
            return
        for response in await self.blocking(self.updates, allow_expunge=allow_expunge):
            self.say(response)
