"""Helpers the targets share: seeds from the corpus, and chunkings."""

from __future__ import annotations

import random
import zlib
from functools import cache
from pathlib import Path
from typing import Any

from mimekit.fields._idna import to_ascii

__all__ = ["CORPUS", "ClientDriverBase", "chunkings", "corpus_messages", "cut", "same_domain",
           "text"]

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "corpus"

#: Files of the corpus that are expected outputs or documentation, not mail.
_NOT_MAIL = {".xml", ".out", ".json", ".md", ".pub", ".jpg"}


@cache
def corpus_messages(max_size: int = 100_000) -> tuple[bytes, ...]:
    """The corpus files that hold mail (messages, mbox files, encoded
    bodies), smallest first so a short run still sees many of them."""
    files = [p for p in CORPUS.rglob("*")
             if p.is_file() and p.suffix.lower() not in _NOT_MAIL
             and "LICENSE" not in p.name and p.stat().st_size < max_size]
    files.sort(key=lambda p: (p.stat().st_size, str(p)))
    return tuple(p.read_bytes() for p in files) or (b"Subject: x\r\n\r\nbody",)


def cut(data: bytes, points: list[int]) -> list[bytes]:
    """``data`` cut at the given offsets."""
    out, prev = [], 0
    for p in points:
        out.append(data[prev:p])
        prev = p
    out.append(data[prev:])
    return out


def chunkings(data: bytes, *, small: int = 4000) -> list[list[bytes]]:
    """Other ways the same bytes may arrive: a few random cuts (the same
    ones for the same input, so a failure replays), and byte-at-a-time for
    short inputs (tiny pieces for longer ones)."""
    rng = random.Random(zlib.crc32(data))
    n = len(data)
    points = sorted({rng.randint(0, n) for _ in range(rng.randint(1, 8))}) if n else []
    ways = [cut(data, points)]
    step = 1 if n <= small else rng.choice((3, 7, 13))
    ways.append([data[i:i + step] for i in range(0, n, step)])
    return ways


def text(data: bytes) -> str:
    """Bytes as the ``str`` a field parser gets (undecodable bytes kept as
    surrogate escapes, as the tree does for raw 8-bit headers)."""
    return data.decode("utf-8", "surrogateescape")


def same_domain(domain: str) -> str:
    """A domain as IDNA2008 writes it (A-labels), to compare domains that
    are the same for DNS although written differently."""
    try:
        return to_ascii(domain).lower()
    except ValueError:
        return domain.lower()


class ClientDriverBase:
    """The read loop the client targets share: act (send what the plan
    allows), read events until more bytes are needed, and stop at the end
    of the session or at a protocol error. A subclass sets ``conn``,
    ``log``, ``features``, the protocol's ``need_data``, ``closed_type`` and
    ``remote_error``, and implements :meth:`act` and :meth:`handle`."""

    conn: Any
    need_data: Any
    closed_type: type
    remote_error: type[Exception]
    log: list[tuple[object, ...]]
    features: set[object]
    finished = False
    _eof = False

    def act(self) -> bytes:
        raise NotImplementedError

    def handle(self, event: Any) -> bytes:
        """One event other than NEED_DATA and the close; returns what was
        sent in answer."""
        raise NotImplementedError

    def pump(self, act: bool = True) -> bytes:
        """Act and read events until more bytes are needed or the session is
        over (closed, broken by a protocol error, or at the TLS handshake);
        return what was sent. ``act=False`` only reads."""
        sent = bytearray()
        while not self.finished:
            if act:
                sent += self.act()
            try:
                event = self.conn.next_event()
            except self.remote_error as exc:
                self.log.append(("error", type(exc).__name__))
                self.features.add(("error", str(exc)[:30]))
                self.finished = True
                break
            if event is self.need_data:
                break
            if isinstance(event, self.closed_type):
                self.log.append(("closed",))
                self.finished = True
                break
            sent += self.handle(event)
        return bytes(sent)

    def receive(self, data: bytes) -> None:
        """Bytes from the server (``b""``: the end of input)."""
        if not self.finished and not self._eof:
            self.conn.receive_data(data)
            self._eof = not data
