"""POP3 wire syntax: status lines, RESP-CODES, APOP, and multi-line
content with byte-stuffing both ways, under any chunking (Hypothesis)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mimekit.pop3 import Apop, Response, apop_digest
from mimekit.pop3._multiline import MultilineDecoder, MultilineEncoder
from mimekit.pop3._syntax import apop_timestamp, format_command, parse_response_line

# -- syntax -----------------------------------------------------------------------------


def test_status_lines_and_resp_codes() -> None:
    assert parse_response_line(b"+OK") == Response(ok=True)
    assert parse_response_line(b"+ok fine") == Response(ok=True, text="fine")
    assert parse_response_line(b"-ERR [SYS/TEMP] later") == Response(
        ok=False, text="later", code="SYS/TEMP")
    assert parse_response_line(b"-ERR [AUTH]") == Response(ok=False, code="AUTH")
    assert parse_response_line(b"-ERR [not a code") == Response(ok=False, text="[not a code")
    assert parse_response_line(b"-ERROR") is None
    assert str(Response(ok=False, text="busy", code="IN-USE")) == "-ERR [IN-USE] busy"


def test_apop() -> None:
    # RFC 1939 section 7's example.
    ts = apop_timestamp("POP3 server ready <1896.697170952@dbc.mtview.ca.us>")
    assert ts == "<1896.697170952@dbc.mtview.ca.us>"
    assert apop_digest(ts, "tanstaaf") == "c4c9334bac560ecc979e58001b3e22fb"
    assert apop_timestamp("Dovecot ready.") is None
    assert format_command(Apop(name="mrose", digest="c4c9334bac560ecc979e58001b3e22fb")) == (
        b"APOP mrose c4c9334bac560ecc979e58001b3e22fb\r\n")


# -- multi-line content: stuffing both ways, any chunking -----------------------------------


def canonical(data: bytes) -> bytes:
    """What a client receives for stored ``data``: bare LF made CRLF, and a
    final line ending if there was none. Bare CRs stay."""
    out = bytearray()
    for i, b in enumerate(data):
        if b == 0x0A and (i == 0 or data[i - 1] != 0x0D):
            out += b"\r"
        out.append(b)
    if out and not out.endswith(b"\r\n"):
        out += b"\r\n"
    return bytes(out)


def chunks(data: bytes, sizes: list[int]) -> list[bytes]:
    out, pos, i = [], 0, 0
    while pos < len(data):
        size = sizes[i % len(sizes)]
        out.append(data[pos:pos + size])
        pos += size
        i += 1
    return out


_CONTENT = st.lists(st.sampled_from([b"a", b".", b"\r", b"\n", b"\r\n", b".\r\n", b"\n.\n",
                                     b"..", b"x" * 7]), max_size=60).map(b"".join)


@given(_CONTENT | st.binary(max_size=400), st.lists(st.integers(1, 9), min_size=1, max_size=8),
       st.lists(st.integers(1, 9), min_size=1, max_size=8))
def test_content_survives_stuffing_and_any_chunking(data: bytes, enc_sizes: list[int],
                                                    dec_sizes: list[int]) -> None:
    enc = MultilineEncoder()
    wire = b"".join(enc.encode(c) for c in chunks(data, enc_sizes)) + enc.finish()
    assert wire.endswith(b".\r\n")
    dec = MultilineDecoder()
    got = b""
    rest = b""
    for piece in chunks(wire + b"+OK next\r\n", dec_sizes):
        if dec.done:
            rest += piece
            continue
        content, extra = dec.feed(piece)
        got += content
        rest += extra
    assert dec.done
    assert got == canonical(data)
    assert rest == b"+OK next\r\n"
    assert dec.size == len(got)


@given(_CONTENT, st.lists(st.integers(1, 9), min_size=1, max_size=8))
def test_line_ending_hint_changes_nothing_when_true(data: bytes, sizes: list[int]) -> None:
    hint = data.count(b"\n") == data.count(b"\r\n")  # what a Maildir's S= and W= say
    outs = []
    for crlf in (None, hint):
        enc = MultilineEncoder(crlf)
        outs.append(b"".join(enc.encode(c) for c in chunks(data, sizes)) + enc.finish())
    assert outs[0] == outs[1]


def test_wire_size_matches_the_virtual_size() -> None:
    data = b"a\nb\r\n.c\r\rd"
    enc = MultilineEncoder()
    wire = enc.encode(data) + enc.finish()
    # The content octets (without stuffing, final CRLF and marker) are the
    # size plus one per bare LF: Dovecot's W= and our LIST/STAT.
    assert len(canonical(data)) - 2 == len(data) + 1  # +2: the added final CRLF
    assert wire == b"a\r\nb\r\n..c\r\rd\r\n.\r\n"
