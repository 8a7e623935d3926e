"""Inputs found by fuzz/ that once failed, kept so they never fail again."""

from __future__ import annotations

import mimekit
from mimekit import fields


def test_rfc2231_value_with_lone_surrogate() -> None:
    # A str from a caller may hold lone surrogates; percent-decoding it raised.
    for text in ("attachment; filename*=utf-8''a\udcdab", "text/plain; name*0*=''\ud800"):
        fields.parse_content_disposition(text)
        fields.parse_content_type(text)


def test_field_added_after_an_mbox_line_at_eof() -> None:
    raw = b"From a@b Mon Jan  1 00:00:00 2024"
    msg = mimekit.parse(raw)
    msg.headers.set("Subject", "x")
    again = mimekit.parse(bytes(msg))
    assert again.subject == "x" and again.mbox_from == raw + b"\r\n"


# -- found by the fuzz/ harnesses of issue 8 -----------------------------------------------

def _pieces(data: bytes, size: int) -> list[bytes]:
    return [data[i:i + size] for i in range(0, len(data), size)]


def test_smtp_data_delivers_up_to_the_size_limit_in_any_chunking() -> None:
    # One big chunk past SIZE delivered nothing, small chunks delivered up
    # to the limit: what a server got depended on how the bytes arrived.
    from mimekit.smtp._data import DataDecoder

    content = b"x" * 2000 + b"\r\n.\r\n"
    for size in (len(content), 7, 1):
        d = DataDecoder(max_size=1000)
        got = b"".join(d.feed(p)[0] for p in _pieces(content, size) if not d.done)
        assert d.done and d.too_big and got == b"x" * 1000


def test_smtp_and_pop3_content_with_runs_of_line_endings() -> None:
    # The decoders held back every CR/LF at the end of a chunk (quadratic on
    # long runs, see test_linear_time.py); any chunking must still agree.
    from mimekit.pop3._multiline import MultilineDecoder
    from mimekit.smtp._data import DataDecoder

    for body in (b"\r" * 50, b"\n" * 50, b"\r\n" * 25 + b".a\r\n", b"\r\n.\r" * 9):
        for cls, end in ((DataDecoder, b"\r\n.\r\n"), (MultilineDecoder, b"\r\n.\r\n")):
            results = []
            for size in (10**6, 5, 1):
                d = cls()
                got = b"".join(d.feed(p)[0] for p in _pieces(body + end, size) if not d.done)
                results.append((got, d.done, getattr(d, "bare_line_ending", None)))
            assert results[0] == results[1] == results[2], (cls.__name__, body)


def test_uudecoder_cuts_over_long_lines_at_the_same_places() -> None:
    # A line past the 4096-byte bound was cut wherever a chunk ended, so the
    # defect offsets depended on the chunking.
    from mimekit.codecs import UUDecoder, decode_uu

    data = b"?" * 4098
    whole = decode_uu(data)
    for size in (566, 1000, 4097, 1):
        d = UUDecoder()
        out = b"".join(d.feed(p) for p in _pieces(data, size)) + d.close()
        assert (out, d.defects) == whole


def test_domainless_mailbox_that_needs_quoting_round_trips() -> None:
    al, _ = fields.parse_address_list("\x14")
    out = fields.format_field("To", al)
    assert out == '<"\x14">' and fields.parse_address_list(out)[0] == al


def test_domains_without_a_valid_idna_form_are_refused() -> None:
    # IDNA mangled a non-ASCII domain literal, and nameprep maps U+00AF to a
    # space: both were written as domains that do not read back.
    for text in ('""@[\u00fc]', "a@\u00af", "Ned <ned@\u00afnnosoft.com>"):
        al, _ = fields.parse_address_list(text)
        try:
            out = fields.format_field("To", al)
        except ValueError:
            continue
        raise AssertionError(f"{text!r} written as {out!r}")
    assert fields.format_field("To", fields.parse_address_list("a@b\u00fccher.de")[0]) == \
        "a@xn--bcher-kva.de"


def test_prepended_field_after_an_orphan_continuation_line() -> None:
    # A block that starts with a continuation line glued it to the new field.
    for raw in (b" a", b" a\r\n b\r\nX: y\r\n\r\nbody"):
        msg = mimekit.parse(raw)
        msg.headers.add("X-Fuzz", "added", prepend=True)
        assert mimekit.parse(bytes(msg)).headers.text("X-Fuzz") == "added"


def test_parameter_name_too_long_to_write_is_refused() -> None:
    # An empty value with a name longer than a foldable run was dropped.
    ct, _ = fields.parse_content_type("text/plain; " + "n" * 1000 + '=""')
    try:
        out = fields.format_field("Content-Type", ct)
    except ValueError:
        return
    raise AssertionError(f"written as {out[:40]!r}")


def test_message_id_that_cannot_read_back_is_refused() -> None:
    for ident in ("a@(", "a@b)", "a\\@b"):
        try:
            out = fields.format_field("Message-ID", ident)
        except ValueError:
            continue
        assert fields.parse_message_id(out)[0] == ident, out
    assert fields.format_field("Message-ID", "a.b@c.d") == "<a.b@c.d>"


def test_received_fast_path_agrees_on_odd_for_addresses() -> None:
    from mimekit.fields._received import parse_received_slow

    for for_ in ("a@]", "a@[1.2.3.4]", '"a"@b', "a\\b@c"):
        text = f"from a (a [192.0.2.1]) by a with a id a for <{for_}>;Tue, 1 Jul 2003 01:03 +0200"
        assert fields.parse_received(text) == parse_received_slow(text), text


def test_return_path_refuses_a_group() -> None:
    # [Mailbox, empty Group] was written as the mailbox alone.
    al, _ = fields.parse_address_list("a@b.c, g:;")
    try:
        out = fields.format_field("Return-Path", al)
    except ValueError:
        return
    raise AssertionError(out)


def test_smtp_and_pop3_clients_do_not_pipeline_behind_auth() -> None:
    # The core let a command follow AUTH before its reply: a 334/"+"
    # challenge then made the server read that command as the SASL response.
    import pytest

    from mimekit import pop3, smtp

    c = smtp.ClientConnection()
    c.receive_data(b"220 hi\r\n250 ok\r\n")
    c.next_event()
    c.send(smtp.Ehlo(domain="x"))
    c.next_event()
    c.send(smtp.Auth(mechanism="LOGIN"))
    with pytest.raises(smtp.LocalProtocolError):
        c.send(smtp.Mail(sender="a@b"))
    p = pop3.ClientConnection()
    p.receive_data(b"+OK hi\r\n")
    p.next_event()
    p.send(pop3.Auth(mechanism="PLAIN"))
    with pytest.raises(pop3.LocalProtocolError):
        p.send(pop3.Stat())


def test_imap_literal_after_an_over_long_line_split_at_crlf() -> None:
    # When the CR of an over-long fragment's CRLF came in an earlier chunk,
    # the literal header before it went unseen: the literal was then read as
    # a new command (one BAD or two, depending on the chunking).
    from mimekit.imap import (
        NEED_DATA,
        ConnectionClosed,
        InvalidCommand,
        ServerConnection,
        StatusResponse,
    )

    def bads(pieces: list[bytes]) -> int:
        c = ServerConnection(max_line=40)
        c.send(StatusResponse(status="OK", text="hi"))
        n = 0
        for piece in [*pieces, b""]:
            c.receive_data(piece)
            while (e := c.next_event()) is not NEED_DATA:
                if isinstance(e, ConnectionClosed):
                    return n
                assert isinstance(e, InvalidCommand)
                c.send(e.response)
                n += 1
        return n

    data = b"a NOOP {0+}\r\n" * 10 + b"x\r\n"
    assert bads([data]) == bads(_pieces(data, 7)) == bads(_pieces(data, 1)) == 1


def test_imap_bad_response_to_8bit_arguments_can_be_written() -> None:
    # The BAD text quoted a data item with a surrogate escape: to_bytes()
    # raised UnicodeEncodeError in the adapter.
    from mimekit.imap import InvalidCommand, ServerConnection, StatusResponse

    c = ServerConnection()
    c.send(StatusResponse(status="PREAUTH", text="hi"))
    c.receive_data(b"a SELECT a\r\n")
    c.next_event()
    c.send(StatusResponse(tag="a", status="OK"))
    c.receive_data(b"b STORE 1 \xbd()\r\n")
    event = c.next_event()
    assert isinstance(event, InvalidCommand)
    assert b"\\udcbd" in c.send(event.response)


def test_copyuid_with_many_big_ranges_is_bounded() -> None:
    # Each range was bounded (10 million UIDs), the list was not: a short
    # COPYUID line from a hostile server could expand to billions of UIDs.
    from mimekit.imap._results import uid_list

    assert uid_list(",".join(["1:6000000"] * 3)) == ()
    assert uid_list("304,319:320,5:3") == (304, 319, 320, 5, 4, 3)


def test_imap_tag_with_8bit_bytes_gets_an_untagged_bad() -> None:
    # The core handed out a command with an 8-bit tag, and no tagged response
    # could carry it back (check_atom refused it): the adapter had to drop
    # the session. Such a line is now an error without a usable tag.
    from mimekit.imap import InvalidCommand, ServerConnection, StatusResponse

    c = ServerConnection()
    c.send(StatusResponse(status="PREAUTH", text="hi"))
    c.receive_data(b"\xe9t\xe9 NOOP\r\n")
    event = c.next_event()
    assert isinstance(event, InvalidCommand)
    assert event.tag is None
    assert c.send(event.response).startswith(b"* BAD ")
    c.receive_data(b"a1 NOOP\r\n")
    assert c.next_event().tag == "a1"


def test_imap_search_charset_with_8bit_bytes_is_unknown() -> None:
    # codecs.lookup raised UnicodeEncodeError on the surrogate escape.
    import pytest

    from mimekit.imap._search import SearchCharsetError, parse_search

    with pytest.raises(SearchCharsetError, match=r"\\udc9f"):
        parse_search([], "\udc9f")


def test_received_id_with_an_equals_sign_reads_back() -> None:
    # "id <=>" read as id "="; written back as "id =", which the tokenizer
    # splits at "=" (the fuzz edit target: Received:id<=>3Sep01 0:4).
    msg = mimekit.parse(b"Received: id <=>; 3 Sep 01 0:4 +0000\r\n\r\nx")
    value = msg.headers.get("Received").value
    assert value.id == "="
    msg.headers.set("Received", value)
    again = mimekit.parse(bytes(msg)).headers.get("Received").value
    assert again.id == "=" and again.date == value.date
