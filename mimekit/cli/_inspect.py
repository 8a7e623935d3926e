"""``mimekit inspect FILE [--json]``: show a message's tree.

For each entity: its section number, MIME type, transfer encoding, charset,
disposition and file name, its size on the wire and decoded, and its
defects. Nothing in the file is changed. ``FILE`` may be one message, ``-``
(standard input), an mbox file or a Maildir directory; for the last two each
message is listed, with its key.

The JSON form (``--json``) of one entity::

    {"section": "root" | "1" | "1.2" | "2.m" ...,   # "m": the attached message
     "type": "text/plain", "size": 1234,             # octets on the wire
     "decoded_size": 1000,                           # leaves, unless --no-decode
     "transfer_encoding": "base64", "charset": "utf-8", "disposition": "attachment",
     "filename": "a.pdf", "content_id": "x@y",       # only when present
     "headers": {"subject", "from", "to", "date", "message_id"},  # messages only
     "defects": [{"kind", "offset", "detail"}],      # only when any
     "parts": [...], "message": {...}}               # children

For an mbox or a Maildir the output is a JSON list of
``{"key": ..., "tree": <the above>}``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from ..tree import Message, Part, parse_file

__all__ = ["add_parser", "describe", "run"]


def add_parser(sub: Any) -> None:
    p = sub.add_parser("inspect", help="show the MIME tree of a message file",
                       description="Show a message's MIME tree: types, sizes, file names, "
                       "charsets and defects.")
    p.add_argument("file", help="a message file (.eml), '-' for stdin, an mbox file or a "
                   "Maildir directory")
    p.add_argument("--json", action="store_true", help="print the tree as JSON")
    p.add_argument("--no-decode", action="store_true",
                   help="do not decode bodies (faster; no decoded sizes or body defects)")
    p.set_defaults(func=run)


def _messages(path: str) -> Iterator[tuple[str | None, Message]]:
    """The message(s) at ``path``: one file, stdin, an mbox, or a Maildir."""
    if path == "-":
        yield None, parse_file(sys.stdin.buffer)
        return
    from ..mailstore import Maildir, Mbox

    target = Path(path)
    if target.is_dir():
        if not all((target / sub).is_dir() for sub in ("cur", "new", "tmp")):
            raise OSError(f"{path} is a directory but not a Maildir (no cur/new/tmp)")
        md = Maildir(target)
        for name in md:
            yield name, md.get_message(name)
        return
    with open(target, "rb") as f:
        head = f.read(5)
    if head == b"From ":
        mbox = Mbox(target, create=False)
        for offset, msg in mbox.items():
            yield str(offset), msg
        return
    yield None, parse_file(target)


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout  # looked up now, so redirection (and tests) work
    trees: list[dict[str, Any]] = []
    single = True
    for key, msg in _messages(args.file):
        with msg:
            tree = describe(msg, decode=not args.no_decode)
        if key is None:
            trees.append(tree)
            continue
        single = False
        if args.json:
            trees.append({"key": key, "tree": tree})
        else:
            out.write(f"== {key}\n")
            for line in _render(tree):
                out.write(line + "\n")
    if args.json:
        json.dump(trees[0] if single and trees else trees, out, indent=2, ensure_ascii=False)
        out.write("\n")
    elif single:
        for tree in trees:
            for line in _render(tree):
                out.write(line + "\n")
    return 0


def describe(part: Part, *, decode: bool = True, path: str = "") -> dict[str, Any]:
    """A JSON-ready description of ``part`` and everything below it."""
    ct = part.content_type
    node: dict[str, Any] = {
        "section": path or "root",
        "type": ct.mime_type,
        "size": part.size,
    }
    if isinstance(part, Message):
        node["headers"] = {
            "subject": part.subject,
            "from": [str(m) for m in part.from_.mailboxes],
            "to": [str(m) for m in part.to.mailboxes],
            "date": part.date.isoformat() if part.date else None,
            "message_id": part.message_id,
        }
    if part.transfer_encoding != "7bit":
        node["transfer_encoding"] = part.transfer_encoding
    for key, value in (("charset", part.charset), ("disposition", part.disposition),
                       ("filename", part.filename), ("content_id", part.content_id)):
        if value:
            node[key] = value
    if not part.is_multipart and part.message is None and decode:
        node["decoded_size"] = sum(len(c) for c in part.iter_bytes())
    defects = part.defects if decode else ()
    if defects:
        node["defects"] = [{"kind": d.kind.value, "offset": d.offset, "detail": d.detail}
                           for d in defects]
    if part.is_multipart:
        node["parts"] = [describe(c, decode=decode, path=f"{path}.{i}" if path else str(i))
                         for i, c in enumerate(part.parts, 1)]
    if part.message is not None:
        node["message"] = describe(part.message, decode=decode,
                                   path=f"{path}.m" if path else "m")
    return node


def _render(node: dict[str, Any], prefix: str = "", last: bool = True,
            root: bool = True) -> Iterator[str]:
    bits = [node["type"]]
    for key in ("transfer_encoding", "charset", "disposition"):
        if key in node:
            bits.append(node[key])
    if "filename" in node:
        bits.append(json.dumps(node["filename"], ensure_ascii=False))
    size = f"{node['size']:,} bytes"
    if "decoded_size" in node and node["decoded_size"] != node["size"]:
        size += f" ({node['decoded_size']:,} decoded)"
    bits.append(size)
    branch = "" if root else ("└─ " if last else "├─ ")
    yield f"{prefix}{branch}[{node['section']}] " + "  ".join(bits)
    child_prefix = prefix + ("" if root else ("   " if last else "│  "))
    headers = node.get("headers")
    if headers:
        for key in ("subject", "from", "to", "date", "message_id"):
            value = headers.get(key)
            if value:
                shown = ", ".join(value) if isinstance(value, list) else value
                yield f"{child_prefix}    {key}: {shown}"
    for d in node.get("defects", []):
        yield f"{child_prefix}    ! {d['kind']} at {d['offset']}: {d['detail']}"
    children = list(node.get("parts", []))
    if "message" in node:
        children.append(node["message"])
    for i, child in enumerate(children):
        yield from _render(child, child_prefix, i == len(children) - 1, root=False)
