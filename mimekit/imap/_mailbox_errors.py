"""Errors of the server-side mailbox store.

All are ``ValueError`` subclasses: they are caller mistakes (a client asked
for something impossible), which the server maps to ``NO`` or ``BAD`` with
the response code named on each class (RFC 5530 response codes).
"""

from __future__ import annotations

__all__ = [
    "FlagError",
    "KeywordLimitError",
    "MailboxError",
    "MailboxExistsError",
    "MailboxInUseError",
    "MessageExpungedError",
    "NoSuchMailboxError",
    "ReadOnlyError",
    "StatusItemError",
]


class MailboxError(ValueError):
    """Base class. :attr:`code` is the response code the server should send
    (``NO [code] text``), or None."""

    code: str | None = None


class NoSuchMailboxError(MailboxError):
    """The mailbox does not exist: ``NO [NONEXISTENT]``; for APPEND, COPY
    and MOVE the server sends ``NO [TRYCREATE]`` instead (RFC 3501)."""

    code = "NONEXISTENT"


class MailboxExistsError(MailboxError):
    """CREATE or RENAME to a name that exists: ``NO [ALREADYEXISTS]``."""

    code = "ALREADYEXISTS"


class MailboxInUseError(MailboxError):
    """DELETE of INBOX, or of a name that only exists through its children
    (RFC 3501 section 6.3.4): ``NO [CANNOT]``."""

    code = "CANNOT"


class FlagError(MailboxError):
    """A flag that cannot be set (``\\Recent``, an unknown system flag, a
    keyword that is not an atom): the server answers ``BAD``."""


class KeywordLimitError(FlagError):
    """A folder holds 26 keywords already (Maildir keeps them as the letters
    a-z): ``NO [LIMIT]``."""

    code = "LIMIT"


class ReadOnlyError(MailboxError):
    """A change in a mailbox selected with EXAMINE: ``NO [READ-ONLY]``."""

    code = "READ-ONLY"


class StatusItemError(MailboxError):
    """An unknown STATUS item: ``BAD``."""


class MessageExpungedError(MailboxError, KeyError):
    """The message was expunged by another session meanwhile (its sequence
    number lives on until the EXPUNGE is sent): ``NO [EXPUNGEISSUED]``."""

    code = "EXPUNGEISSUED"
