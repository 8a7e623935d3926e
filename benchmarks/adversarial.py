"""Adversarial input at sizes n and 10n: linear code takes about 10 times as
long on the big one, quadratic code about 100 times.

Every shape goes through the public API: ``mimekit.parse`` and reading the
value or body the shape attacks, or a protocol core fed the way its adapter
feeds it (received bytes in chunks, every event read). The message shapes
are the ones issue 8 lists, with the traps of CPython issues 87075 (``;;;;``
in a parameter list) and 136063 (header parsing that rescans or re-slices
what is left: unclosed quotes, comments, long address lists).

``python -m benchmarks --only adversarial`` prints, per shape, the times at
n and 10n and their ratio; ``tests/test_linear_time.py`` asserts the ratio
stays under 25 for every shape (it loads this file, so the shapes live in
one place). Timings are the minimum of several runs with the collector off.

Limits: shapes that a default limit would cut short (fields per header
block, encoded words per value, nesting depth) are run both with the
default limits (the limit path must be linear too) and with the limit
raised (the algorithm itself), via ``mimekit.parse(raw, limits=...)``.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import mimekit
from mimekit import Limits
from mimekit.codecs import decode_encoded_words

__all__ = ["SHAPES", "Shape", "measure", "render", "run"]

#: Limits raised far past every shape's size (the algorithm, not the limit).
NO_LIMITS = Limits(max_depth=10**6, max_parts=10**7, max_header_block=1 << 40,
                   max_header_fields=10**8, max_encoded_words=10**8)


@dataclass(frozen=True)
class Shape:
    """One adversarial shape.

    Attributes:
        name: What it is.
        make: The input for size parameter n.
        work: The timed work on that input.
        n: The small size (the big one is 10 n).
        known: Set for a shape that is superlinear by design, with the reason.
    """

    name: str
    make: Callable[[int], bytes]
    work: Callable[[bytes], object]
    n: int
    #: Why the shape is allowed to be superlinear (None: it must be linear).
    known: str | None = None


def _field(name: bytes, value: bytes) -> bytes:
    return name + b": " + value + b"\r\n\r\nbody\r\n"


def _parse_then(read: Callable[[mimekit.Message], object],
                limits: Limits | None = None) -> Callable[[bytes], object]:
    def work(raw: bytes) -> object:
        return read(mimekit.parse(raw, limits=limits))
    return work


def _walk_bodies(msg: mimekit.Message) -> int:
    return sum(len(p.get_bytes()) for p in msg.walk())


def _all_fields(msg: mimekit.Message) -> int:
    return sum(len(h.text) for h in msg.headers)


def _nested(n: int, boundary: Callable[[int], bytes]) -> bytes:
    """n multiparts, each the only part of the one before."""
    out = []
    for i in range(n):
        out.append(b"Content-Type: multipart/mixed; boundary=\"" + boundary(i) + b"\"\r\n\r\n"
                   b"--" + boundary(i) + b"\r\n")
    return b"".join(out) + b"\r\ninnermost\r\n"


def _prefix_boundaries(n: int) -> bytes:
    # 40 nested multiparts whose boundaries are prefixes of each other
    # ("b", "bb", "bbb"...), n parts at the bottom, and lines that are
    # near misses of every boundary ("--bbb" inside the "bbbb" part...).
    depth = 40
    head = b"".join(b"Content-Type: multipart/mixed; boundary=" + b"b" * (i + 1) + b"\r\n\r\n--"
                    + b"b" * (i + 1) + b"\r\n" for i in range(depth))
    inner = b"b" * depth
    parts = b"".join(b"\r\n--" + b"b" * (1 + i % (depth + 5)) + b"x\r\n--" + inner + b"\r\n"
                     for i in range(n))
    return head + b"\r\n" + parts + b"--" + inner + b"--\r\n"


# -- the protocol cores, driven as their adapters drive them ------------------------------


def _smtp_data(raw: bytes) -> int:
    from mimekit.smtp import NEED_DATA, MessageData, Reply, ServerConnection

    conn = ServerConnection(max_size=None)
    conn.send(Reply(code=220))
    conn.receive_data(b"EHLO a\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n")
    for _ in range(4):
        conn.next_event()
        conn.send(Reply(code=354 if _ == 3 else 250))
    size = 0
    for i in range(0, len(raw), 4096):
        conn.receive_data(raw[i:i + 4096])
        while (event := conn.next_event()) is not NEED_DATA:
            if isinstance(event, MessageData):
                size += len(event.data)
            else:
                return size
    return size


def _smtp_pipelined(raw: bytes) -> int:
    from mimekit.smtp import NEED_DATA, Reply, ServerConnection

    conn = ServerConnection()
    conn.send(Reply(code=220))
    conn.receive_data(raw)
    count = 0
    while conn.next_event() is not NEED_DATA:
        conn.send(Reply(code=250))
        count += 1
    return count


def _pop3_retr(raw: bytes) -> int:
    from mimekit.pop3 import NEED_DATA, ClientConnection, Pass, ResponseData, Retr, User

    conn = ClientConnection()
    conn.receive_data(b"+OK hi\r\n")
    conn.next_event()
    conn.send(User(name="a"))
    conn.send(Pass(password="b"))
    conn.receive_data(b"+OK\r\n+OK\r\n")
    conn.next_event()
    conn.next_event()
    conn.send(Retr(msg=1))
    conn.receive_data(b"+OK\r\n")
    conn.next_event()
    size = 0
    for i in range(0, len(raw), 4096):
        conn.receive_data(raw[i:i + 4096])
        while (event := conn.next_event()) is not NEED_DATA:
            if isinstance(event, ResponseData):
                size += len(event.data)
            else:
                return size
    return size


def _imap_server(raw: bytes, chunk: int = 4096) -> int:
    from mimekit.imap import (
        NEED_DATA,
        ContinuationRequest,
        InvalidCommand,
        LiteralAnnounced,
        ServerConnection,
        StatusResponse,
    )

    conn = ServerConnection(max_line=1 << 40, max_literal=1 << 40)
    conn.send(StatusResponse(status="PREAUTH", text="hi"))
    count = 0
    for i in range(0, len(raw), chunk):
        conn.receive_data(raw[i:i + chunk])
        while (event := conn.next_event()) is not NEED_DATA:
            count += 1
            if isinstance(event, LiteralAnnounced):
                conn.send(ContinuationRequest(text="go"))
            elif isinstance(event, InvalidCommand):
                conn.send(event.response)
            else:
                conn.send(StatusResponse(tag=getattr(event, "tag", "x"), status="OK"))
    return count


def _imap_client(raw: bytes) -> int:
    from mimekit.imap import NEED_DATA, ClientConnection

    conn = ClientConnection()
    conn.receive_data(b"* PREAUTH hi\r\n")
    conn.next_event()
    count = 0
    for i in range(0, len(raw), 4096):
        conn.receive_data(raw[i:i + 4096])
        while conn.next_event() is not NEED_DATA:
            count += 1
    return count


def _ct(read: Callable[[Any], object]) -> Callable[[mimekit.Message], object]:
    return lambda m: read(m.content_type)


SHAPES: list[Shape] = [
    # Parameters: CPython 87075 (";;;;") and the unclosed-quote variants of 136063.
    Shape("runs of ';' in parameters", lambda n: _field(b"Content-Type", b"text/plain" + b";" * n),
          _parse_then(_ct(lambda ct: dict(ct.params))), 5_000),
    Shape("';' runs between parameters",
          lambda n: _field(b"Content-Type", b"text/plain; a=b" + b";" * n + b" c=d"),
          _parse_then(_ct(lambda ct: dict(ct.params))), 5_000),
    Shape("';' runs in an unclosed quote",
          lambda n: _field(b"Content-Type", b'text/plain; s="' + b";" * n),
          _parse_then(_ct(lambda ct: dict(ct.params))), 20_000),
    Shape("thousands of parameters",
          lambda n: _field(b"Content-Type", b"text/plain" + b"".join(
              b"; p%d=v" % i for i in range(n))),
          _parse_then(_ct(lambda ct: dict(ct.params))), 2_000),
    Shape("thousands of RFC 2231 sections",
          lambda n: _field(b"Content-Disposition", b"attachment" + b"".join(
              b"; filename*%d*=%%41" % i for i in range(n))),
          _parse_then(lambda m: m.filename), 1_000),
    Shape("RFC 2231 sections in reverse order",
          lambda n: _field(b"Content-Disposition", b"attachment" + b"".join(
              b"; filename*%d*=%%41" % i for i in reversed(range(n)))),
          _parse_then(lambda m: m.filename), 1_000),
    # Multipart structure.
    Shape("thousands of boundaries",
          lambda n: b"Content-Type: multipart/mixed; boundary=b\r\n\r\n"
          + b"--b\r\n\r\nx\r\n" * n + b"--b--\r\n",
          _parse_then(_walk_bodies, NO_LIMITS), 1_000),
    Shape("boundaries that are prefixes of each other", _prefix_boundaries,
          _parse_then(_walk_bodies), 200),
    Shape("near-miss boundary lines",
          lambda n: b"Content-Type: multipart/mixed; boundary=" + b"a" * 70 + b"\r\n\r\n--"
          + b"a" * 70 + b"\r\n\r\n" + b"".join(b"--" + b"a" * (i % 70) + b"\r\n" for i in range(n))
          + b"--" + b"a" * 70 + b"--\r\n",
          _parse_then(_walk_bodies), 5_000),
    Shape("very deep multipart nesting (default depth limit)",
          lambda n: _nested(n, lambda i: b"b%d" % i), _parse_then(_walk_bodies), 500),
    Shape("very deep multipart nesting (no depth limit)",
          lambda n: _nested(n, lambda i: b"b%d" % i), _parse_then(_walk_bodies, NO_LIMITS), 300,
          known="each unclosed level scans the rest of the message for its delimiter: "
                "O(depth x size), which Limits.max_depth (default 100) bounds"),
    Shape("very deep message/rfc822 nesting (no depth limit)",
          lambda n: b"Content-Type: message/rfc822\r\n\r\n" * n + b"\r\nx\r\n",
          _parse_then(_walk_bodies, NO_LIMITS), 300),
    # Header fields.
    Shape("thousands of encoded words (default limit)",
          lambda n: _field(b"Subject", b"=?utf-8?q?a?= " * n), _parse_then(lambda m: m.subject),
          2_000),
    # Limits.max_encoded_words is not applied by the tree (the decoder's own
    # default of 1000 is), so the decoder is timed directly past that limit.
    Shape("thousands of encoded words (decode_encoded_words, no limit)",
          lambda n: b"=?utf-8?q?a?= " * n,
          lambda raw: decode_encoded_words(raw.decode(), max_words=10**9), 2_000),
    Shape("thousands of adjacent encoded words (no limit)",
          lambda n: b"=?utf-8?b?w6k=?=" * n,
          lambda raw: decode_encoded_words(raw.decode(), max_words=10**9), 2_000),
    Shape("encoded words in thousands of display names",
          lambda n: _field(b"To", b", ".join(b"=?utf-8?q?a=C3=A9?= <a@b.c>" for _ in range(n))),
          _parse_then(lambda m: m.to), 1_000),
    Shape("tens of thousands of header fields (default limit)",
          lambda n: b"X-A: b\r\n" * n + b"Subject: s\r\n\r\nbody",
          _parse_then(_all_fields), 10_000),
    Shape("tens of thousands of header fields (no limit)",
          lambda n: b"X-A: b\r\n" * n + b"Subject: s\r\n\r\nbody",
          _parse_then(_all_fields, NO_LIMITS), 10_000),
    Shape("long folded header",
          lambda n: _field(b"Subject", b"a\r\n " * n), _parse_then(lambda m: m.subject), 20_000),
    Shape("long address lists",
          lambda n: _field(b"To", b", ".join(b"u%d@example.com" % i for i in range(n))),
          _parse_then(lambda m: m.to), 2_000),
    Shape("long address lists with quoted names",
          lambda n: _field(b"To", b", ".join(b'"U, %d" <u%d@example.com>' % (i, i)
                                             for i in range(n))),
          _parse_then(lambda m: m.to), 2_000),
    Shape("groups", lambda n: _field(b"To", b"g: a@b, c@d; " * n), _parse_then(lambda m: m.to),
          300),
    Shape("deeply nested comments",
          lambda n: _field(b"From", b"(" * n + b"x" + b")" * n + b" a@b.c"),
          _parse_then(lambda m: m.from_), 5_000),
    Shape("unclosed comments", lambda n: _field(b"From", b"(" * n + b" a@b.c"),
          _parse_then(lambda m: m.from_), 5_000),
    Shape("unclosed quote in an address list",
          lambda n: _field(b"To", b'"' + b"a, <b@c.d> " * n), _parse_then(lambda m: m.to), 5_000),
    Shape("many unclosed quotes", lambda n: _field(b"To", b'a "' * n),
          _parse_then(lambda m: m.to), 5_000),
    Shape("unclosed quote in a parameter",
          lambda n: _field(b"Content-Type", b'text/plain; a="' + b"x; b=c " * n),
          _parse_then(_ct(lambda ct: dict(ct.params))), 5_000),
    Shape("dots in a phrase", lambda n: _field(b"From", b"a." * n + b" <a@b>"),
          _parse_then(lambda m: m.from_), 10_000),
    Shape("message-id junk", lambda n: _field(b"References", b"x <" * n),
          _parse_then(lambda m: m.references), 2_000),
    Shape("Received with comments and clauses",
          lambda n: _field(b"Received", b"from a (" + b"(x) " * n + b") by b " + b"with x " * n
                           + b"; 1 Jul 2003 10:00 +0000"),
          _parse_then(lambda m: m.headers.value("Received")), 2_000),
    # Bodies.
    Shape("long runs of quoted-printable soft breaks",
          lambda n: b"Content-Transfer-Encoding: quoted-printable\r\n\r\n" + b"=\r\n" * n,
          _parse_then(_walk_bodies), 20_000),
    Shape("quoted-printable '=' runs",
          lambda n: b"Content-Transfer-Encoding: quoted-printable\r\n\r\n" + b"= " * n,
          _parse_then(_walk_bodies), 20_000),
    Shape("base64 junk",
          lambda n: b"Content-Transfer-Encoding: base64\r\n\r\n" + b"*a!=\r\n" * n,
          _parse_then(_walk_bodies), 3_000),
    # Protocol cores (issue 8, found while fuzzing: runs of line endings were
    # held back and rescanned on every chunk).
    Shape("SMTP DATA: runs of CRLF (empty lines)", lambda n: b"\r\n" * n + b".\r\n",
          _smtp_data, 50_000),
    Shape("SMTP DATA: runs of bare CR", lambda n: b"\r" * n + b"\r\n.\r\n", _smtp_data, 50_000),
    Shape("SMTP DATA: runs of bare LF", lambda n: b"\n" * n + b"\r\n.\r\n", _smtp_data, 50_000),
    Shape("SMTP: thousands of pipelined commands", lambda n: b"NOOP\r\n" * n,
          _smtp_pipelined, 2_000),
    Shape("POP3 RETR: runs of LF", lambda n: b"\n" * n + b"\r\n.\r\n", _pop3_retr, 50_000),
    Shape("IMAP: one long command line in 7-byte chunks",
          lambda n: b"a NOOP " + b"x " * n + b"\r\n", lambda raw: _imap_server(raw, 7), 5_000),
    Shape("IMAP: thousands of literals in one command",
          lambda n: b"a LOGIN " + b"{1}\r\nx " * n + b"\r\n", _imap_server, 1_000),
    Shape("IMAP: deeply nested lists in a response",
          lambda n: b"* X " + b"(" * min(n, 90) + b"a " * n + b")" * min(n, 90) + b"\r\n",
          _imap_client, 20_000),
]


def measure(shape: Shape, repeat: int = 3) -> tuple[float, float]:
    """``(seconds at n, seconds at 10 n)``, each the best of ``repeat`` runs."""
    small, big = shape.make(shape.n), shape.make(10 * shape.n)
    shape.work(small)  # warm caches: regex compilation, lazy imports

    def best(data: bytes) -> float:
        out = float("inf")
        for _ in range(repeat):
            gc.collect()
            gc.disable()  # a collection inside one run is noise, not complexity
            try:
                start = time.perf_counter()
                shape.work(data)
                out = min(out, time.perf_counter() - start)
            finally:
                gc.enable()
        return out

    return best(small), best(big)


def ratio(times: tuple[float, float]) -> float:
    """time(10 n) / time(n); below ~20 us the clock is noise, so n counts as that."""
    return times[1] / max(times[0], 2e-5)


def run(log: Callable[[str], None] = print, repeat: int = 3) -> list[dict[str, Any]]:
    """Measure every shape; one dict per shape."""
    out = []
    for shape in SHAPES:
        small, big = measure(shape, repeat)
        out.append({"shape": shape.name, "n": shape.n, "seconds_n": small,
                    "seconds_10n": big, "ratio": ratio((small, big)), "known": shape.known})
        log(f"adversarial: {shape.name}: x{out[-1]['ratio']:.1f}")
    return out


def render(results: list[dict[str, Any]]) -> list[str]:
    """The results as a Markdown table (lines)."""
    lines = ["", "Adversarial shapes at n and 10n (linear: ratio near 10; the tests allow < 25):",
             "", "| shape | n | time(n) ms | time(10n) ms | ratio |", "|---|---:|---:|---:|---:|"]
    for r in results:
        flag = "" if r["ratio"] < 25 else " (by design, see below)" if r.get("known") \
            else " **superlinear?**"
        lines.append(f"| {r['shape']} | {r['n']} | {r['seconds_n'] * 1e3:.2f} | "
                     f"{r['seconds_10n'] * 1e3:.2f} | {r['ratio']:.1f}{flag} |")
    lines += [f"\n{r['shape']}: {r['known']}." for r in results if r.get("known")]
    return lines


if __name__ == "__main__":
    print("\n".join(render(run())))
