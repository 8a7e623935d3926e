"""Helpers for the IMAP server-side tests: a small standalone IMAP response
parser (the protocol core is written in parallel), the normalization used to
compare our FETCH data with Dovecot's, and a private Dovecot fixture.

The parser understands what FETCH responses contain (RFC 3501 section 9):
``NIL``, numbers, atoms (``BODY[1]<0>`` and ``BODY[HEADER.FIELDS (A B)]``
included), quoted strings and ``{n}`` literals, and nested lists.
"""

from __future__ import annotations

import contextlib
import imaplib
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

PEERS = Path(os.environ.get("MIMEKIT_PEERS",
                            Path(__file__).resolve().parent.parent.parent / "shared" / "peers"))

#: Parsed IMAP data: None (NIL), int, str (quoted, literal or atom) or a tuple.
Item = Any

_ATOM_END = frozenset(b' ()"{\r\n')


class ParseError(ValueError):
    pass


def parse_items(data: bytes) -> tuple[Item, ...]:
    """Parse a sequence of IMAP data items (e.g. a FETCH response's list
    contents, or a whole untagged line) into nested tuples.

    Quoted strings and literals give ``str`` (UTF-8 with surrogate escapes,
    so raw 8-bit bytes survive); atoms made of digits give ``int``; ``NIL``
    gives None; other atoms give ``str``.
    """
    items, _pos = _parse_seq(data, 0, top=True)
    return tuple(items)


def _parse_seq(data: bytes, pos: int, *, top: bool) -> tuple[list[Item], int]:
    out: list[Item] = []
    n = len(data)
    while pos < n:
        c = data[pos]
        if c in (0x20, 0x0D, 0x0A):
            pos += 1
            continue
        if c == 0x29:  # ")"
            if top:
                raise ParseError(f"unbalanced ) at {pos}")
            return out, pos + 1
        if c == 0x28:  # "("
            sub, pos = _parse_seq(data, pos + 1, top=False)
            out.append(tuple(sub))
            continue
        if c == 0x22:  # quoted
            buf = bytearray()
            pos += 1
            while True:
                if pos >= n:
                    raise ParseError("unterminated quoted string")
                ch = data[pos]
                if ch == 0x5C:
                    buf.append(data[pos + 1])
                    pos += 2
                    continue
                if ch == 0x22:
                    pos += 1
                    break
                buf.append(ch)
                pos += 1
            out.append(bytes(buf).decode("utf-8", "surrogateescape"))
            continue
        if c == 0x7B:  # literal
            close = data.index(b"}", pos)
            size = int(data[pos + 1:close].rstrip(b"+"))
            start = close + 1
            if data.startswith(b"\r\n", start):
                start += 2
            out.append(data[start:start + size].decode("utf-8", "surrogateescape"))
            pos = start + size
            continue
        start = pos
        depth = 0
        while pos < n:
            ch = data[pos]
            if ch == 0x5B:
                depth += 1
            elif ch == 0x5D:
                depth -= 1
            elif depth <= 0 and ch in _ATOM_END:
                break
            pos += 1
        atom = data[start:pos].decode("utf-8", "surrogateescape")
        if atom.upper() == "NIL":
            out.append(None)
        elif atom.isdigit():
            out.append(int(atom))
        else:
            out.append(atom)
    if not top:
        raise ParseError("unterminated list")
    return out, pos


def imaplib_raw(data: list[Any]) -> bytes:
    """Rebuild one raw untagged response from an imaplib result list
    (literals come as ``(line_with_{n}, literal)`` tuples). Fetch one
    message per command, so that every item belongs to the same response."""
    out = b""
    for item in data:
        if isinstance(item, tuple):
            out += item[0] + b"\r\n" + item[1]
        elif item is not None:
            out += item
    return out


def fetch_items(raw: bytes) -> dict[str, Item]:
    """``b'1 (UID 5 RFC822.SIZE 3 ...)'`` -> ``{"UID": 5, "RFC822.SIZE": 3, ...}``."""
    parsed = parse_items(raw)
    # imaplib strips "* "; the line is "<n> FETCH (...)" or "<n> (...)".
    body = parsed[-1]
    assert isinstance(body, tuple), parsed
    return {str(body[i]).upper(): body[i + 1] for i in range(0, len(body) - 1, 2)}


def norm(x: Item) -> Item:
    """Case-folded form for comparisons; quoted and literal strings are alike."""
    if x is None or isinstance(x, int):
        return x
    if isinstance(x, str):
        return x.casefold()
    if isinstance(x, (tuple, list)):
        return tuple(norm(y) for y in x)
    raise TypeError(type(x))


# -- a private Dovecot ----------------------------------------------------------------


def port_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def dovecot_available() -> bool:
    return shutil.which("dovecot") is not None and (PEERS / "dovecot-up").exists()


class Dovecot:
    """A private Dovecot (``shared/peers/dovecot-up``) in a work dir under /tmp
    (not pytest's tmp_path: the mail user ``nobody`` must reach it)."""

    def __init__(self, base: int) -> None:
        self.workdir = tempfile.mkdtemp(prefix="mimekit-imapsrv-dovecot-", dir="/tmp")
        up = subprocess.run([str(PEERS / "dovecot-up"), self.workdir, str(base)],
                            capture_output=True, text=True)
        if up.returncode != 0:
            self.stop()
            raise RuntimeError(f"dovecot-up failed ({up.returncode}): {up.stderr.strip()}")
        self.info = dict(line.split("=", 1) for line in up.stdout.splitlines() if "=" in line)
        self.port = int(self.info["IMAP_PORT"])

    def stop(self) -> None:
        subprocess.run([str(PEERS / "dovecot-down"), self.workdir, "--purge"],
                       check=False, capture_output=True)
        shutil.rmtree(self.workdir, ignore_errors=True)

    @contextlib.contextmanager
    def imap(self, user: str = "alice") -> Iterator[imaplib.IMAP4]:
        conn = imaplib.IMAP4("127.0.0.1", self.port)
        try:
            conn.login(user, "secret")
            yield conn
        finally:
            with contextlib.suppress(Exception):
                conn.logout()


def append_and_fetch(conn: imaplib.IMAP4, mailbox: str, raw: bytes,
                     items: str) -> dict[str, Item]:
    """APPEND a message to Dovecot, then UID FETCH ``items`` of it (the
    mailbox must be selected); the parsed items by upper-case name."""
    typ, data = conn.append(mailbox, None, None, raw)
    assert typ == "OK", data
    code = data[0].decode() if isinstance(data[0], bytes) else str(data[0])
    uid = code.split("APPENDUID ")[1].split()[1].rstrip("]")
    typ, data = conn.uid("FETCH", uid, items)
    assert typ == "OK", data
    return fetch_items(imaplib_raw(data))
