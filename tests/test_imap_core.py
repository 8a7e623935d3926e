"""The IMAP sans-I/O core, driven with byte lists: no sockets.

Client side: responses in (any chunking, literals split at every position),
events out. Server side: commands in, typed command events out, responses
in, bytes out. Limits, refusals, and linear time.
"""

from __future__ import annotations

import contextlib
import time
from datetime import datetime, timedelta, timezone

import pytest

from mimekit.imap import (
    NEED_DATA,
    PAUSED,
    Append,
    Atom,
    AuthenticateData,
    CapabilityResponse,
    ClientConnection,
    ConnectionClosed,
    ContinuationRequest,
    ExistsResponse,
    ExpungeResponse,
    Fetch,
    FetchResponse,
    FlagsResponse,
    IdleDone,
    IdResponse,
    InvalidCommand,
    ListResponse,
    LiteralAnnounced,
    LocalProtocolError,
    Login,
    MailboxStatusResponse,
    NamespaceResponse,
    RemoteProtocolError,
    ResponseCode,
    Search,
    SearchResponse,
    Select,
    ServerConnection,
    State,
    StatusResponse,
    Store,
    UntaggedResponse,
)
from mimekit.imap._lexer import LineTooLong, ParseError, Reader, ValueParser, parse_values


def client(greeting: bytes = b"* OK [CAPABILITY IMAP4rev1 IDLE] hi\r\n") -> ClientConnection:
    conn = ClientConnection()
    conn.receive_data(greeting)
    assert isinstance(conn.next_event(), StatusResponse)
    return conn


def drain(conn: ClientConnection | ServerConnection, data: bytes = b"") -> list[object]:
    """Feed data and collect events up to NEED_DATA/PAUSED (included)."""
    if data:
        conn.receive_data(data)
    out: list[object] = []
    while True:
        event = conn.next_event()
        out.append(event)
        if event is NEED_DATA or event is PAUSED or isinstance(event, ConnectionClosed):
            return out


def feed_chunks(conn: ClientConnection, chunks: list[bytes]) -> list[object]:
    events: list[object] = []
    for chunk in chunks:
        conn.receive_data(chunk)
        while (event := conn.next_event()) is not NEED_DATA:
            events.append(event)
    return events


def logged_in_client() -> ClientConnection:
    c = client()
    c.send(Login(user="u", password="p"))
    drain(c, b"A0001 OK done\r\n")
    c.send(Select(mailbox="INBOX"))
    drain(c, b"A0002 OK [READ-WRITE] done\r\n")
    assert c.state is State.SELECTED
    return c


# -- values ----------------------------------------------------------------------------------


def test_values_of_every_form() -> None:
    got = parse_values(b'NIL nil 42 "a \\"q\\" \\\\" \\Seen \\* (a (b NIL) ()) '
                       b'BODY[HEADER.FIELDS (SUBJECT FROM)]<0> [Gmail]/Sent 1:*,4 foo] "\xc3\xa4"')
    assert got == [None, None, 42, 'a "q" \\', Atom("\\Seen"), Atom("\\*"),
                   (Atom("a"), (Atom("b"), None), ()),
                   Atom("BODY[HEADER.FIELDS (SUBJECT FROM)]<0>"), Atom("[Gmail]/Sent"),
                   Atom("1:*,4"), Atom("foo]"), "ä"]
    assert isinstance(got[4], Atom) and not isinstance(got[3], Atom)


@pytest.mark.parametrize("bad", [b'"unterminated', b"(a", b"a)", b"{5}x", b"a\x00b",
                                 b"{3}\r\n"])
def test_bad_values(bad: bytes) -> None:
    with pytest.raises(ValueError):
        parse_values(bad)


def test_long_digit_runs_stay_atoms() -> None:
    assert parse_values(b"1234567890123456789 12345678901234567890") == [
        1234567890123456789, Atom("12345678901234567890")]


# -- client: responses ---------------------------------------------------------------------


def test_greeting_and_capabilities() -> None:
    c = ClientConnection()
    assert c.state is State.GREETING
    assert c.next_event() is NEED_DATA
    c.receive_data(b"* OK [CAPABILITY IMAP4rev1 LITERAL+ AUTH=PLAIN] Dovecot ready.\r\n")
    greeting = c.next_event()
    assert greeting == StatusResponse(status="OK", code=ResponseCode(
        name="CAPABILITY", values=(Atom("IMAP4rev1"), Atom("LITERAL+"), Atom("AUTH=PLAIN"))),
        text="Dovecot ready.")
    assert c.state is State.NOT_AUTHENTICATED
    assert c.capabilities == {"IMAP4REV1", "LITERAL+", "AUTH=PLAIN"}


def test_preauth_and_bye_greetings() -> None:
    assert client(b"* PREAUTH welcome back\r\n").state is State.AUTHENTICATED
    assert client(b"* BYE go away\r\n").state is State.LOGOUT
    bad = ClientConnection()
    bad.receive_data(b"* 3 EXISTS\r\n")
    with pytest.raises(RemoteProtocolError):
        bad.next_event()


def test_typed_untagged_responses() -> None:
    c = client()
    events = drain(c, b"* CAPABILITY IMAP4rev1 MOVE\r\n* 23 EXISTS\r\n* 3 EXPUNGE\r\n"
                      b"* FLAGS (\\Answered \\Seen $Junk)\r\n"
                      b'* LIST (\\HasNoChildren \\Sent) "/" "Sent Items"\r\n'
                      b'* LSUB () NIL INBOX\r\n'
                      b"* SEARCH 2 84 882\r\n* SEARCH\r\n* SEARCH 1 (MODSEQ 917)\r\n"
                      b'* STATUS blurdybloop (MESSAGES 231 UIDNEXT 44292)\r\n'
                      b'* ID ("name" "Dovecot" "x" NIL)\r\n* ID NIL\r\n'
                      b'* NAMESPACE (("" "/")) NIL (("#shared." ".")("#p." NIL))\r\n'
                      b"* SORT 2 3 1\r\n* 5 XNEW foo\r\n")
    assert events[:-1] == [
        CapabilityResponse(capabilities=("IMAP4rev1", "MOVE")),
        ExistsResponse(count=23), ExpungeResponse(seq=3),
        FlagsResponse(flags=("\\Answered", "\\Seen", "$Junk")),
        ListResponse(flags=("\\HasNoChildren", "\\Sent"), delimiter="/", mailbox="Sent Items"),
        ListResponse(flags=(), delimiter=None, mailbox="INBOX", kind="LSUB"),
        SearchResponse(numbers=(2, 84, 882)), SearchResponse(), SearchResponse(numbers=(1,),
                                                                              modseq=917),
        MailboxStatusResponse(mailbox="blurdybloop", items={"MESSAGES": 231, "UIDNEXT": 44292}),
        IdResponse(params={"name": "Dovecot", "x": None}), IdResponse(params=None),
        NamespaceResponse(personal=(("", "/"),), shared=(("#shared.", "."), ("#p.", None))),
        UntaggedResponse(name="SORT", values=(2, 3, 1)),
        UntaggedResponse(name="XNEW", number=5, values=(Atom("foo"),)),
    ]
    assert c.capabilities == {"IMAP4REV1", "MOVE"}


def test_status_text_is_free_text_and_codes_are_parsed() -> None:
    c = client()
    events = drain(c, b'* OK [ALERT] It\'s {5} "odd" (really\r\n'
                      b"* OK [PERMANENTFLAGS (\\Deleted \\Seen \\*)] Limited\r\n"
                      b"* OK [UIDVALIDITY 3857529045]\r\n"
                      b"* NO [X-WEIRD some \"free text] hmm\r\n* bad lowercase is fine\r\n")
    assert events[0] == StatusResponse(status="OK", code=ResponseCode(name="ALERT"),
                                       text="It's {5} \"odd\" (really")
    assert events[1].code == ResponseCode(  # type: ignore[union-attr]
        name="PERMANENTFLAGS", values=((Atom("\\Deleted"), Atom("\\Seen"), Atom("\\*")),))
    assert events[2] == StatusResponse(status="OK", code=ResponseCode(name="UIDVALIDITY",
                                                                      values=(3857529045,)))
    assert events[3].code.text == 'some "free text'  # type: ignore[union-attr]
    assert events[3].code.values == ()  # type: ignore[union-attr]
    assert events[4] == StatusResponse(status="BAD", text="lowercase is fine")


FETCH = (b"* 12 FETCH (UID 7 FLAGS (\\Seen) INTERNALDATE \"17-Jul-1996 02:44:25 -0700\" "
         b"BODY[] {25}\r\nSubject: x\r\n\r\nbody {3}\r\n) "
         b"BODY[HEADER.FIELDS (SUBJECT)] {12}\r\nSubject: x\r\n "
         b"ENVELOPE (NIL \"s\" NIL NIL NIL NIL NIL NIL NIL NIL))\r\n"
         b"A0003 OK done\r\n")
EXPECTED_FETCH = FetchResponse(seq=12, items={
    "UID": 7, "FLAGS": (Atom("\\Seen"),), "INTERNALDATE": "17-Jul-1996 02:44:25 -0700",
    "BODY[]": b"Subject: x\r\n\r\nbody {3}\r\n)",
    "BODY[HEADER.FIELDS (SUBJECT)]": b"Subject: x\r\n",
    "ENVELOPE": (None, "s", None, None, None, None, None, None, None, None)})


def _fetching_client() -> ClientConnection:
    c = logged_in_client()
    c.send(Fetch(sequence_set="12", items=("BODY[]",)))
    return c


def test_literals_split_at_every_position() -> None:
    """Every cut of the stream, literals included, gives the same events."""
    for cut in range(1, len(FETCH)):
        c = _fetching_client()
        events = feed_chunks(c, [FETCH[:cut], FETCH[cut:]])
        assert events[0] == EXPECTED_FETCH, cut
        assert isinstance(events[1], StatusResponse) and events[1].tag == "A0003"


def test_byte_at_a_time_and_one_chunk_agree() -> None:
    one = feed_chunks(_fetching_client(), [FETCH])
    bytewise = feed_chunks(_fetching_client(), [FETCH[i:i + 1] for i in range(len(FETCH))])
    assert one == bytewise
    assert one[0] == EXPECTED_FETCH


def test_a_literal_chunk_is_not_copied() -> None:
    """Octets that arrive as a chunk of their own are kept as that object."""
    c = _fetching_client()
    body = b"x" * 100_000
    c.receive_data(b"* 1 FETCH (BODY[] {100000}\r\n")
    assert c.next_event() is NEED_DATA
    c.receive_data(body)
    c.receive_data(b")\r\n")
    event = c.next_event()
    assert isinstance(event, FetchResponse)
    assert event.items["BODY[]"] is body


def test_huge_search_line() -> None:
    c = logged_in_client()
    numbers = range(1, 200_001)
    line = b"* SEARCH " + b" ".join(b"%d" % n for n in numbers) + b"\r\n"
    assert len(line) > 1_000_000
    events = feed_chunks(c, [line[i:i + 65536] for i in range(0, len(line), 65536)])
    assert events == [SearchResponse(numbers=tuple(numbers))]


def test_response_line_limit_and_garbage() -> None:
    c = ClientConnection(max_line=100)
    c.receive_data(b"* OK hi\r\n")
    c.next_event()
    c.receive_data(b"* SEARCH " + b"1 " * 100)
    with pytest.raises(RemoteProtocolError):
        c.next_event()
    for garbage in (b"hello\r\n", b"* 1 FETCH (UID\r\n", b"A1 FOO bar\r\n", b"+ x\r\n"):
        c = client()
        c.receive_data(garbage)
        with pytest.raises(RemoteProtocolError):
            c.next_event()


def test_eof_mid_response_is_connection_closed() -> None:
    c = client()
    c.receive_data(b"* 1 FETCH (BODY[] {10}\r\nabc")
    assert c.next_event() is NEED_DATA
    c.receive_data(b"")
    assert isinstance(c.next_event(), ConnectionClosed)
    assert c.state is State.LOGOUT


# -- client: commands -------------------------------------------------------------------


def test_synchronizing_literals_wait_for_continuation() -> None:
    c = client()
    first = c.send(Login(user="alice", password="p\r\nw"))
    assert first == b'A0001 LOGIN "alice" {4}\r\n'
    with pytest.raises(LocalProtocolError):
        c.continue_literal()  # no "+" yet
    with pytest.raises(LocalProtocolError):
        c.send(Login(user="x", password="y"))  # the line is busy
    assert drain(c, b"+ go ahead\r\n")[0] == ContinuationRequest(text="go ahead")
    assert c.continue_literal() == b"p\r\nw\r\n"
    assert drain(c, b"A0001 OK [CAPABILITY IMAP4rev1 LITERAL+] in\r\n")[0].tag == "A0001"
    # Now LITERAL+ is known: no waiting.
    c.send(Select(mailbox="INBOX"))
    drain(c, b"A0002 OK done\r\n")
    data = c.send(Append(mailbox="Gr\u00fc\u00dfe", message=b"hi\r\n", flags=("\\Seen",)))
    assert data == b'A0003 APPEND {7+}\r\nGr\xc3\xbc\xc3\x9fe (\\Seen) {4+}\r\nhi\r\n\r\n'


def test_refused_literal_drops_the_rest() -> None:
    c = client()
    c.send(Login(user="alice", password="p\nw"))
    events = drain(c, b"A0001 NO [TOOBIG] nope\r\n")
    assert isinstance(events[0], StatusResponse) and events[0].status == "NO"
    assert c.pending == ()
    c.send(Login(user="alice", password="pw"))  # the line is free again


def test_commands_checked_against_the_state() -> None:
    c = client()
    with pytest.raises(LocalProtocolError):
        c.send(Fetch(sequence_set="1", items=("FLAGS",)))
    c.send(Login(user="a", password="b"))
    c.send(Select(mailbox="INBOX"))  # pipelined: allowed once LOGIN succeeds
    c.send(Fetch(sequence_set="1", items=("FLAGS",)))  # and once SELECT does
    drain(c, b"A0001 OK in\r\nA0002 NO no such mailbox\r\nA0003 BAD no mailbox\r\n")
    assert c.state is State.AUTHENTICATED
    with pytest.raises(RemoteProtocolError):
        c.receive_data(b"A0009 OK what\r\n")
        c.next_event()


def test_idle_and_authenticate_exchanges() -> None:
    c = logged_in_client()
    from mimekit.imap import Authenticate, Idle
    c.send(Idle())
    with pytest.raises(LocalProtocolError):
        c.send(IdleDone())  # not accepted yet
    assert isinstance(drain(c, b"+ idling\r\n* 4 EXISTS\r\n")[0], ContinuationRequest)
    assert c.idling
    assert c.send(IdleDone()) == b"DONE\r\n"
    drain(c, b"A0003 OK idle done\r\n")
    assert not c.pending
    fresh = client(b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] hi\r\n")
    fresh.send(Authenticate(mechanism="PLAIN"))
    assert isinstance(drain(fresh, b"+ \r\n")[0], ContinuationRequest)
    assert fresh.send(AuthenticateData(data="AGEAYg==")) == b"AGEAYg==\r\n"
    drain(fresh, b"A0001 OK yes\r\n")
    assert fresh.state is State.AUTHENTICATED


def test_store_and_search_commands_on_the_wire() -> None:
    c = logged_in_client()
    assert c.send(Store(sequence_set="1:3", flags=("\\Seen", "$Junk"), operation="remove",
                        silent=True, uid=True)) == \
        b"A0003 UID STORE 1:3 -FLAGS.SILENT (\\Seen $Junk)\r\n"
    drain(c, b"A0003 OK\r\n")
    assert c.send(Search(criteria=(Atom("SUBJECT"), "caf\u00e9"), charset="UTF-8",
                         uid=True)) == b"A0004 UID SEARCH CHARSET UTF-8 SUBJECT {5}\r\n"


def test_starttls_forgets_capabilities_and_drops_plaintext() -> None:
    from mimekit.imap import StartTLS
    c = client(b"* OK [CAPABILITY IMAP4rev1 STARTTLS] hi\r\n")
    c.send(StartTLS())
    drain(c, b"A0001 OK begin TLS\r\n* OK injected\r\n")
    assert c.tls_pending
    with pytest.raises(LocalProtocolError):
        c.send(Login(user="a", password="b"))
    c.tls_established()
    assert c.capabilities == frozenset()
    assert c.next_event() is NEED_DATA  # the injected line is gone


# -- server ----------------------------------------------------------------------------


def server(**kwargs: int) -> ServerConnection:
    s = ServerConnection(**kwargs)
    assert s.next_event() is PAUSED  # the greeting is due
    assert s.send(StatusResponse(status="OK", text="ready")) == b"* OK ready\r\n"
    return s


def logged_in_server(**kwargs: int) -> ServerConnection:
    s = server(**kwargs)
    drain(s, b"a LOGIN u p\r\n")
    s.send(StatusResponse(tag="a", status="OK"))
    assert s.state is State.AUTHENTICATED
    return s


def test_server_commands_are_typed() -> None:
    s = logged_in_server()
    events = drain(s, b'b SELECT "Gr&APw-n"\r\n')
    assert events == [Select(tag="b", mailbox="Gr&APw-n"), PAUSED]
    assert s.send(ExistsResponse(count=2)) == b"* 2 EXISTS\r\n"
    s.send(StatusResponse(tag="b", status="OK", code=ResponseCode(name="READ-WRITE")))
    assert s.state is State.SELECTED
    events = drain(s, b"c UID FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)]<0.10>)\r\n")
    assert events[0] == Fetch(tag="c", sequence_set="1:*", uid=True,
                              items=("FLAGS", "BODY.PEEK[HEADER.FIELDS (SUBJECT)]<0.10>"))
    envelope = ("d", None, 5, (("n", None, "m", "h"),))
    data = s.send(FetchResponse(seq=1, items={"UID": 5, "FLAGS": (Atom("\\Seen"),),
                                              "BODY[]": b"a\r\nb", "ENVELOPE": envelope}))
    assert data == (b'* 1 FETCH (UID 5 FLAGS (\\Seen) BODY[] {4}\r\na\r\nb '
                    b'ENVELOPE ("d" NIL 5 (("n" NIL "m" "h"))))\r\n')
    s.send(StatusResponse(tag="c", status="OK"))
    assert drain(s, b"d FETCH 2 FAST\r\n")[0] == Fetch(
        tag="d", sequence_set="2", items=("FLAGS", "INTERNALDATE", "RFC822.SIZE"))


def test_server_literals_need_a_decision() -> None:
    s = logged_in_server(max_literal=1000)
    events = drain(s, b"e APPEND INBOX (\\Seen) {12}\r\n")
    assert events == [LiteralAnnounced(tag="e", name="APPEND", size=12,
                                       arguments=(Atom("INBOX"), (Atom("\\Seen"),))), PAUSED]
    assert s.send(ContinuationRequest(text="Ready")) == b"+ Ready\r\n"
    events = drain(s, b"hello\r\nworld\r\n")
    assert events[0] == Append(tag="e", mailbox="INBOX", message=b"hello\r\nworld",
                               flags=("\\Seen",))
    s.send(StatusResponse(tag="e", status="OK"))
    # Refused before "+": the client then sends the next command.
    drain(s, b"f APPEND Nope {5}\r\n")
    s.send(StatusResponse(tag="f", status="NO", code=ResponseCode(name="TRYCREATE")))
    assert drain(s, b"g NOOP\r\n")[0].tag == "g"  # type: ignore[union-attr]


COMMANDS = (b'x1 APPEND "Sent Items" (\\Seen $Work) "17-Jul-1996 02:44:25 -0700" {12+}\r\n'
            b"a\r\n{5}\r\nb)\r\r\n"
            b"x2 LOGIN {5+}\r\nal\nce {3+}\r\n\"\\ \r\n")


def test_commands_split_at_every_position() -> None:
    """Every cut of a pipelined stream of commands with literals gives the
    same events."""
    expected: list[object] | None = None
    for cut in range(len(COMMANDS) + 1):
        s = logged_in_server()
        got = []
        for chunk in (COMMANDS[:cut], COMMANDS[cut:]):
            if chunk:  # (b"" would mean end of input)
                s.receive_data(chunk)
            while (event := s.next_event()) is not NEED_DATA:
                if event is PAUSED:
                    last = got[-1]
                    s.send(last.response if isinstance(last, InvalidCommand)
                           else StatusResponse(tag=last.tag, status="OK"))  # type: ignore[attr-defined]
                    continue
                got.append(event)
        if expected is None:
            expected = got
        assert got == expected, cut
    assert expected is not None and expected[0] == Append(
        tag="x1", mailbox="Sent Items", message=b"a\r\n{5}\r\nb)\r\r", flags=("\\Seen", "$Work"),
        internal_date=datetime(1996, 7, 17, 2, 44, 25, tzinfo=timezone(timedelta(hours=-7))))
    assert isinstance(expected[1], InvalidCommand)  # LOGIN after login: refused, literals
    assert len(expected) == 2                        # skipped, the stream stays in step


def test_server_refuses_a_big_literal_before_continuation() -> None:
    s = logged_in_server(max_literal=100)
    first = drain(s, b"h APPEND INBOX {1000000000}\r\n")[0]
    assert isinstance(first, InvalidCommand)
    assert first.response.code == ResponseCode(name="TOOBIG") and first.response.tag == "h"
    with pytest.raises(LocalProtocolError):
        s.send(StatusResponse(tag="h", status="OK"))
    s.send(first.response)
    # A non-synchronizing one is read and thrown away, not stored.
    events = drain(s, b"i APPEND INBOX {200+}\r\n" + b"x" * 200 + b"\r\nj NOOP\r\n")
    assert isinstance(events[0], InvalidCommand) and events[0].tag == "i"
    s.send(events[0].response)
    assert drain(s)[0].tag == "j"  # type: ignore[union-attr]


@pytest.mark.parametrize(("line", "tag"), [
    (b"k FROB x\r\n", "k"), (b"k\r\n", "k"), (b"(((\r\n", None), (b"k FETCH 1 (FLAGS\r\n", "k"),
    (b"k LOGIN onlyone\r\n", "k"), (b"k UID FOO 1\r\n", "k"), (b'k SELECT "x\r\n', "k"),
])
def test_server_bad_commands(line: bytes, tag: str | None) -> None:
    s = logged_in_server()
    event = drain(s, line)[0]
    assert isinstance(event, InvalidCommand) and event.tag == tag
    assert event.response.status == "BAD"
    s.send(event.response)
    assert drain(s, b"z NOOP\r\n")[0].tag == "z"  # type: ignore[union-attr]


def test_server_state_refusal_skips_literals() -> None:
    s = server()
    events = drain(s, b"a SELECT {5+}\r\nINBOX\r\nb NOOP\r\n")
    assert isinstance(events[0], InvalidCommand) and "not allowed" in events[0].response.text
    s.send(events[0].response)
    assert drain(s)[0].tag == "b"  # type: ignore[union-attr]


def test_server_line_too_long() -> None:
    s = server(max_line=1000)
    events = drain(s, b"l LOGIN " + b"x " * 2000 + b"{3+}\r\nabc\r\nm NOOP\r\n")
    assert isinstance(events[0], InvalidCommand) and events[0].tag == "l"
    assert "too long" in events[0].response.text
    s.send(events[0].response)
    assert drain(s)[0].tag == "m"  # type: ignore[union-attr]


def test_server_idle_authenticate_and_starttls() -> None:
    s = logged_in_server()
    assert drain(s, b"n IDLE\r\n")[0].tag == "n"  # type: ignore[union-attr]
    s.send(ContinuationRequest(text="idling"))
    assert s.send(ExistsResponse(count=3)) == b"* 3 EXISTS\r\n"
    assert drain(s, b"done\r\n")[0] == IdleDone()
    s.send(StatusResponse(tag="n", status="OK"))
    drain(s, b"o IDLE\r\n")
    s.send(ContinuationRequest(text="idling"))
    bad = drain(s, b"NOOP\r\n")[0]
    assert isinstance(bad, InvalidCommand) and bad.tag == "o"
    s.send(bad.response)
    fresh = server()
    drain(fresh, b"p AUTHENTICATE PLAIN\r\n")
    fresh.send(ContinuationRequest())
    assert drain(fresh, b"AGEAYg==\r\n")[0] == AuthenticateData(data="AGEAYg==")
    fresh.send(StatusResponse(tag="p", status="OK"))
    assert fresh.state is State.AUTHENTICATED
    tls = server()
    drain(tls, b"q STARTTLS\r\nr LOGIN injected x\r\n")
    tls.send(StatusResponse(tag="q", status="OK"))
    assert tls.next_event() is PAUSED and tls.discarded_after_starttls > 0
    tls.tls_established()
    assert drain(tls)[0] is NEED_DATA


def test_server_logout_and_eof() -> None:
    s = logged_in_server()
    drain(s, b"s LOGOUT\r\n")
    s.send(StatusResponse(status="BYE", text="bye"))
    s.send(StatusResponse(tag="s", status="OK"))
    assert s.state is State.LOGOUT
    assert isinstance(s.next_event(), ConnectionClosed)
    t = logged_in_server()
    t.receive_data(b"u NOOP")
    t.receive_data(b"")
    assert isinstance(t.next_event(), ConnectionClosed)


def test_server_response_checks() -> None:
    s = logged_in_server()
    with pytest.raises(LocalProtocolError):
        s.send(StatusResponse(tag="nope", status="OK"))
    with pytest.raises(LocalProtocolError):
        s.send(ContinuationRequest())
    with pytest.raises(LocalProtocolError):
        s.send(StatusResponse(status="OK", text="a\r\nb"))
    with pytest.raises(LocalProtocolError):
        s.send(FlagsResponse(flags=("bad flag",)))
    fresh = ServerConnection()
    with pytest.raises(LocalProtocolError):
        fresh.send(ExistsResponse(count=1))


# -- linear time ------------------------------------------------------------------------


def _timed(data: bytes, chunk: int) -> float:
    start = time.perf_counter()
    r = Reader(None)
    parser = ValueParser()
    for i in range(0, len(data), chunk):
        r.feed(data[i:i + chunk])
        fragment = r.take_fragment()
        if fragment is not None:
            with contextlib.suppress(ParseError):
                parser.feed(fragment)
    return time.perf_counter() - start


def test_reading_is_linear() -> None:
    """Doubling the input at most about doubles the time, fed in small
    chunks (a rescan per chunk would quadruple it); adversarial shapes too."""
    for unit in (b"1 ", b"[", b"[a ", b'"\\" ', b'"\\\\" ', b"(a ", b"\\Seen ", b'a"'):
        small = unit * 20_000 + b"\r\n"
        big = unit * 40_000 + b"\r\n"
        t_small = min(_timed(small, 7) for _ in range(3))
        t_big = min(_timed(big, 7) for _ in range(3))
        assert t_big < 3.5 * t_small + 0.02, (unit, t_small, t_big)


def test_reader_line_limit() -> None:
    r = Reader(10)
    r.feed(b"0123456789ab")
    with pytest.raises(LineTooLong):
        r.take_fragment()
    assert r.discard_fragment() is None
    r.feed(b"cd {12}\r\nnext\r\n")
    assert r.discard_fragment() == b"0123456789abcd {12}"
    r.new_line()
    assert r.take_fragment() == b"next"
