"""``mimekit extract FILE -o DIR [--force]``: save a message's attachments.

File names come from the message, so they are hostile input: each is reduced
to a plain name (no directories, no ``..``, no control characters, no
leading dots, no Windows device names, at most 200 bytes) before it touches
the disk, and files are created with ``O_EXCL | O_NOFOLLOW`` so an existing
file (or a planted symlink) is never overwritten unless ``--force`` is given.
Bodies are streamed, so memory stays bounded whatever the attachment size.
"""

from __future__ import annotations

import argparse
import mimetypes
import os
import re
import sys
import unicodedata
from typing import Any, TextIO

from ..tree import Part, parse_file

__all__ = ["add_parser", "run", "safe_filename"]

_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\:*?\"<>|]")
_WINDOWS_DEVICES = re.compile(r"(?i)^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$")
_MAX_NAME_BYTES = 200


def add_parser(sub: Any) -> None:
    p = sub.add_parser("extract", help="save the attachments of a message",
                       description="Save the attachments of a message into a directory. "
                       "File names are sanitized; existing files are never overwritten "
                       "unless --force is given.")
    p.add_argument("file", help="the message file; '-' reads stdin")
    p.add_argument("-o", "--output", required=True, metavar="DIR",
                   help="directory to write into (created if missing)")
    p.add_argument("--force", action="store_true", help="overwrite existing files")
    p.set_defaults(func=run)


def safe_filename(name: str | None, part: Part, index: int) -> str:
    """A file name that is safe to create in the output directory.

    Keeps only the last path component of ``name`` (either slash style),
    replaces characters that are unsafe on common file systems, strips
    leading dots and spaces, avoids Windows device names, and caps the
    length at 200 bytes (keeping the extension). An empty result becomes
    ``attachment-N`` with an extension guessed from the MIME type.
    """
    base = ""
    if name:
        base = unicodedata.normalize("NFC", name).replace("\\", "/").rsplit("/", 1)[-1]
        base = _UNSAFE.sub("_", base).strip().lstrip(". ")
        if _WINDOWS_DEVICES.match(base):
            base = "_" + base
    if not base:
        ext = mimetypes.guess_extension(part.content_type.mime_type) or ".bin"
        base = f"attachment-{index}{ext}"
    stem, dot, ext = base.rpartition(".")
    if not dot or len(ext) > 16:
        stem, ext = base, ""
    while len((stem + ("." + ext if ext else "")).encode()) > _MAX_NAME_BYTES and stem:
        stem = stem[:-1]
    return stem + ("." + ext if ext else "")


def _open_new(path: str, force: bool) -> int:
    flags = os.O_WRONLY | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    flags |= os.O_TRUNC if force else os.O_EXCL
    return os.open(path, flags, 0o644)


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    os.makedirs(args.output, exist_ok=True)
    src = sys.stdin.buffer if args.file == "-" else args.file
    status = 0
    used: set[str] = set()
    with parse_file(src) as msg:
        for index, part in enumerate(msg.attachments, 1):
            name = safe_filename(part.filename, part, index)
            # Two attachments with one name in the same message: number them.
            stem, dot, ext = name.rpartition(".")
            candidate, n = name, 1
            while candidate in used:
                n += 1
                candidate = f"{stem}-{n}.{ext}" if dot else f"{name}-{n}"
            used.add(candidate)
            path = os.path.join(args.output, candidate)
            try:
                fd = _open_new(path, args.force)
            except FileExistsError:
                print(f"mimekit extract: {path} exists (use --force to overwrite)",
                      file=sys.stderr)
                status = 1
                continue
            with os.fdopen(fd, "wb") as f:
                size = part.save(f)
            out.write(f"{path}\t{size}\t{part.content_type.mime_type}\n")
    return status
