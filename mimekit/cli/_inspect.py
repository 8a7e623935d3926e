"""``mimekit inspect FILE [--json]``: show a message's tree.

For each entity: its section number (as IMAP numbers them), MIME type,
transfer encoding, charset, disposition and file name, its size on the wire
and decoded, and its defects. Nothing in the file is changed.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from typing import Any, TextIO

from ..tree import Message, Part, parse_file

__all__ = ["add_parser", "describe", "run"]


def add_parser(sub: Any) -> None:
    p = sub.add_parser("inspect", help="show the MIME tree of a message file",
                       description="Show a message's MIME tree: types, sizes, file names, "
                       "charsets and defects.")
    p.add_argument("file", help="the message file (.eml, one message); '-' reads stdin")
    p.add_argument("--json", action="store_true", help="print the tree as JSON")
    p.add_argument("--no-decode", action="store_true",
                   help="do not decode bodies (faster; no decoded sizes or body defects)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout  # looked up now, so redirection (and tests) work
    src = sys.stdin.buffer if args.file == "-" else args.file
    with parse_file(src) as msg:
        tree = describe(msg, decode=not args.no_decode)
        if args.json:
            json.dump(tree, out, indent=2, ensure_ascii=False)
            out.write("\n")
        else:
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
