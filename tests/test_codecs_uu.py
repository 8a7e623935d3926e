"""uuencode (the x-uuencode transfer encoding): vectors, stdlib parity, chunking."""

from __future__ import annotations

import binascii
import email
import email.policy

from hypothesis import given
from hypothesis import strategies as st

import mimekit
from mimekit import DefectKind
from mimekit.codecs import UUDecoder, decode_uu


def uuencode(data: bytes, name: str = "f.bin", nl: bytes = b"\n") -> bytes:
    lines = [b"begin 644 " + name.encode()]
    lines += [binascii.b2a_uu(data[i:i + 45]).rstrip(b"\n") for i in range(0, len(data), 45)]
    return nl.join([*lines, b"`", b"end", b""])


@given(st.binary(max_size=500), st.sampled_from([b"\n", b"\r\n"]))
def test_round_trip_and_chunking(data: bytes, nl: bytes) -> None:
    enc = b"some text before\n" + uuencode(data, nl=nl) + b"trailing junk\n"
    out, defects = decode_uu(enc)
    assert out == data and defects == []
    dec = UUDecoder()
    got = b"".join(dec.feed(enc[i:i + 1]) for i in range(len(enc))) + dec.close()
    assert got == data and dec.defects == [] and dec.filename == "f.bin"


def test_without_begin_the_body_is_kept() -> None:
    out, defects = decode_uu(b"not uuencoded at all\n")
    assert out == b"not uuencoded at all\n"
    assert [d.kind for d in defects] == [DefectKind.UUENCODE_INVALID]


def test_missing_end_and_damaged_line() -> None:
    enc = uuencode(b"hello world")
    damaged = enc.replace(b"\n`\nend\n", b"EXTRA\n")
    out, defects = decode_uu(damaged)
    assert out == b"hello world"
    assert {d.kind for d in defects} == {DefectKind.UUENCODE_INVALID}


def test_same_as_compat32_in_a_message() -> None:
    payload = bytes(range(200))
    raw = (b"Content-Type: application/octet-stream\nContent-Transfer-Encoding: x-uuencode\n\n"
           + uuencode(payload))
    std = email.message_from_bytes(raw, policy=email.policy.compat32).get_payload(decode=True)
    msg = mimekit.parse(raw)
    assert msg.get_bytes() == std == payload
    assert msg.defects == ()
