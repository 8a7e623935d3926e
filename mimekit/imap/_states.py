"""The IMAP session as one transition table, shared by both roles.

Convention 1 (DESIGN.md section 4): transitions are data, and anything not in
:data:`TRANSITIONS` is refused. A client refuses to *send* a command its
state does not allow (``LocalProtocolError``); a server answers such a
command with a tagged ``BAD`` (an ``InvalidCommand`` event) before any
handler sees it.

RFC 3501 section 3 (and figure 1): NOT AUTHENTICATED, AUTHENTICATED,
SELECTED, LOGOUT. A transition is keyed by ``(state, command kind,
outcome)``, where the outcome is the tagged status that completed the
command, so the state moves only when the result is known: a refused
LOGIN leaves the session where it was. The greeting is a "command" too,
completed by the untagged OK, PREAUTH or BYE the server opens with.

Notes on the table:

* A failed SELECT or EXAMINE in SELECTED state leaves no mailbox selected
  (RFC 3501 section 6.3.1: "If the client is permitted to modify the
  mailbox..." and "...the server returns to the authenticated state"); a
  BAD one leaves the session as it was (it was not executed).
* ENABLE (RFC 5161 section 3.1) is only valid in AUTHENTICATED state.
* IDLE (RFC 2177) is valid in AUTHENTICATED and SELECTED state.
* UNSELECT (RFC 3691) and CLOSE leave SELECTED for AUTHENTICATED.
* An untagged BYE moves any state to LOGOUT (the server is closing);
  that is not a command, so the cores handle it outside the table.
"""

from __future__ import annotations

import enum

__all__ = ["ALLOWED", "TRANSITIONS", "Kind", "Outcome", "State", "outcome_of"]


class State(enum.Enum):
    """Where an IMAP session is (RFC 3501 section 3)."""

    #: Connected; the server's greeting has not been sent or received.
    GREETING = "greeting"
    #: Greeted with OK: LOGIN, AUTHENTICATE or STARTTLS come next.
    NOT_AUTHENTICATED = "not authenticated"
    #: Logged in (or greeted with PREAUTH); no mailbox selected.
    AUTHENTICATED = "authenticated"
    #: A mailbox is selected (SELECT or EXAMINE succeeded).
    SELECTED = "selected"
    #: LOGOUT completed, or the server said BYE: the connection ends.
    LOGOUT = "logout"


class Kind(enum.Enum):
    """The command kinds the table knows (the UID variants share a kind)."""

    GREETING = "GREETING"
    CAPABILITY = "CAPABILITY"
    NOOP = "NOOP"
    LOGOUT = "LOGOUT"
    ID = "ID"
    STARTTLS = "STARTTLS"
    AUTHENTICATE = "AUTHENTICATE"
    LOGIN = "LOGIN"
    SELECT = "SELECT"
    EXAMINE = "EXAMINE"
    CREATE = "CREATE"
    DELETE = "DELETE"
    RENAME = "RENAME"
    SUBSCRIBE = "SUBSCRIBE"
    UNSUBSCRIBE = "UNSUBSCRIBE"
    LIST = "LIST"
    LSUB = "LSUB"
    STATUS = "STATUS"
    APPEND = "APPEND"
    NAMESPACE = "NAMESPACE"
    ENABLE = "ENABLE"
    IDLE = "IDLE"
    CHECK = "CHECK"
    CLOSE = "CLOSE"
    UNSELECT = "UNSELECT"
    EXPUNGE = "EXPUNGE"
    SEARCH = "SEARCH"
    #: RFC 5256.
    SORT = "SORT"
    FETCH = "FETCH"
    STORE = "STORE"
    COPY = "COPY"
    MOVE = "MOVE"


class Outcome(enum.Enum):
    """How a command was completed: its tagged status (or the greeting's)."""

    OK = "OK"
    NO = "NO"
    BAD = "BAD"
    #: Greeting only: already authenticated.
    PREAUTH = "PREAUTH"
    #: Greeting only: the server refuses the connection.
    BYE = "BYE"


def outcome_of(status: str) -> Outcome:
    """The outcome for a status word (``"OK"``...).

    Raises:
        ValueError: not a status word.
    """
    return Outcome(status.upper())


S, K, R = State, Kind, Outcome  # short names keep the table readable

_LIVE = (S.NOT_AUTHENTICATED, S.AUTHENTICATED, S.SELECTED)
_LOGGED_IN = (S.AUTHENTICATED, S.SELECTED)
#: Valid in every live state and never moving it (RFC 3501 6.1, RFC 2971).
_ANY_STATE = (K.CAPABILITY, K.NOOP, K.ID)
#: Valid once logged in, never moving the state (RFC 3501 6.3, RFC 2342, 2177).
_MAILBOX_COMMANDS = (K.CREATE, K.DELETE, K.RENAME, K.SUBSCRIBE, K.UNSUBSCRIBE, K.LIST,
                     K.LSUB, K.STATUS, K.APPEND, K.NAMESPACE, K.IDLE)
#: Valid only with a mailbox selected, never moving the state (RFC 3501 6.4,
#: RFC 6851 MOVE, RFC 5256 SORT).
_MESSAGE_COMMANDS = (K.CHECK, K.EXPUNGE, K.SEARCH, K.SORT, K.FETCH, K.STORE, K.COPY, K.MOVE)


def _build() -> dict[tuple[State, Kind, Outcome], State]:
    t: dict[tuple[State, Kind, Outcome], State] = {
        (S.GREETING, K.GREETING, R.OK): S.NOT_AUTHENTICATED,
        (S.GREETING, K.GREETING, R.PREAUTH): S.AUTHENTICATED,
        (S.GREETING, K.GREETING, R.BYE): S.LOGOUT,
        # RFC 3501 6.2: STARTTLS keeps the state (the TLS handshake follows
        # an OK); LOGIN and AUTHENTICATE log in.
        (S.NOT_AUTHENTICATED, K.STARTTLS, R.OK): S.NOT_AUTHENTICATED,
        (S.NOT_AUTHENTICATED, K.LOGIN, R.OK): S.AUTHENTICATED,
        (S.NOT_AUTHENTICATED, K.AUTHENTICATE, R.OK): S.AUTHENTICATED,
        (S.AUTHENTICATED, K.ENABLE, R.OK): S.AUTHENTICATED,
        (S.SELECTED, K.CLOSE, R.OK): S.AUTHENTICATED,
        (S.SELECTED, K.UNSELECT, R.OK): S.AUTHENTICATED,
    }
    for kind in (K.STARTTLS, K.LOGIN, K.AUTHENTICATE):
        for outcome in (R.NO, R.BAD):
            t[(S.NOT_AUTHENTICATED, kind, outcome)] = S.NOT_AUTHENTICATED
    for outcome in (R.NO, R.BAD):
        t[(S.AUTHENTICATED, K.ENABLE, outcome)] = S.AUTHENTICATED
        for kind in (K.CLOSE, K.UNSELECT):
            t[(S.SELECTED, kind, outcome)] = S.SELECTED
    for state in _LIVE:
        for kind in _ANY_STATE:
            for outcome in (R.OK, R.NO, R.BAD):
                t[(state, kind, outcome)] = state
        t[(state, K.LOGOUT, R.OK)] = S.LOGOUT
        # RFC 3501 6.1.3 has LOGOUT always succeed; a NO or BAD keeps the
        # session (the server did not log out).
        t[(state, K.LOGOUT, R.NO)] = state
        t[(state, K.LOGOUT, R.BAD)] = state
    for state in _LOGGED_IN:
        for kind in (K.SELECT, K.EXAMINE):
            t[(state, kind, R.OK)] = S.SELECTED
            t[(state, kind, R.NO)] = S.AUTHENTICATED
            t[(state, kind, R.BAD)] = state
        for kind in _MAILBOX_COMMANDS:
            for outcome in (R.OK, R.NO, R.BAD):
                t[(state, kind, outcome)] = state
    for kind in _MESSAGE_COMMANDS:
        for outcome in (R.OK, R.NO, R.BAD):
            t[(S.SELECTED, kind, outcome)] = S.SELECTED
    return t


#: ``{(state, kind, outcome): next state}``; anything absent is refused.
TRANSITIONS: dict[tuple[State, Kind, Outcome], State] = _build()

#: ``{(state, kind)}``: the commands that may be sent in each state.
ALLOWED: frozenset[tuple[State, Kind]] = frozenset(
    (s, k) for (s, k, _) in TRANSITIONS if k is not Kind.GREETING)
