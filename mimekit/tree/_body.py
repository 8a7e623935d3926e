"""Undoing a Content-Transfer-Encoding, streamed in bounded memory.

RFC 2045 section 6.1::

    encoding  := "Content-Transfer-Encoding" ":" mechanism
    mechanism := "7bit" / "8bit" / "binary" / "quoted-printable" / "base64" /
                 ietf-token / x-token

The value is case-insensitive. 7bit, 8bit and binary are identities;
``x-uuencode`` (and its aliases) is decoded as CPython does; an unknown
mechanism gives the body unchanged with an
``unknown-transfer-encoding`` defect (RFC 2045 section 6.4 says to treat such
a body as application/octet-stream, which is what returning the bytes does).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from .._defects import Defect, DefectKind
from ..codecs import Base64Decoder, QPDecoder, UUDecoder
from ._source import Source

__all__ = ["IDENTITY_ENCODINGS", "decode_all", "iter_decoded"]

#: Mechanisms that leave the bytes as they are.
IDENTITY_ENCODINGS = frozenset({"", "7bit", "8bit", "binary"})
#: Labels old mailers use for uuencoded bodies (not in any RFC; CPython
#: decodes the same four).
UUENCODE_NAMES = frozenset({"x-uuencode", "uuencode", "x-uue", "uue"})
#: Read size while decoding; output chunks are about this size or smaller.
DEFAULT_CHUNK = 1 << 16


class _Decoder(Protocol):
    defects: list[Defect]

    def feed(self, chunk: bytes) -> bytes: ...

    def close(self) -> bytes: ...


def _decoder(cte: str, offset: int) -> _Decoder | None:
    if cte == "base64":
        return Base64Decoder(offset=offset)
    if cte == "quoted-printable":
        return QPDecoder(offset=offset)
    if cte in UUENCODE_NAMES:
        return UUDecoder(offset=offset)
    return None


def iter_decoded(
    source: Source,
    start: int,
    end: int,
    cte: str,
    defects: list[Defect],
    *,
    chunk_size: int = DEFAULT_CHUNK,
) -> Iterator[bytes]:
    """Yield the decoded bytes of ``[start, end)``; append defects to ``defects``.

    ``defects`` is filled as the generator runs, so it is complete only once
    the generator is exhausted. Empty chunks are never yielded.
    """
    decoder = _decoder(cte, start)
    if decoder is None:
        if cte not in IDENTITY_ENCODINGS:
            defects.append(Defect(kind=DefectKind.UNKNOWN_TRANSFER_ENCODING, offset=start,
                                  detail=f"unknown Content-Transfer-Encoding {cte!r}; "
                                  "body left as is"))
        yield from source.iter_range(start, end, chunk_size)
        return
    for chunk in source.iter_range(start, end, chunk_size):
        out = decoder.feed(chunk)
        if out:
            yield out
    out = decoder.close()
    if out:
        yield out
    defects.extend(decoder.defects)


def decode_all(source: Source, start: int, end: int, cte: str,
               defects: list[Defect]) -> bytes:
    """The whole decoded body at once (what ``get_bytes()`` returns)."""
    if cte in IDENTITY_ENCODINGS:
        return source.read(start, end)
    decoder = _decoder(cte, start)
    if decoder is None:
        return b"".join(iter_decoded(source, start, end, cte, defects))
    # One feed of the whole body: the decoders' fast paths work on big chunks.
    out = decoder.feed(source.read(start, end)) + decoder.close()
    defects.extend(decoder.defects)
    return out
