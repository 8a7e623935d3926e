"""Codec targets: base64, quoted-printable, uuencode, yEnc.

Each decoder never raises on input; the incremental decoders give the same
bytes and defects for any chunking; offsets shift with ``offset=``; and the
generators encode random payloads (with stdlib encoders, or the small yEnc
encoder here) so that decoding them must give the payload back, defect-free.
"""

from __future__ import annotations

import base64 as _b64
import binascii
import quopri
import random
import zlib
from collections.abc import Callable, Iterable

from mimekit import DefectKind, codecs

from ._common import chunkings

__all__ = ["CODEC_TARGETS", "yenc_encode"]

#: Generated inputs carry a marker line (payload size and a CRC of the rest,
#: so that a mutated one is not taken for a round trip): the payload follows,
#: then its encoding, which must decode to it exactly.
_ROUND_TRIP = b"ROUND-TRIP "


def _kinds(defects: Iterable[object]) -> set[object]:
    return {getattr(d, "kind", d) for d in defects}


def _split_marker(data: bytes) -> tuple[bytes | None, bytes]:
    """``(payload, encoded)`` for a generated input, ``(None, data)`` else."""
    if not data.startswith(_ROUND_TRIP):
        return None, data
    head, _, rest = data.partition(b"\n")
    try:
        n, crc = (int(x) for x in head[len(_ROUND_TRIP):].split(b" "))
    except ValueError:
        return None, data
    if n > len(rest) or zlib.crc32(b"%d" % n + rest) != crc:
        return None, data  # a mutated round trip: just bytes now
    return rest[:n], rest[n:]


def _chunked(decoder: object, data: bytes) -> list[tuple[bytes, list[object]]]:
    out = []
    for pieces in chunkings(data):
        dec = decoder() if callable(decoder) else decoder
        got = b"".join(dec.feed(p) for p in pieces) + dec.close()
        out.append((got, list(dec.defects)))
    return out


def base64(data: bytes) -> set[object]:
    """base64: never raises; any chunking decodes the same; a stdlib-encoded
    payload decodes back."""
    payload, encoded = _split_marker(data)
    whole, defects = codecs.decode_base64(encoded)
    for got in _chunked(codecs.Base64Decoder, encoded):
        assert got == (whole, defects), "chunked decoding differs"
    if payload is not None:
        assert whole == payload and not defects, (whole[:60], defects)
    assert codecs.decode_base64(codecs.encode_base64(whole))[0] == whole
    return _kinds(defects)


def qp(data: bytes) -> set[object]:
    """quoted-printable: never raises; any chunking decodes the same; what
    encode_qp writes decodes back (text and binary mode)."""
    payload, encoded = _split_marker(data)
    whole, defects = codecs.decode_qp(encoded)
    for got in _chunked(codecs.QPDecoder, encoded):
        assert got == (whole, defects), "chunked decoding differs"
    if payload is not None:
        # quopri (the generator's encoder) sometimes writes a 77-character
        # line; the defect is right, the bytes must still come back.
        real = [d for d in defects if d.kind is not DefectKind.QP_LINE_TOO_LONG]
        assert whole == payload and not real, (whole[:60], real)
    for binary in (False, True):
        again = codecs.encode_qp(whole, binary=binary)
        assert max(map(len, again.split(b"\n")), default=0) <= 77, "encoded line too long"
        back, more = codecs.decode_qp(again)
        if binary:
            assert back == whole and not more, (whole[:60], again[:120])
        else:
            # Text mode: CRLF and bare LF are line breaks, written CRLF; a bare CR is =0D.
            norm = whole.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
            assert back == norm and not more, (whole[:60], again[:120])
    return _kinds(defects)


def uu(data: bytes) -> set[object]:
    """uuencode: never raises; any chunking decodes the same; blocks found in
    text are ordered, inside the text, shifted by ``offset``; an encoded
    payload decodes back."""
    payload, encoded = _split_marker(data)
    whole, defects = codecs.decode_uu(encoded)
    for got in _chunked(codecs.UUDecoder, encoded):
        assert got == (whole, defects), "chunked decoding differs"
    blocks = codecs.find_uu(encoded)
    last = 0
    for b in blocks:
        assert last <= b.start < b.stop <= len(encoded), (b.start, b.stop, len(encoded))
        last = b.stop
        _ = b.filename
    shifted = codecs.find_uu(encoded, offset=1000)
    assert [(b.start + 1000, b.stop + 1000, b.data) for b in blocks] == \
        [(b.start, b.stop, b.data) for b in shifted], "offset changes the blocks"
    if payload is not None:
        assert whole == payload and not defects, (whole[:60], defects)
        assert blocks and blocks[0].data == payload and not blocks[0].defects
    return _kinds(defects) | {("blocks", min(len(blocks), 3))}


def yenc(data: bytes) -> set[object]:
    """yEnc: never raises; blocks are ordered and inside the text; offsets
    shift; joining raises only YEncJoinError; an encoded payload (one part
    or several) decodes back with its CRCs checked."""
    payload, encoded = _split_marker(data)
    _, defects = codecs.decode_yenc(encoded)
    blocks = codecs.find_yenc(encoded)
    last = 0
    for b in blocks:
        assert last <= b.start < b.stop <= len(encoded), (b.start, b.stop, len(encoded))
        last = b.stop
        _ = b.filename
    shifted = codecs.find_yenc(encoded, offset=7)
    assert [(b.start + 7, b.data, b.complete) for b in blocks] == \
        [(b.start, b.data, b.complete) for b in shifted], "offset changes the blocks"
    try:
        joined, join_defects = codecs.join_yenc(blocks)
    except codecs.YEncJoinError:
        joined, join_defects = None, []
    if payload is not None:
        assert joined == payload, (payload[:40], joined and joined[:40])
        assert not join_defects and not any(b.defects for b in blocks), join_defects
    return _kinds(defects) | _kinds(join_defects) | {("blocks", min(len(blocks), 3))}


# -- encoders for the generators ------------------------------------------------------------


def yenc_encode(payload: bytes, name: bytes = b"f.bin", *, line: int = 128,
                parts: int = 1, crlf: bool = True) -> bytes:
    """yEnc 1.3 (one part, or ``parts`` parts with ``=ypart``), for seeds
    and round trips."""
    nl = b"\r\n" if crlf else b"\n"
    out = []
    total_crc = zlib.crc32(payload)
    step = max(-(-len(payload) // parts), 1)
    pieces = [payload[i:i + step] for i in range(0, len(payload), step)] or [b""]
    for number, piece in enumerate(pieces, 1):
        if len(pieces) > 1:
            begin = (number - 1) * step + 1
            out.append(b"=ybegin part=%d total=%d line=%d size=%d name=%s" %
                       (number, len(pieces), line, len(payload), name) + nl)
            out.append(b"=ypart begin=%d end=%d" % (begin, begin + len(piece) - 1) + nl)
        else:
            out.append(b"=ybegin line=%d size=%d name=%s" % (line, len(payload), name) + nl)
        row = bytearray()
        for byte in piece:
            o = (byte + 42) & 0xFF
            if o in (0, 10, 13, 61) or (o in (9, 32) and not row) or (o == 46 and not row):
                row += bytes((61, (o + 64) & 0xFF))
            else:
                row.append(o)
            if len(row) >= line:
                out.append(bytes(row) + nl)
                row.clear()
        if row:
            if row[-1] in (9, 32):
                row[-1:] = bytes((61, (row[-1] + 64) & 0xFF))
            out.append(bytes(row) + nl)
        if len(pieces) > 1:
            out.append(b"=yend size=%d part=%d pcrc32=%08x crc32=%08x" %
                       (len(piece), number, zlib.crc32(piece), total_crc) + nl)
        else:
            out.append(b"=yend size=%d crc32=%08x" % (len(piece), total_crc) + nl)
    return b"".join(out)


def _payload(rng: random.Random) -> bytes:
    kind = rng.randrange(4)
    n = rng.choice((0, 1, 2, 3, 44, 45, 46, 57, 76, 100, 1000, rng.randint(0, 5000)))
    if kind == 0:
        return rng.randbytes(n)
    if kind == 1:
        return bytes(rng.choice(b"\r\n.= \t\x00=\xff") for _ in range(n))
    if kind == 2:
        return bytes(rng.choice(b"abc \r\n") for _ in range(n))
    return bytes(range(256)) * (n // 256 + 1)


def _wrap(payload: bytes, encoded: bytes) -> bytes:
    rest = payload + encoded
    crc = zlib.crc32(b"%d" % len(payload) + rest)
    return _ROUND_TRIP + b"%d %d\n" % (len(payload), crc) + rest


def gen_base64(rng: random.Random) -> bytes:
    payload = _payload(rng)
    enc = _b64.encodebytes(payload)
    if rng.random() < 0.5:
        enc = enc.replace(b"\n", b"\r\n")
    return _wrap(payload, enc)


def gen_qp(rng: random.Random) -> bytes:
    payload = bytes(c for c in _payload(rng) if c not in b"\r\n") if rng.random() < 0.5 \
        else _payload(rng).replace(b"\r", b"")
    enc = quopri.encodestring(payload, quotetabs=rng.random() < 0.5)
    # quopri leaves the line endings as given; a decoder gives LF back as LF.
    return _wrap(payload, enc)


def gen_uu(rng: random.Random) -> bytes:
    payload = _payload(rng)
    nl = rng.choice((b"\n", b"\r\n"))
    lines = [b"begin 644 f.bin"]
    lines += [binascii.b2a_uu(payload[i:i + 45]).rstrip(b"\n")
              for i in range(0, len(payload), 45)]
    lines += [b"`", b"end"]
    enc = nl.join(lines) + nl
    if rng.random() < 0.5:
        enc = b"some text before" + nl + enc + b"and after" + nl
    return _wrap(payload, enc)


def gen_yenc(rng: random.Random) -> bytes:
    payload = _payload(rng)
    enc = yenc_encode(payload, line=rng.choice((16, 128, 255)), parts=rng.choice((1, 1, 2, 3)),
                      crlf=rng.random() < 0.7)
    if rng.random() < 0.5:
        enc = b"text before\r\n" + enc + b"text after\r\n"
    return _wrap(payload, enc)


CODEC_SEEDS: tuple[bytes, ...] = (
    b"aGVsbG8gd29ybGQ=\r\n", b"YQ==YQ==\r\n!!\r\n", b"caf=C3=A9 =\r\nsoft", b"=\r\n=3D=\n=4",
    b"begin 644 a.txt\n#86)C\n`\nend\n", b"begin 600 x\r\nM86)C\r\n \r\nend",
    b"=ybegin line=128 size=3 name=a\r\n\x8b\x8c\x8d\r\n=yend size=3\r\n",
)


CODEC_TARGETS: dict[str, tuple[Callable[[bytes], object], Callable[[random.Random], bytes]]] = {
    "base64": (base64, gen_base64),
    "qp": (qp, gen_qp),
    "uu": (uu, gen_uu),
    "yenc": (yenc, gen_yenc),
}
