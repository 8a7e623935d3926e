"""Round trips through the IMAP core, with Hypothesis.

* Values: encode, cut the bytes anywhere, read them back: the same values
  (a string may come back as ``bytes`` when it had to travel as a literal;
  IMAP treats the two forms as one value).
* Commands: a client core writes a command (synchronizing literals, or
  LITERAL+), a server core reads it: the same typed event.
* Responses: a server core writes a typed response, a client core reads it:
  the same event.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from mimekit.imap import (
    NEED_DATA,
    PAUSED,
    Append,
    Atom,
    CapabilityResponse,
    ClientConnection,
    Command,
    ContinuationRequest,
    Copy,
    Create,
    Encoding,
    ExistsResponse,
    Fetch,
    FetchResponse,
    FlagsResponse,
    Id,
    IdResponse,
    List,
    ListResponse,
    LiteralAnnounced,
    Login,
    MailboxStatusResponse,
    NamespaceResponse,
    Rename,
    Search,
    SearchResponse,
    Select,
    ServerConnection,
    Status,
    StatusResponse,
    Store,
    UntaggedResponse,
    Value,
    encode,
)
from mimekit.imap._encode import MAX_QUOTED

# -- values -----------------------------------------------------------------------------------

_ATOM_CHARS = st.sampled_from("abcXYZ019.-_+:*%$&!#'~|^`\\]<>/")
atoms = st.text(_ATOM_CHARS, min_size=1, max_size=12).filter(
    lambda s: not s.isdigit() and s.upper() != "NIL").map(Atom)
sections = st.builds(lambda a, b: Atom(f"BODY[{a}]<{b}>"),
                     st.sampled_from(["", "1.2", "HEADER.FIELDS (SUBJECT FROM)", "TEXT"]),
                     st.integers(0, 999))
leaf: st.SearchStrategy[Value] = st.one_of(
    st.none(), st.integers(0, 2**63 - 1), st.text(max_size=30), st.binary(max_size=40),
    atoms, sections, st.text(st.characters(codec="ascii"), min_size=MAX_QUOTED - 1,
                             max_size=MAX_QUOTED + 2))
values: st.SearchStrategy[Value] = st.recursive(
    leaf, lambda inner: st.lists(inner, max_size=5).map(tuple), max_leaves=25)


def _same(value: Value) -> object:
    """A value with the quoted/literal difference taken out."""
    if isinstance(value, Atom):
        return ("atom", str(value))
    if isinstance(value, str):
        return value.encode("utf-8", "surrogateescape")
    if isinstance(value, tuple):
        return tuple(_same(v) for v in value)
    return value


def _cuts(data: bytes, sizes: list[int]) -> list[bytes]:
    out, pos = [], 0
    for size in sizes * (len(data) // max(sum(sizes), 1) + 1):
        if pos >= len(data):
            break
        out.append(data[pos:pos + size])
        pos += size
    if pos < len(data):
        out.append(data[pos:])
    return out


def _client() -> ClientConnection:
    conn = ClientConnection()
    conn.receive_data(b"* OK hi\r\n")
    conn.next_event()
    return conn


@given(st.lists(values, min_size=1, max_size=6), st.lists(st.integers(1, 40), min_size=1,
                                                           max_size=8))
def test_values_round_trip_any_chunking(items: list[Value], sizes: list[int]) -> None:
    wire = b"* X " + b"".join(encode(items)) + b"\r\n"
    conn = _client()
    got: list[object] = []
    for chunk in _cuts(wire, sizes):
        conn.receive_data(chunk)
        while (event := conn.next_event()) is not NEED_DATA:
            got.append(event)
    assert len(got) == 1
    event = got[0]
    assert isinstance(event, UntaggedResponse) and event.name == "X"
    assert [_same(v) for v in event.values] == [_same(v) for v in items]


@given(st.text(max_size=50), st.booleans())
def test_strings_quote_only_when_safe(text: str, utf8: bool) -> None:
    (wire,) = encode([text], Encoding(server=True, utf8=utf8))
    if wire.startswith(b'"'):
        assert "\r" not in text and "\n" not in text and "\x00" not in text
        assert text.isascii() or utf8
    else:
        assert wire.startswith(b"{")


# -- commands: client writes, server reads ------------------------------------------------------

names = st.text(min_size=1, max_size=20)
flags = st.lists(st.sampled_from(["\\Seen", "\\Deleted", "\\Flagged", "$Junk", "Work"]),
                 max_size=3, unique=True).map(tuple)
seqsets = st.sampled_from(["1", "1:*", "2,4:7", "*", "10:3"])
commands: st.SearchStrategy[Command] = st.one_of(
    st.builds(Login, user=names, password=names),
    st.builds(Create, mailbox=names),
    st.builds(Rename, mailbox=names, new_name=names),
    st.builds(List, reference=st.sampled_from(["", "Work/"]), pattern=st.sampled_from(["*", "%",
                                                                                       "A*"])),
    st.builds(Status, mailbox=names, items=st.just(("MESSAGES", "UIDNEXT"))),
    st.builds(Append, mailbox=names, message=st.binary(min_size=1, max_size=200), flags=flags,
              internal_date=st.none() | st.just(datetime(2024, 2, 29, 23, 59, 58,
                                                         tzinfo=timezone(timedelta(hours=-7))))),
    st.builds(Id, params=st.none() | st.dictionaries(st.sampled_from(["name", "version"]),
                                                     st.none() | st.text(max_size=10))),
)
selected_commands: st.SearchStrategy[Command] = st.one_of(
    st.builds(Fetch, sequence_set=seqsets, uid=st.booleans(), items=st.lists(
        st.sampled_from(["FLAGS", "UID", "ENVELOPE", "BODY.PEEK[HEADER.FIELDS (SUBJECT)]",
                         "BODY[1.2]<0.100>", "RFC822.SIZE"]), min_size=1, max_size=4,
        unique=True).map(tuple)),
    st.builds(Store, sequence_set=seqsets, flags=flags, uid=st.booleans(), silent=st.booleans(),
              operation=st.sampled_from(["add", "remove", "replace"])),
    st.builds(Copy, sequence_set=seqsets, mailbox=names, uid=st.booleans()),
    st.builds(Search, uid=st.booleans(), criteria=st.sampled_from([
        (Atom("ALL"),), (Atom("FROM"), "al ice", Atom("UNSEEN")),
        ((Atom("OR"), Atom("SEEN"), Atom("DELETED")),)])),
)


def _deliver(command: Command, literal_plus: bool, selected: bool) -> object:
    client = ClientConnection()
    greeting = b"* OK [CAPABILITY IMAP4rev1%s] hi\r\n" % (b" LITERAL+" if literal_plus else b"")
    client.receive_data(greeting)
    client.next_event()
    server = ServerConnection()
    server.send(StatusResponse(status="OK"))
    setup: list[Command] = [] if isinstance(command, Login) else [Login(user="u", password="p")]
    if selected:
        setup.append(Select(mailbox="INBOX"))
    for step in [*setup, command]:
        server.receive_data(client.send(step))
        while True:
            event = server.next_event()
            if isinstance(event, LiteralAnnounced):
                client.receive_data(server.send(ContinuationRequest(text="go")))
                assert isinstance(client.next_event(), ContinuationRequest)
                server.receive_data(client.continue_literal())
                continue
            assert event is not NEED_DATA and event is not PAUSED
            break
        if step is command:
            return event
        assert isinstance(event, Command)
        client.receive_data(server.send(StatusResponse(tag=event.tag, status="OK")))
        assert isinstance(client.next_event(), StatusResponse)
    raise AssertionError("unreachable")


@given(commands, st.booleans())
def test_commands_round_trip(command: Command, literal_plus: bool) -> None:
    got = _deliver(command, literal_plus, selected=False)
    assert isinstance(got, Command)
    assert got == replace(command, tag=got.tag)


@given(selected_commands, st.booleans())
def test_selected_commands_round_trip(command: Command, literal_plus: bool) -> None:
    got = _deliver(command, literal_plus, selected=True)
    assert isinstance(got, Command)
    assert got == replace(command, tag=got.tag)


# -- responses: server writes, client reads -------------------------------------------------------

responses = st.one_of(
    st.builds(StatusResponse, tag=st.none(), status=st.sampled_from(["OK", "NO", "BAD"]),
              text=st.text(st.characters(codec="utf-8", exclude_characters="\r\n\x00"),
                           max_size=30).map(str.strip)),
    st.builds(ExistsResponse, count=st.integers(0, 10**9)),
    st.builds(CapabilityResponse, capabilities=st.lists(atoms.map(str), min_size=1,
                                                        max_size=4).map(tuple)),
    st.builds(FlagsResponse, flags=flags),
    st.builds(ListResponse, flags=flags, delimiter=st.sampled_from(["/", ".", None]),
              mailbox=names, kind=st.sampled_from(["LIST", "LSUB"])),
    st.builds(SearchResponse, numbers=st.lists(st.integers(1, 10**6), max_size=20).map(tuple)),
    st.builds(MailboxStatusResponse, mailbox=names, items=st.dictionaries(
        st.sampled_from(["MESSAGES", "UIDNEXT", "UNSEEN"]), st.integers(0, 2**32))),
    st.builds(IdResponse, params=st.none() | st.dictionaries(
        st.text(min_size=1, max_size=8), st.none() | st.text(max_size=8), max_size=3)),
    st.builds(NamespaceResponse, personal=st.just((("", "/"),)),
              shared=st.lists(st.tuples(names, st.sampled_from(["/", None])),
                              max_size=2).map(tuple)),
    st.builds(FetchResponse, seq=st.integers(1, 10**6), items=st.fixed_dictionaries({
        "UID": st.integers(1, 2**32), "FLAGS": flags.map(lambda f: tuple(map(Atom, f))),
        "BODY[]": st.binary(max_size=300)})),
)


@given(responses, st.lists(st.integers(1, 50), min_size=1, max_size=5))
def test_responses_round_trip(response: object, sizes: list[int]) -> None:
    wire = response.to_bytes()  # type: ignore[attr-defined]
    conn = _client()
    got: list[object] = []
    for chunk in _cuts(wire, sizes):
        conn.receive_data(chunk)
        while (event := conn.next_event()) is not NEED_DATA:
            got.append(event)
    assert got == [response]
