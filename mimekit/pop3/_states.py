"""The POP3 session as one transition table, shared by both roles.

Convention 1 (DESIGN.md section 4): transitions are data, and anything not in
:data:`TRANSITIONS` is refused. A client refuses to *send* a command its
state does not allow (``LocalProtocolError``); a server answers such a
command with ``-ERR`` before any handler sees it.

A transition is keyed by ``(state, command kind, outcome)``. The outcome is
the response to the command (``+OK``, ``-ERR``, or a ``+`` SASL
continuation), so the state moves only when the response is known: a
refused ``PASS`` leaves the session in AUTHORIZATION.

One command moves the state *before* its response: ``QUIT`` in the
TRANSACTION state enters UPDATE (RFC 1939 section 6), where the server
removes the messages marked as deleted and only then answers. The table
says so with the outcome :attr:`Outcome.RECEIVED` ("the command was sent or
received, no response yet"); the response then moves UPDATE to CLOSED.
"""

from __future__ import annotations

import enum

__all__ = ["ALLOWED", "MULTILINE", "TRANSITIONS", "Kind", "Outcome", "State"]


class State(enum.Enum):
    """Where a POP3 session is (RFC 1939 sections 3-6)."""

    #: Connected; the server's greeting has not been sent or received.
    GREETING = "greeting"
    #: The AUTHORIZATION state: the client must identify itself.
    AUTHORIZATION = "authorization"
    #: AUTHORIZATION after a successful ``USER``: ``PASS`` may follow
    #: (RFC 1939 section 7, "immediately after a successful USER").
    USER = "user"
    #: A SASL exchange (RFC 5034): the server sent ``+`` and awaits a line.
    SASL = "sasl"
    #: ``STLS`` accepted: nothing but the TLS handshake may follow (RFC 2595).
    TLS = "tls"
    #: The TRANSACTION state: the maildrop is locked and open.
    TRANSACTION = "transaction"
    #: The UPDATE state: ``QUIT`` was received in TRANSACTION; the server
    #: removes the deleted messages, then answers and closes.
    UPDATE = "update"
    #: ``QUIT`` answered, the greeting refused, or the connection closed.
    CLOSED = "closed"


class Kind(enum.Enum):
    """The command kinds the table knows (one per command event class)."""

    USER = "USER"
    PASS = "PASS"
    APOP = "APOP"
    AUTH = "AUTH"
    #: ``AUTH`` without a mechanism: list the mechanisms.
    AUTH_LIST = "AUTH-LIST"
    #: A client line in a SASL exchange (answering a ``+`` continuation).
    AUTH_RESPONSE = "AUTH-RESPONSE"
    STAT = "STAT"
    LIST = "LIST"
    RETR = "RETR"
    DELE = "DELE"
    NOOP = "NOOP"
    RSET = "RSET"
    QUIT = "QUIT"
    TOP = "TOP"
    UIDL = "UIDL"
    CAPA = "CAPA"
    STLS = "STLS"
    #: The greeting is "answered" by the server before any command.
    GREETING = "GREETING"


class Outcome(enum.Enum):
    """What happened to a command."""

    #: ``+OK``.
    OK = "+OK"
    #: ``-ERR``.
    ERR = "-ERR"
    #: ``+ challenge``: a SASL continuation.
    MORE = "+"
    #: Sent (client) or received (server); the response is not known yet.
    RECEIVED = "received"


S, K, R = State, Kind, Outcome  # short names keep the table readable

#: Commands of the TRANSACTION state that never move it (RFC 1939 section 5).
_TRANSACTION = (K.STAT, K.LIST, K.RETR, K.DELE, K.NOOP, K.RSET, K.TOP, K.UIDL, K.CAPA)

#: Kinds whose ``+OK`` response is multi-line (LIST and UIDL only without an
#: argument; the connection checks that). CAPA: RFC 2449 section 5.
MULTILINE = frozenset({K.LIST, K.RETR, K.TOP, K.UIDL, K.CAPA, K.AUTH_LIST})


def _build() -> dict[tuple[State, Kind, Outcome], State]:
    t: dict[tuple[State, Kind, Outcome], State] = {
        (S.GREETING, K.GREETING, R.OK): S.AUTHORIZATION,
        (S.GREETING, K.GREETING, R.ERR): S.CLOSED,
        # USER/PASS (RFC 1939 section 7): a refused PASS starts over.
        (S.USER, K.PASS, R.OK): S.TRANSACTION,
        (S.USER, K.PASS, R.ERR): S.AUTHORIZATION,
        # A SASL exchange (RFC 5034): any number of continuations.
        (S.SASL, K.AUTH_RESPONSE, R.MORE): S.SASL,
        (S.SASL, K.AUTH_RESPONSE, R.OK): S.TRANSACTION,
        (S.SASL, K.AUTH_RESPONSE, R.ERR): S.AUTHORIZATION,
        # STLS (RFC 2595 section 4): only in AUTHORIZATION, before USER.
        (S.AUTHORIZATION, K.STLS, R.OK): S.TLS,
        (S.AUTHORIZATION, K.STLS, R.ERR): S.AUTHORIZATION,
        # QUIT from TRANSACTION: UPDATE first, then the response closes.
        (S.TRANSACTION, K.QUIT, R.RECEIVED): S.UPDATE,
        (S.UPDATE, K.QUIT, R.OK): S.CLOSED,
        (S.UPDATE, K.QUIT, R.ERR): S.CLOSED,  # "some deleted messages not removed"
    }
    # AUTHORIZATION, also after a USER (a client may start over with
    # another USER, APOP or AUTH; the pending name is then forgotten).
    for state in (S.AUTHORIZATION, S.USER):
        t[(state, K.USER, R.OK)] = S.USER
        t[(state, K.USER, R.ERR)] = S.AUTHORIZATION
        t[(state, K.APOP, R.OK)] = S.TRANSACTION
        t[(state, K.APOP, R.ERR)] = S.AUTHORIZATION
        t[(state, K.AUTH, R.OK)] = S.TRANSACTION  # an initial response sufficed
        t[(state, K.AUTH, R.MORE)] = S.SASL
        t[(state, K.AUTH, R.ERR)] = S.AUTHORIZATION
        # CAPA is valid in AUTHORIZATION (RFC 2449 section 5) and keeps
        # the pending USER name.
        t[(state, K.CAPA, R.OK)] = state
        t[(state, K.CAPA, R.ERR)] = state
        t[(state, K.AUTH_LIST, R.OK)] = state
        t[(state, K.AUTH_LIST, R.ERR)] = state
        # QUIT before login: no UPDATE state (RFC 1939 section 7).
        t[(state, K.QUIT, R.OK)] = S.CLOSED
        t[(state, K.QUIT, R.ERR)] = S.CLOSED
    for kind in _TRANSACTION:
        t[(S.TRANSACTION, kind, R.OK)] = S.TRANSACTION
        t[(S.TRANSACTION, kind, R.ERR)] = S.TRANSACTION
    return t


#: ``{(state, kind, outcome): next state}``; anything absent is refused.
TRANSITIONS: dict[tuple[State, Kind, Outcome], State] = _build()

#: States entered on a command's receipt, before its response: they only
#: await that response and accept no command of their own.
_WAITING = frozenset(nxt for (_, _, o), nxt in TRANSITIONS.items() if o is Outcome.RECEIVED)

#: ``{(state, kind)}``: the commands that may be sent in each state.
ALLOWED: frozenset[tuple[State, Kind]] = frozenset(
    (s, k) for (s, k, _) in TRANSITIONS if s not in _WAITING)
