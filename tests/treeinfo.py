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


def read_everything(msg: mimekit.Message, *, chunk_size: int = 3) -> None:
    """Force every lazy computation of the tree: header values, structure,
    bodies (in chunks too), defects and body selection."""
    for part in msg.walk():
        for h in part.headers:
            _ = (h.text, h.value, h.defects)
        _ = (part.content_type, part.filename, part.disposition, part.content_id)
        part.get_bytes()
        part.get_text()
        assert b"".join(part.iter_bytes(chunk_size=chunk_size)) == part.get_bytes()
        _ = (part.preamble, part.epilogue, part.defects)
    _ = (msg.subject, msg.from_, msg.to, msg.date, msg.message_id, msg.references,
         msg.in_reply_to)
    _ = (msg.text_body, msg.html_body, msg.attachments)
