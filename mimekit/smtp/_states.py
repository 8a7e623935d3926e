"""The SMTP session as one transition table, shared by both roles.

Convention 1 (DESIGN.md section 4): transitions are data, and anything not in
:data:`TRANSITIONS` is refused. A client refuses to *send* a command that is
not allowed in its state (``LocalProtocolError``); a server answers such a
command with ``503 5.5.1`` before any handler sees it.

A transition is keyed by ``(state, command kind, outcome)``, where the
outcome is the class of the reply to that command. So the state moves only
when the reply is known: a refused ``MAIL`` leaves the session where it was.
"""

from __future__ import annotations

import enum

__all__ = ["ALLOWED", "TRANSITIONS", "Kind", "Outcome", "State", "outcome_of"]


class State(enum.Enum):
    """Where an SMTP session is (RFC 5321 section 3 and 4.1.4)."""

    #: Connected; the server's greeting (220) has not been sent or received.
    GREETING = "greeting"
    #: Greeted; no EHLO/HELO yet (or again needed after STARTTLS).
    INIT = "init"
    #: After EHLO/HELO, RSET or a finished transaction: MAIL may start one.
    READY = "ready"
    #: MAIL accepted: recipients are being given.
    MAIL = "mail"
    #: At least one RCPT accepted: DATA or BDAT may send the content.
    RCPT = "rcpt"
    #: After 354: the message content, up to ``CRLF.CRLF``.
    DATA = "data"
    #: Between BDAT chunks (a chunk without LAST was accepted).
    BDAT = "bdat"
    #: A SASL exchange: the server sent 334 and awaits a response line.
    AUTH = "auth"
    #: STARTTLS accepted: nothing but the TLS handshake may follow.
    TLS = "tls"
    #: QUIT answered, or the server closed (421).
    CLOSED = "closed"


class Kind(enum.Enum):
    """The command kinds the table knows (one per command event class)."""

    EHLO = "EHLO"
    HELO = "HELO"
    MAIL = "MAIL"
    RCPT = "RCPT"
    DATA = "DATA"
    #: The end of DATA content (``CRLF.CRLF``), which is answered like a command.
    END_DATA = "END-DATA"
    BDAT = "BDAT"
    BDAT_LAST = "BDAT-LAST"
    RSET = "RSET"
    NOOP = "NOOP"
    QUIT = "QUIT"
    VRFY = "VRFY"
    HELP = "HELP"
    STARTTLS = "STARTTLS"
    AUTH = "AUTH"
    AUTH_RESPONSE = "AUTH-RESPONSE"
    #: The greeting is "answered" by the server before any command.
    GREETING = "GREETING"


class Outcome(enum.Enum):
    """The class of the reply to a command."""

    OK = "2xx"
    MORE = "3xx"
    FAIL = "4xx/5xx"


def outcome_of(code: int) -> Outcome:
    """Map a reply code to its outcome class."""
    if 200 <= code < 300:
        return Outcome.OK
    if 300 <= code < 400:
        return Outcome.MORE
    return Outcome.FAIL


S, K, R = State, Kind, Outcome  # short names keep the table readable

# Commands that are allowed in every "command" state and never move it.
_HARMLESS = (K.NOOP, K.HELP, K.VRFY)
_COMMAND_STATES = (S.INIT, S.READY, S.MAIL, S.RCPT)


def _build() -> dict[tuple[State, Kind, Outcome], State]:
    t: dict[tuple[State, Kind, Outcome], State] = {
        (S.GREETING, K.GREETING, R.OK): S.INIT,
        (S.GREETING, K.GREETING, R.FAIL): S.CLOSED,  # 554: no service
        # Starting a mail transaction.
        (S.READY, K.MAIL, R.OK): S.MAIL,
        (S.READY, K.MAIL, R.FAIL): S.READY,
        (S.MAIL, K.RCPT, R.OK): S.RCPT,
        (S.MAIL, K.RCPT, R.FAIL): S.MAIL,
        (S.RCPT, K.RCPT, R.OK): S.RCPT,
        (S.RCPT, K.RCPT, R.FAIL): S.RCPT,
        # DATA: 354 opens the content; its end is answered by the real result.
        (S.RCPT, K.DATA, R.MORE): S.DATA,
        (S.RCPT, K.DATA, R.FAIL): S.RCPT,
        # DATA with no accepted recipient: a pipelining client sends it before
        # it knows (RFC 2920 section 3.1). The server should refuse it (554 no
        # valid recipients); one that says 354 gets a lone "." from the client.
        (S.MAIL, K.DATA, R.MORE): S.DATA,
        (S.MAIL, K.DATA, R.FAIL): S.MAIL,
        (S.DATA, K.END_DATA, R.OK): S.READY,
        (S.DATA, K.END_DATA, R.FAIL): S.READY,
        # BDAT (RFC 3030): each chunk is answered; a refused chunk ends the
        # transaction's content (RFC 3030 section 2: the message is discarded).
        (S.RCPT, K.BDAT, R.OK): S.BDAT,
        (S.RCPT, K.BDAT, R.FAIL): S.READY,
        (S.BDAT, K.BDAT, R.OK): S.BDAT,
        (S.BDAT, K.BDAT, R.FAIL): S.READY,
        (S.RCPT, K.BDAT_LAST, R.OK): S.READY,
        (S.RCPT, K.BDAT_LAST, R.FAIL): S.READY,
        (S.BDAT, K.BDAT_LAST, R.OK): S.READY,
        (S.BDAT, K.BDAT_LAST, R.FAIL): S.READY,
        (S.BDAT, K.RSET, R.OK): S.READY,
        (S.BDAT, K.QUIT, R.OK): S.CLOSED,
        (S.BDAT, K.NOOP, R.OK): S.BDAT,
        # STARTTLS (RFC 3207): allowed before a transaction; EHLO again after.
        (S.INIT, K.STARTTLS, R.OK): S.TLS,
        (S.INIT, K.STARTTLS, R.FAIL): S.INIT,
        (S.READY, K.STARTTLS, R.OK): S.TLS,
        (S.READY, K.STARTTLS, R.FAIL): S.READY,
        # AUTH (RFC 4954): only outside a transaction, after EHLO.
        (S.READY, K.AUTH, R.MORE): S.AUTH,
        (S.READY, K.AUTH, R.OK): S.READY,
        (S.READY, K.AUTH, R.FAIL): S.READY,
        (S.AUTH, K.AUTH_RESPONSE, R.MORE): S.AUTH,
        (S.AUTH, K.AUTH_RESPONSE, R.OK): S.READY,
        (S.AUTH, K.AUTH_RESPONSE, R.FAIL): S.READY,
    }
    for state in _COMMAND_STATES:
        # EHLO/HELO (re)start the session and abort any transaction.
        for greeting in (K.EHLO, K.HELO):
            t[(state, greeting, R.OK)] = S.READY
            t[(state, greeting, R.FAIL)] = state
        # RSET aborts the transaction (and is harmless before EHLO).
        t[(state, K.RSET, R.OK)] = S.INIT if state is S.INIT else S.READY
        t[(state, K.RSET, R.FAIL)] = state
        t[(state, K.QUIT, R.OK)] = S.CLOSED
        for harmless in _HARMLESS:
            t[(state, harmless, R.OK)] = state
            t[(state, harmless, R.FAIL)] = state
    return t


#: ``{(state, kind, outcome): next state}``; anything absent is refused.
TRANSITIONS: dict[tuple[State, Kind, Outcome], State] = _build()

#: ``{(state, kind)}``: the commands that may be sent in each state.
ALLOWED: frozenset[tuple[State, Kind]] = frozenset((s, k) for (s, k, _) in TRANSITIONS)
