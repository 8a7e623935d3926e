"""The three timed workloads, written once per library so each does comparable work.

Each workload is ``fn(raw: bytes) -> object``: parse from bytes, then do the job. The
stdlib variants do what a careful user of that API would do to get the same facts
mimekit's typed properties give (decoded subject, parsed addresses, an aware datetime).
"""

from __future__ import annotations

import email
import email.policy
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from email.header import decode_header, make_header
from email.message import Message as StdMessage
from email.utils import getaddresses, parsedate_to_datetime
from types import ModuleType
from typing import Any

__all__ = [
    "LIBRARIES",
    "WORKLOADS",
    "Library",
    "cross_check",
    "identical_share",
    "library_set",
    "mimekit_status",
]

WORKLOADS = ("headers", "walk", "roundtrip", "edit")
Workload = Callable[[bytes], object]


@dataclass(frozen=True, slots=True)
class Library:
    name: str
    headers: Workload
    walk: Workload
    roundtrip: Callable[[bytes], bytes]
    #: Parse, replace the Subject with a non-ASCII one, add a header, serialize:
    #: what a filter or a mailing-list manager does. Unlike ``roundtrip`` this
    #: exercises the serializer of a *changed* tree.
    edit: Callable[[bytes], bytes]

    def workload(self, name: str) -> Workload:
        fn: Workload = getattr(self, name)
        return fn


# ------------------------------------------------------------------ stdlib, compat32


def _decode2047(value: str) -> str:
    # compat32 hands back encoded-words untouched; decoding them is part of "read the
    # subject", so the stdlib side pays for it too (only when there is something to do).
    return str(make_header(decode_header(value))) if "=?" in value else value


def _compat32_parse(raw: bytes) -> StdMessage:
    return email.message_from_bytes(raw, policy=email.policy.compat32)


def _compat32_headers(raw: bytes) -> object:
    msg = _compat32_parse(raw)
    subject = msg["Subject"]
    out: list[object] = [_decode2047(str(subject)) if subject is not None else None]
    for field in ("From", "To"):
        for name, addr in getaddresses([str(v) for v in msg.get_all(field, [])]):
            out.append((_decode2047(name), addr))
    date = msg["Date"]
    out.append(parsedate_to_datetime(str(date)) if date is not None else None)
    mid = msg["Message-ID"]
    out.append(str(mid).strip().strip("<>") if mid is not None else None)
    return out


def _std_walk(msg: StdMessage) -> int:
    total = 0
    for part in msg.walk():
        if not part.is_multipart():
            payload = part.get_payload(decode=True)
            total += len(payload) if isinstance(payload, bytes) else 0
    return total


def _compat32_roundtrip(raw: bytes) -> bytes:
    return _compat32_parse(raw).as_bytes()


EDIT_SUBJECT = "Grüße aus Köln: Übersicht"


def _compat32_edit(raw: bytes) -> bytes:
    msg = _compat32_parse(raw)
    del msg["Subject"]
    msg["Subject"] = make_header([(EDIT_SUBJECT.encode(), "utf-8")]).encode()
    msg["X-Scanned"] = "clean"
    return msg.as_bytes()


# ------------------------------------------------------------- stdlib, policy.default


def _default_parse(raw: bytes) -> StdMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)


def _default_headers(raw: bytes) -> object:
    msg = _default_parse(raw)
    # With policy.default each msg[...] builds a typed header object (the parse happens
    # here); str() and .addresses/.datetime read the parsed results.
    subject = msg["Subject"]
    out: list[object] = [str(subject) if subject is not None else None]
    for field in ("From", "To"):
        header: Any = msg[field]
        if header is not None:
            out.extend((a.display_name, a.addr_spec) for a in header.addresses)
    date: Any = msg["Date"]
    out.append(date.datetime if date is not None else None)
    mid = msg["Message-ID"]
    out.append(str(mid).strip().strip("<>") if mid is not None else None)
    return out


def _default_roundtrip(raw: bytes) -> bytes:
    return _default_parse(raw).as_bytes(policy=email.policy.default)


def _default_edit(raw: bytes) -> bytes:
    msg = _default_parse(raw)
    del msg["Subject"]
    msg["Subject"] = EDIT_SUBJECT
    msg["X-Scanned"] = "clean"
    return msg.as_bytes(policy=email.policy.default)


STDLIB_DEFAULT = Library(
    "stdlib-default",
    _default_headers,
    lambda raw: _std_walk(_default_parse(raw)),
    _default_roundtrip,
    _default_edit,
)
STDLIB_COMPAT32 = Library(
    "stdlib-compat32",
    _compat32_headers,
    lambda raw: _std_walk(_compat32_parse(raw)),
    _compat32_roundtrip,
    _compat32_edit,
)


# ------------------------------------------------------------------------- mimekit


def mimekit_status() -> tuple[ModuleType | None, str]:
    """(module, "") when mimekit can parse, else (None, why not)."""
    try:
        # By name, so type checkers do not tie the benchmarks to an in-progress API.
        mimekit: Any = importlib.import_module("mimekit")
    except Exception as exc:  # any import-time failure means "not available"
        return None, f"import failed: {exc!r}"
    if not hasattr(mimekit, "parse"):
        return None, "mimekit has no parse() yet"
    try:
        mimekit.parse(b"Subject: x\n\nhi")
    except Exception as exc:
        return None, f"parse() failed: {exc!r}"
    return mimekit, ""


def _mimekit_library(mk: Any) -> Library:
    parse = mk.parse

    def headers(raw: bytes) -> object:
        m = parse(raw)
        # Touch every field of every mailbox so lazily parsed values are really parsed.
        out: list[object] = [m.subject]
        out.extend((mb.name, mb.addr_spec) for mb in m.from_.mailboxes)
        out.extend((mb.name, mb.addr_spec) for mb in m.to.mailboxes)
        out.append(m.date)
        out.append(m.message_id)
        return out

    def walk(raw: bytes) -> int:
        total = 0
        for part in parse(raw).walk():
            # A message/rfc822 part is not multipart in mimekit but carries .message,
            # and walk() descends into it; its leaves are decoded on their own.
            if not part.is_multipart and part.message is None:
                total += len(part.get_bytes())
        return total

    def roundtrip(raw: bytes) -> bytes:
        return bytes(parse(raw))

    def edit(raw: bytes) -> bytes:
        m = parse(raw)
        m.headers.set("Subject", EDIT_SUBJECT)
        m.headers.add("X-Scanned", "clean")
        return bytes(m)

    return Library("mimekit", headers, walk, roundtrip, edit)


def library_set() -> tuple[list[Library], str]:
    """The libraries to compare, mimekit first when it works; plus why it is missing."""
    mk, why = mimekit_status()
    libs = [STDLIB_DEFAULT, STDLIB_COMPAT32]
    if mk is not None:
        libs.insert(0, _mimekit_library(mk))
    return libs, why


LIBRARIES = ("mimekit", "stdlib-default", "stdlib-compat32")


# ---------------------------------------------------------------------- fidelity


def identical_share(lib: Library, names: list[str], messages: list[bytes]) -> dict[str, Any]:
    """How many of ``lib``'s round trips reproduce the input exactly; untimed.

    Also names the messages that differ, grouped by corpus kind (the name's suffix), so
    a miss can be traced to a kind of message.
    """
    same = errors = 0
    first_error = ""
    differing: list[str] = []
    for name, raw in zip(names, messages, strict=True):
        try:
            ok = lib.roundtrip(raw) == raw
        except Exception as exc:  # a crash is a failed round trip, and worth reporting
            errors += 1
            first_error = first_error or f"{name}: {exc!r}"
            ok = False
        same += ok
        if not ok:
            differing.append(name)
    kinds: dict[str, int] = {}
    for name in differing:
        kind = name.rsplit(".", 1)[0].split("-", 1)[-1]
        kinds[kind] = kinds.get(kind, 0) + 1
    return {
        "identical": same,
        "total": len(messages),
        "identical_pct": round(100.0 * same / max(1, len(messages)), 1),
        "errors": errors,
        "first_error": first_error,
        "differing_by_kind": kinds,
        "differing_examples": differing[:5],
    }


def cross_check(names: list[str], messages: list[bytes]) -> list[str]:
    """Messages where mimekit's decoded leaves disagree with compat32's; untimed.

    Only a hint for the reader: the two may legitimately differ (e.g. line endings),
    so the benchmark reports the names and never fails on them.
    """
    mk, _ = mimekit_status()
    if mk is None:
        return []
    odd: list[str] = []
    for name, raw in zip(names, messages, strict=True):
        try:
            mine = [
                p.get_bytes()
                for p in mk.parse(raw).walk()
                if not p.is_multipart and p.message is None
            ]
        except Exception as exc:
            odd.append(f"{name}: mimekit raised {exc!r}")
            continue
        std = _compat32_parse(raw)
        theirs = [p.get_payload(decode=True) for p in std.walk() if not p.is_multipart()]
        if mine != theirs:
            odd.append(
                f"{name}: {len(mine)} leaves vs stdlib {len(theirs)}, "
                f"sizes {[len(b) for b in mine][:5]} vs "
                f"{[len(b) for b in theirs if isinstance(b, bytes)][:5]}"
            )
    return odd
