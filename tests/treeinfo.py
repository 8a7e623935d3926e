"""A complete, comparable description of a parsed tree (for equivalence tests)."""

from __future__ import annotations

from typing import Any

import mimekit


def signature(msg: mimekit.Message, *, bodies: bool = True) -> list[Any]:
    """Everything observable about every entity: spans, header bytes, types,
    structure, defects and (optionally) decoded bodies."""
    out: list[Any] = []
    for part in msg.walk():
        leaf = not part.is_multipart and part.message is None
        out.append((
            part.offset, part.size, part.body_offset,
            tuple((h.name, h.raw) for h in part.headers),
            part.content_type.mime_type, part.is_multipart, len(part.parts),
            part.message is not None, part.preamble, part.epilogue,
            tuple(part.defects),
            part.get_bytes() if bodies and leaf else None,
        ))
    return out
