"""Our IMAP server driven by the stdlib's imaplib: every command, and the
exact untagged data where clients depend on it (raw-socket checks).

One server for the module, in a thread; each test logs in as its own user,
so each starts with a fresh store (INBOX plus the SPECIAL-USE folders).
"""

from __future__ import annotations

import base64
import imaplib
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from imap_server_fixtures import MSG, PASSWORD, Running, Wire, message, running_server
from imap_server_helpers import fetch_items, imaplib_raw

from mimekit.imap import parse_bodystructure, parse_envelope, parse_values

MULTIPART = (b"From: a@example.test\r\nTo: b@example.test\r\nSubject: parts\r\n"
             b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n"
             b"preamble\r\n--XX\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
             b"Gr\xc3\xbc\xc3\x9fe\r\n--XX\r\nContent-Type: message/rfc822\r\n\r\n"
             b"From: inner@example.test\r\nSubject: inner\r\n\r\ninner body\r\n"
             b"--XX--\r\n")


@pytest.fixture(scope="module")
def srv() -> Iterator[Running]:
    with running_server() as running:
        yield running


def ok(result: tuple[str, list[object]]) -> list[object]:
    typ, data = result
    assert typ == "OK", data
    return data


def bad(call: Any, *args: object) -> bool:
    """Whether the command is answered with BAD (imaplib raises then)."""
    try:
        call(*args)
    except imaplib.IMAP4.error as exc:
        return "BAD" in str(exc)
    return False


def uid_of(code: object) -> int:
    text = code.decode() if isinstance(code, bytes) else str(code)
    return int(re.search(r"APPENDUID \d+ (\d+)", text).group(1))  # type: ignore[union-attr]


def fetch_one(c: imaplib.IMAP4, which: str, items: str, uid: bool = False) -> dict[str, object]:
    data = ok(c.uid("FETCH", which, items) if uid else c.fetch(which, items))
    return fetch_items(imaplib_raw(data))


# -- any state, login ------------------------------------------------------------------


def test_capability_noop_id_namespace_enable_logout(srv: Running) -> None:
    c = srv.imap(login=False)
    caps = c.capabilities
    for cap in ("IMAP4REV1", "LITERAL+", "IDLE", "NAMESPACE", "ID", "ENABLE", "AUTH=PLAIN",
                "UIDPLUS", "MOVE", "SPECIAL-USE", "UNSELECT", "CHILDREN", "SASL-IR"):
        assert cap in caps
    assert "LOGINDISABLED" not in caps and "STARTTLS" not in caps  # loopback, no TLS context
    ok(c.noop())
    c.login("cap-user", PASSWORD)
    caps = ok(c.capability())[0].decode().split()  # type: ignore[union-attr]
    assert "AUTH=PLAIN" not in caps and "APPENDLIMIT=67108864" in caps
    assert ok(c.namespace()) == [b'(("" "/")) NIL NIL']
    ok(c.enable("CONDSTORE"))  # nothing to enable here: an empty ENABLED
    assert c.untagged_responses.pop("ENABLED") == [b""]
    assert c.logout()[0] == "BYE"
    # (imaplib.xatom would register ID in imaplib's global command table.)
    with Wire(srv.port) as w:
        lines = w.cmd('ID ("name" "test" "os" NIL)')
        assert lines[0].startswith(b'* ID ("name" "mimekit" "version" ')
        assert lines[1].startswith(b"a OK")
        assert w.cmd("ID NIL", "b")[-1].startswith(b"b OK")


def test_login_failures_and_authenticate_plain(srv: Running) -> None:
    c = srv.imap(login=False)
    with pytest.raises(imaplib.IMAP4.error, match=r"AUTHENTICATIONFAILED"):
        c.login("auth-user", "wrong")
    creds = b"\0auth-user\0" + PASSWORD.encode()
    typ, data = c.authenticate("PLAIN", lambda challenge: creds)
    assert typ == "OK" and b"[CAPABILITY" in data[0]  # type: ignore[operator]
    assert srv.handler.logins[-1] == ("auth-user", "PLAIN", False)
    c.logout()
    # SASL-IR (RFC 4959), an unknown mechanism, a cancelled exchange.
    with Wire(srv.port) as w:
        ir = base64.b64encode(creds).decode()
        assert w.cmd("AUTHENTICATE PLAIN " + ir)[-1].startswith(b"a OK [CAPABILITY")
    with Wire(srv.port) as w:
        assert b"NO" in w.cmd("AUTHENTICATE CRAM-MD5")[-1]
        w.send(b"b AUTHENTICATE PLAIN\r\n")
        assert w.line() == b"+ "
        w.send(b"*\r\n")
        assert w.line().startswith(b"b BAD")
        # The third failure ends the connection.
        assert b"AUTHENTICATIONFAILED" in w.cmd("LOGIN x y", "c")[-1]
        assert b"AUTHENTICATIONFAILED" in w.cmd("LOGIN x y", "d")[-1]
        w.send(b"e LOGIN x y\r\n")
        assert b"AUTHENTICATIONFAILED" in w.until(b"e")[-1]
        assert w.line().startswith(b"* BYE")
        assert w.closed()


# -- mailboxes ----------------------------------------------------------------------------


def test_select_and_examine_untagged_data(srv: Running) -> None:
    c = srv.imap("sel-user")
    ok(c.append("INBOX", r"(\Seen)", None, message(1)))
    ok(c.append("INBOX", None, None, message(2)))
    c.logout()
    with Wire(srv.port) as w:
        w.cmd(f"LOGIN sel-user {PASSWORD}")
        lines = w.cmd("SELECT INBOX")
        assert lines[0] == b"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)"
        assert lines[1].startswith(b"* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted "
                                   b"\\Seen \\Draft \\*)]")
        assert lines[2:4] == [b"* 2 EXISTS", b"* 2 RECENT"]
        assert lines[4].startswith(b"* OK [UNSEEN 2]")
        assert re.match(rb"\* OK \[UIDVALIDITY \d+\]", lines[5])
        assert lines[6].startswith(b"* OK [UIDNEXT 3]")
        assert lines[7].startswith(b"a OK [READ-WRITE]")
        lines = w.cmd("EXAMINE INBOX", "b")
        assert lines[0].startswith(b"* OK [CLOSED]")
        assert b"* OK [PERMANENTFLAGS ()] Read-only mailbox" in lines
        assert b"* 0 RECENT" in lines  # claimed by the first SELECT
        assert lines[-1].startswith(b"b OK [READ-ONLY]")
        assert w.cmd('STORE 1 +FLAGS (\\Deleted)', "c")[-1].startswith(b"c NO [READ-ONLY]")
        assert w.cmd("SELECT Nope", "d")[-1].startswith(b"d NO [NONEXISTENT]")
        # A failed SELECT leaves no mailbox selected (RFC 3501 6.3.1).
        assert w.cmd("FETCH 1 FLAGS", "e")[-1].startswith(b"e BAD")


def test_create_delete_rename_subscribe_list_lsub_status(srv: Running) -> None:
    c = srv.imap("box-user")
    ok(c.create("Projects/2024"))  # parents are made too
    ok(c.create("Entwürfe".encode("ascii", "ignore").decode() + "/x/"))
    typ, data = c.create("Projects")
    assert typ == "NO" and b"ALREADYEXISTS" in data[0]  # type: ignore[operator]
    listing = [line.decode() for line in ok(c.list())]  # type: ignore[union-attr]
    assert '(\\HasNoChildren \\Sent) "/" "Sent"' in listing
    assert '(\\HasChildren) "/" "Projects"' in listing
    assert '(\\HasNoChildren) "/" "Projects/2024"' in listing
    assert ok(c.list('""', "Projects/%")) == [b'(\\HasNoChildren) "/" "Projects/2024"']
    assert ok(c.list('""', '""')) == [b'(\\Noselect) "/" ""']
    typ, data = c.xatom("LIST", '(SPECIAL-USE) "" "*"')
    special = c.untagged_responses.pop("LIST")
    assert len(special) == 5 and all(b"\\HasNoChildren \\" in s for s in special)
    ok(c.rename("Projects", "Archive/Projects"))
    names = {line.decode().rsplit(" ", 1)[1].strip('"') for line in ok(c.list())}  # type: ignore[union-attr]
    assert {"Archive/Projects", "Archive/Projects/2024"} <= names and "Projects" not in names
    # SPECIAL-USE folders are subscribed when made; SUBSCRIBE/UNSUBSCRIBE.
    assert len(ok(c.lsub())) == 5
    ok(c.subscribe("Archive/Projects/2024"))
    ok(c.unsubscribe("Junk"))
    lsub = [line.decode() for line in ok(c.lsub('""', "*"))]  # type: ignore[union-attr]
    assert '() "/" "Archive/Projects/2024"' in lsub and not any("Junk" in x for x in lsub)
    assert ok(c.lsub('""', "Archive/%")) == [b'(\\Noselect) "/" "Archive/Projects"']
    c.xatom("LIST", '"" "*" RETURN (SUBSCRIBED)')
    assert any(b"\\Subscribed" in x and b"Archive/Projects/2024" in x
               for x in c.untagged_responses.pop("LIST"))
    ok(c.append("Archive/Projects/2024", r"(\Seen)", None, message(1)))
    ok(c.append("Archive/Projects/2024", None, None, message(2)))
    status = ok(c.status("Archive/Projects/2024",
                         "(MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN)"))[0]
    assert re.fullmatch(rb'"Archive/Projects/2024" \(MESSAGES 2 RECENT 2 UIDNEXT 3 '
                        rb'UIDVALIDITY \d+ UNSEEN 1\)', status)  # type: ignore[arg-type]
    assert bad(c.status, "INBOX", "(BOGUS)")
    assert b"NONEXISTENT" in c.status("Nope", "(MESSAGES)")[1][0]  # type: ignore[operator]
    ok(c.delete("Archive/Projects/2024"))
    assert c.delete("INBOX")[0] == "NO"
    # Non-ASCII names travel in modified UTF-7 (RFC 3501 5.1.3).
    ok(c.create("Entw&APw-rfe"))
    assert b'"Entw&APw-rfe"' in b" ".join(ok(c.list('""', "Entw*")))  # type: ignore[arg-type]
    assert (srv.maildir("box-user") / ".Entw&APw-rfe" / "cur").is_dir()
    c.logout()


def test_append_and_copy_store_a_leading_from_line_exactly(srv: Running) -> None:
    """A message that starts like an mbox ``From`` line is stored as sent:
    BODY[] and RFC822.SIZE are the literal's, also after COPY."""
    raw = b"From someone Mon Jan  1 00:00:00 2024\r\nSubject: odd\r\n\r\nbody\r\n"
    c = srv.imap("from-user")
    uid = uid_of(ok(c.append("INBOX", None, None, raw))[0])
    c.select("INBOX")
    items = fetch_one(c, str(uid), "(RFC822.SIZE BODY.PEEK[])", uid=True)
    assert items["RFC822.SIZE"] == len(raw) and items["BODY[]"] == raw.decode()
    ok(c.create("Kept"))
    ok(c.uid("COPY", str(uid), "Kept"))
    c.select("Kept")
    items = fetch_one(c, "1", "(RFC822.SIZE BODY.PEEK[])")
    assert items["RFC822.SIZE"] == len(raw) and items["BODY[]"] == raw.decode()
    c.logout()


def test_append_flags_date_literal_plus_and_trycreate(srv: Running) -> None:
    c = srv.imap("app-user")
    date = imaplib.Time2Internaldate(datetime(2020, 2, 3, 4, 5, 6, tzinfo=UTC))
    data = ok(c.append("INBOX", r"(\Flagged $Label1)", date, MSG))
    uid = uid_of(data[0])
    c.select("INBOX")
    items = fetch_one(c, str(uid), "(FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[])", uid=True)
    assert set(items["FLAGS"]) == {"\\Flagged", "$Label1", "\\Recent"}  # type: ignore[arg-type]
    assert datetime.strptime(items["INTERNALDATE"], "%d-%b-%Y %H:%M:%S %z") == \
        datetime(2020, 2, 3, 4, 5, 6, tzinfo=UTC)  # type: ignore[arg-type]
    assert items["RFC822.SIZE"] == len(MSG) and items["BODY[]"] == MSG.decode()
    c.logout()
    with Wire(srv.port) as w:
        w.cmd(f"LOGIN app-user {PASSWORD}")
        # LITERAL+ (RFC 7888): no "+" round trip.
        lines = w.cmd(b"APPEND INBOX {%d+}\r\n" % len(MSG) + MSG)
        assert re.match(rb"a OK \[APPENDUID \d+ 2\]", lines[-1])
        # A missing mailbox is refused before the literal is sent.
        w.send(b"b APPEND Nope {10}\r\n")
        assert w.line().startswith(b"b NO [TRYCREATE]")
        w.send(b"c APPEND INBOX (\\Recent) {3}\r\n")
        assert w.line().startswith(b"+")
        w.send(b"abc\r\n")
        assert w.until(b"c")[-1].startswith(b"c BAD")  # \Recent cannot be set
        w.send(b"d APPEND INBOX {0}\r\n")
        assert w.line().startswith(b"+")
        w.send(b"\r\n")
        assert w.until(b"d")[-1].startswith(b"d NO")
        assert w.cmd(b"APPEND INBOX \"bad date\" {1+}\r\nx", "e")[-1].startswith(b"e BAD")


# -- selected state ----------------------------------------------------------------------


def test_fetch_items(srv: Running) -> None:
    c = srv.imap("fetch-user")
    ok(c.append("INBOX", None, None, MULTIPART))
    ok(c.select("INBOX"))
    items = fetch_one(c, "1", "(UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODY BODYSTRUCTURE)")
    assert items["UID"] == 1 and items["RFC822.SIZE"] == len(MULTIPART)
    env = parse_envelope(parse_values(_raw_item(c, "ENVELOPE"))[0])
    assert env.subject == "parts" and env.from_[0].addr_spec == "a@example.test"
    bs = parse_bodystructure(parse_values(_raw_item(c, "BODYSTRUCTURE"))[0])
    assert bs.mime_type == "multipart/mixed"
    assert [p.mime_type for p in bs.parts] == ["text/plain", "message/rfc822"]
    assert len(items["BODY"]) < len(items["BODYSTRUCTURE"])  # type: ignore[arg-type]
    sections = fetch_one(c, "1", "(BODY.PEEK[1] BODY.PEEK[1.MIME] BODY.PEEK[2.HEADER] "
                                 "BODY.PEEK[2.TEXT] BODY.PEEK[HEADER.FIELDS (Subject From)] "
                                 "BODY.PEEK[HEADER.FIELDS.NOT (Subject From To)] "
                                 "BODY.PEEK[TEXT]<0.8> BODY.PEEK[]<2.4> BODY.PEEK[9] "
                                 "RFC822.HEADER)")
    assert sections["BODY[1]"] == "Grüße"
    assert sections["BODY[1.MIME]"] == "Content-Type: text/plain; charset=utf-8\r\n\r\n"
    assert sections["BODY[2.HEADER]"] == \
        "From: inner@example.test\r\nSubject: inner\r\n\r\n"
    assert sections["BODY[2.TEXT]"] == "inner body"
    assert sections["BODY[HEADER.FIELDS (SUBJECT FROM)]"] == \
        "From: a@example.test\r\nSubject: parts\r\n\r\n"
    assert sections["BODY[HEADER.FIELDS.NOT (SUBJECT FROM TO)]"].startswith(  # type: ignore[union-attr]
        "MIME-Version: 1.0\r\nContent-Type")
    assert sections["BODY[TEXT]<0>"] == "preamble"
    assert sections["BODY[]<2>"] == "om: "
    assert sections["BODY[9]"] == ""
    assert sections["RFC822.HEADER"] == MULTIPART.split(b"\r\n\r\n")[0].decode() + "\r\n\r\n"
    # PEEK left \Seen alone; BODY[] sets it and says so in the same response.
    assert "\\Seen" not in fetch_one(c, "1", "FLAGS")["FLAGS"]  # type: ignore[operator]
    body = fetch_one(c, "1", "BODY[TEXT]")
    assert "\\Seen" in body["FLAGS"] and body["BODY[TEXT]"].startswith("preamble")  # type: ignore[operator,union-attr]
    ok(c.store("1", "-FLAGS", r"(\Seen)"))
    whole = fetch_one(c, "1", "(RFC822 RFC822.TEXT)")
    assert whole["RFC822"] == MULTIPART.decode() and "\\Seen" in whole["FLAGS"]  # type: ignore[operator]
    # Macros, bad items, bad sets.
    assert set(fetch_one(c, "1", "FAST")) == {"FLAGS", "INTERNALDATE", "RFC822.SIZE"}
    assert set(fetch_one(c, "1", "ALL")) == {"FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE"}
    assert "BODY" in fetch_one(c, "1", "FULL")
    assert bad(c.fetch, "1", "(BOGUS)")
    assert bad(c.fetch, "2", "FLAGS")  # past EXISTS
    assert bad(c.fetch, "0", "FLAGS")
    assert c.fetch("1", "BODY[1.2.MIME]<5>")[0] == "OK"
    assert bad(c.fetch, "1", "BODY[MIME]")
    assert ok(c.uid("FETCH", "100:200", "FLAGS")) == [None]  # UIDs not there: no data
    items = fetch_one(c, "*", "(FLAGS)", uid=True)
    assert items["UID"] == 1  # UID FETCH always reports the UID
    c.logout()


def _raw_item(c: imaplib.IMAP4, name: str) -> bytes:
    """The raw value of one item of message 1 (for our own parsers)."""
    _typ, data = c.fetch("1", f"({name})")
    raw = imaplib_raw(data)
    start = raw.index(name.encode()) + len(name) + 1
    return raw[start:raw.rindex(b")")]


def test_store_flags_keywords_silent_and_uid_store(srv: Running) -> None:
    c = srv.imap("store-user")
    for n in range(1, 4):
        ok(c.append("INBOX", None, None, message(n)))
    ok(c.select("INBOX"))
    assert ok(c.store("1:2", "+FLAGS", r"(\Flagged \Answered)")) == [
        b"1 (FLAGS (\\Answered \\Flagged \\Recent))", b"2 (FLAGS (\\Answered \\Flagged \\Recent))"]
    assert ok(c.store("1", "-FLAGS", r"(\Answered)")) == [b"1 (FLAGS (\\Flagged \\Recent))"]
    assert ok(c.store("3", "FLAGS", r"(\Draft)")) == [b"3 (FLAGS (\\Draft \\Recent))"]
    assert ok(c.store("1:*", "+FLAGS.SILENT", r"(\Seen)")) == [None]
    assert ok(c.uid("STORE", "2", "+FLAGS", "(\\Deleted)")) == [
        b"2 (UID 2 FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Recent))"]
    # A new keyword: FLAGS and PERMANENTFLAGS are sent again (RFC 3501 7.2.6).
    with Wire(srv.port) as w:
        w.cmd(f"LOGIN store-user {PASSWORD}")
        w.cmd("SELECT INBOX")
        lines = w.cmd("STORE 1 +FLAGS ($Important)", "b")
        assert lines[0] == b"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Important)"
        assert lines[1].startswith(b"* OK [PERMANENTFLAGS (")
        assert lines[2] == b"* 1 FETCH (FLAGS (\\Flagged \\Seen $Important))"
        assert w.cmd("STORE 1 +FLAGS (\\Recent)", "c")[-1].startswith(b"c BAD")
        assert w.cmd("STORE 1 +FLAGS (\\Bogus)", "d")[-1].startswith(b"d BAD")
    c.logout()


def test_search_keys(srv: Running) -> None:
    c = srv.imap("search-user")
    ok(c.append("INBOX", r"(\Seen)", '"01-Jan-2020 10:00:00 +0000"', message(1, "alpha", "ein")))
    ok(c.append("INBOX", r"(\Flagged)", '"15-Jun-2022 10:00:00 +0000"',
                message(2, "Grüße beta", "zwei")))
    ok(c.append("INBOX", r"(\Deleted $Junk)", None, message(3, "gamma", "drei long" * 50)))
    ok(c.select("INBOX"))

    def search(*criteria: str, uid: bool = False) -> list[int]:
        data = ok(c.uid("SEARCH", *criteria) if uid else c.search(None, *criteria))
        return [int(x) for x in data[0].split()]  # type: ignore[union-attr]

    assert search("ALL") == [1, 2, 3]
    assert search("SEEN") == [1] and search("UNSEEN") == [2, 3]
    assert search("FLAGGED") == [2] and search("DELETED") == [3] and search("UNDELETED") == [1, 2]
    assert search("KEYWORD", "$Junk") == [3] and search("UNKEYWORD", "$Junk") == [1, 2]
    assert search("NEW") == [2, 3] and search("RECENT") == [1, 2, 3] and search("OLD") == []
    assert search("SUBJECT", "alpha") == [1] and search("FROM", "s2@far") == [2]
    assert search("TO", "alice") == [1, 2, 3] and search("BODY", "zwei") == [2]
    assert search("TEXT", "gamma") == [3] and search("HEADER", "Message-ID", "<1@") == [1]
    assert search("BEFORE", "1-Jan-2021") == [1] and search("SINCE", "1-Jan-2022") == [2, 3]
    assert search("ON", "15-Jun-2022") == [2]
    assert search("SENTON", "3-Jan-2024") == [2] and search("SENTBEFORE", "3-Jan-2024") == [1]
    assert search("SENTSINCE", "3-Jan-2024") == [2, 3]
    assert search("LARGER", "300") == [3] and search("SMALLER", "300") == [1, 2]
    assert search("NOT", "SEEN", "NOT", "DELETED") == [2]
    assert search("OR", "SEEN", "FLAGGED") == [1, 2]
    assert search("(OR SEEN FLAGGED) UNDELETED") == [1, 2]
    assert search("2:*") == [2, 3] and search("*") == [3] and search("UID", "1,3") == [1, 3]
    assert search("ALL", uid=True) == [1, 2, 3]
    ok(c.append("INBOX", r"(\Answered \Draft)", None,
                b"From: x@far.test\r\nCc: Carl <carl@cc.test>\r\nBcc: bea@bcc.test\r\n"
                b"Subject: four\r\n\r\nvier\r\n"))
    ok(c.noop())
    assert search("CC", "carl") == [4] and search("BCC", "bea@") == [4]
    assert search("ANSWERED") == [4] and search("UNANSWERED") == [1, 2, 3]
    assert search("DRAFT") == [4] and search("UNDRAFT") == [1, 2, 3]
    assert search("UNFLAGGED") == [1, 3, 4] and search("NOT", "4") == [1, 2, 3]
    assert search("1:2", "OR", "SUBJECT", "alpha", "BODY", "zwei") == [1, 2]
    # CHARSET UTF-8 with a literal (imaplib sends non-ASCII that way).
    c.literal = "Grüße".encode()
    assert ok(c.search("UTF-8", "SUBJECT"))[0] == b"2"
    assert c.search("X-NOPE", "ALL")[0] == "NO"
    assert bad(c.search, None, "BOGUS")
    assert bad(c.search, None, "BEFORE", "yesterday")
    c.logout()


def test_copy_move_and_uid_variants(srv: Running) -> None:
    c = srv.imap("copy-user")
    for n in range(1, 5):
        ok(c.append("INBOX", None, None, message(n)))
    ok(c.select("INBOX"))
    data = ok(c.copy("1:2", "Archive"))
    assert re.search(rb"\[COPYUID \d+ 1:2 1:2\]", data[0])  # type: ignore[arg-type]
    ok(c.uid("COPY", "4", "Archive"))  # imaplib drops the tagged text of UID commands
    typ, data = c.copy("1", "Nope")
    assert typ == "NO" and b"TRYCREATE" in data[0]  # type: ignore[operator]
    with Wire(srv.port) as w:
        w.cmd(f"LOGIN copy-user {PASSWORD}")
        w.cmd("SELECT INBOX")
        assert re.match(rb"a OK \[COPYUID \d+ 1 4\]", w.cmd("UID COPY 1 Archive")[-1])
        lines = w.cmd("MOVE 2:3 Trash", "b")
        assert re.match(rb"\* OK \[COPYUID \d+ 2:3 1:2\]", lines[0])
        assert lines[1:3] == [b"* 3 EXPUNGE", b"* 2 EXPUNGE"]
        assert lines[3].startswith(b"b OK")
        lines = w.cmd("UID MOVE 4 Junk", "c")
        assert re.match(rb"\* OK \[COPYUID \d+ 4 1\]", lines[0]) and lines[1] == b"* 2 EXPUNGE"
        assert w.cmd("MOVE 1 INBOX", "d")[-1].startswith(b"d NO")
    assert ok(c.status("Trash", "(MESSAGES)"))[0].endswith(b"(MESSAGES 2)")  # type: ignore[union-attr]
    c.logout()


def test_expunge_uid_expunge_close_unselect_check(srv: Running) -> None:
    c = srv.imap("exp-user")
    for n in range(1, 7):
        ok(c.append("INBOX", None, None, message(n)))
    ok(c.select("INBOX"))
    ok(c.store("1,3,5,6", "+FLAGS.SILENT", r"(\Deleted)"))
    ok(c.check())
    with Wire(srv.port) as w:
        w.cmd(f"LOGIN exp-user {PASSWORD}")
        w.cmd("SELECT INBOX")
        lines = w.cmd("UID EXPUNGE 1:3", "b")
        assert lines[:2] == [b"* 3 EXPUNGE", b"* 1 EXPUNGE"]  # only UIDs 1 and 3
    # This session is told of the other's expunges only now, with its own.
    assert ok(c.expunge()) == [b"6", b"5", b"3", b"1"]
    ok(c.select("INBOX"))
    assert ok(c.search(None, "ALL"))[0] == b"1 2"
    ok(c.store("1", "+FLAGS", r"(\Deleted)"))
    ok(c.unselect())  # keeps the message
    ok(c.select("INBOX"))
    assert ok(c.search(None, "ALL"))[0] == b"1 2"
    ok(c.close())  # expunges silently
    assert c.state == "AUTH"  # back in the authenticated state
    ok(c.select("INBOX", readonly=True))  # EXAMINE
    assert ok(c.search(None, "ALL"))[0] == b"1"
    c.logout()


def test_expunge_responses(srv: Running) -> None:
    c = srv.imap("exp2-user")
    for n in range(1, 5):
        ok(c.append("INBOX", r"(\Deleted)" if n % 2 else None, None, message(n)))
    c.logout()
    with Wire(srv.port) as w:
        w.cmd(f"LOGIN exp2-user {PASSWORD}")
        w.cmd("SELECT INBOX")
        lines = w.cmd("EXPUNGE", "b")
        assert lines == [b"* 3 EXPUNGE", b"* 1 EXPUNGE", b"b OK EXPUNGE completed"]


def test_idle_with_another_session(srv: Running) -> None:
    with Wire(srv.port) as w:
        w.cmd(f"LOGIN idle-user {PASSWORD}")
        w.cmd("SELECT INBOX")
        w.send(b"b IDLE\r\n")
        assert w.line() == b"+ idling"
        other = srv.imap("idle-user")
        ok(other.append("INBOX", None, None, MSG))
        # Told at once: another session's change wakes IDLE (no polling).
        assert w.line() == b"* 1 EXISTS"
        assert w.line() == b"* 1 RECENT"
        other.select("INBOX")
        ok(other.store("1", "+FLAGS", r"(\Flagged)"))
        assert w.line() == b"* 1 FETCH (UID 1 FLAGS (\\Flagged \\Recent))"
        ok(other.store("1", "+FLAGS", r"(\Deleted)"))
        assert w.line().startswith(b"* 1 FETCH")
        ok(other.expunge())
        assert w.line() == b"* 1 EXPUNGE"
        w.send(b"DONE\r\n")
        assert w.line().startswith(b"b OK IDLE")
        other.logout()
        # IDLE ended by something else than DONE is a BAD.
        w.send(b"c IDLE\r\n")
        assert w.line() == b"+ idling"
        w.send(b"NOPE\r\n")
        assert w.line().startswith(b"c BAD")
        assert w.cmd("NOOP", "d")[-1].startswith(b"d OK")


def test_literals_in_any_argument_and_pipelining(srv: Running) -> None:
    with Wire(srv.port) as w:
        w.send(b"a LOGIN {8}\r\n")
        assert w.line().startswith(b"+")
        w.send(b"lit-user {6+}\r\nsecret\r\n")
        assert w.until(b"a")[-1].startswith(b"a OK")
        # Pipelined commands are answered in order.
        w.send(b"b NOOP\r\nc SELECT INBOX\r\nd FETCH 1 FLAGS\r\ne NOOP\r\n")
        assert w.until(b"b")[-1].startswith(b"b OK")
        assert w.until(b"c")[-1].startswith(b"c OK")
        assert w.until(b"d")[-1].startswith(b"d BAD")  # empty mailbox
        assert w.until(b"e")[-1].startswith(b"e OK")
        assert w.cmd("FROB", "f")[-1].startswith(b"f BAD")
        assert w.cmd("", "g")[-1].startswith(b"g BAD")


def test_state_rules(srv: Running) -> None:
    with Wire(srv.port) as w:
        assert w.cmd("SELECT INBOX")[-1].startswith(b"a BAD")  # not logged in
        assert w.cmd("LIST \"\" *", "b")[-1].startswith(b"b BAD")
        w.cmd(f"LOGIN state-user {PASSWORD}", "c")
        assert w.cmd("FETCH 1 FLAGS", "d")[-1].startswith(b"d BAD")  # nothing selected
        assert w.cmd(f"LOGIN state-user {PASSWORD}", "e")[-1].startswith(b"e BAD")
        assert w.cmd("UNSELECT", "f")[-1].startswith(b"f BAD")
        lines = w.cmd("LOGOUT", "g")
        assert lines[0].startswith(b"* BYE") and lines[1].startswith(b"g OK")
        assert w.closed()


def test_esearch_return_options(srv: Running) -> None:
    c = srv.imap("esearch-user")
    for _ in range(5):
        ok(c.append("INBOX", None, None, MSG))
    c.select("INBOX")
    c.store("2,4", "+FLAGS", "\\Seen")
    c.expunge()
    c.logout()
    with Wire(srv.port) as w:
        w.cmd(f"LOGIN esearch-user {PASSWORD}")
        w.cmd("SELECT INBOX", "b")
        assert w.cmd("SEARCH RETURN (MIN MAX COUNT) UNSEEN", "c") == [
            b'* ESEARCH (TAG "c") MIN 1 MAX 5 COUNT 3', b"c OK SEARCH completed"]
        assert w.cmd("UID SEARCH RETURN () UNSEEN", "d") == [
            b'* ESEARCH (TAG "d") UID ALL 1,3,5', b"d OK UID SEARCH completed"]
        assert w.cmd("UID SEARCH RETURN (ALL COUNT MIN) SEEN", "e") == [
            b'* ESEARCH (TAG "e") UID MIN 2 COUNT 2 ALL 2,4', b"e OK UID SEARCH completed"]
        # Nothing found: only COUNT is said (RFC 4731 section 3.1).
        assert w.cmd("SEARCH RETURN (MIN MAX ALL COUNT) DELETED", "f") == [
            b'* ESEARCH (TAG "f") COUNT 0', b"f OK SEARCH completed"]
        assert w.cmd("SEARCH RETURN (MIN)", "g")[-1].startswith(b"g BAD")
        assert w.cmd("SEARCH RETURN (FIRST) ALL", "h")[-1].startswith(b"h BAD")


def test_extensions_not_offered_are_bad_and_change_nothing(srv: Running) -> None:
    c = srv.imap("ext-user")
    ok(c.append("INBOX", None, None, MSG))
    c.logout()
    with Wire(srv.port) as w:
        w.cmd(f"LOGIN ext-user {PASSWORD}")
        w.cmd("SELECT INBOX", "b")
        for tag, command in (("c", "SELECT INBOX (CONDSTORE)"),
                             ("d", "FETCH 1 (FLAGS) (CHANGEDSINCE 1)"),
                             ("e", "STORE 1 (UNCHANGEDSINCE 1) +FLAGS (\\Seen)"),
                             ("f", "SEARCH RETURN (SAVE) ALL"),
                             ("g", "CREATE Stuff (USE (\\Sent))"),
                             ("h", 'LIST (REMOTE) "" *'),
                             ("i", 'LIST "" * RETURN (STATUS (MESSAGES))'),
                             ("j", "SEARCH $")):
            assert w.cmd(command, tag)[-1].startswith(tag.encode() + b" BAD"), command
        # The BAD SELECT left INBOX selected.
        assert w.cmd("FETCH 1 (UID)", "k") == [b"* 1 FETCH (UID 1)", b"k OK FETCH completed"]
