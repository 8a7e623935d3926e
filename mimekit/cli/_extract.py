"""``mimekit extract FILE -o DIR [--force]``: save a message's attachments.

File names come from the message, so they are hostile input: each is reduced
to a plain name (no directories, no ``..``, no control characters, no
leading dots, no Windows device names, at most 200 bytes) before it touches
the disk, and files are created with ``O_EXCL | O_NOFOLLOW`` so an existing
file (or a planted symlink) is never overwritten unless ``--force`` is given.
Bodies are streamed, so memory stays bounded whatever the attachment size.

"Control characters" means every character that is not text a reader can see
and check: C0 and C1 controls (U+009B is an 8-bit CSI, a terminal escape
when the name is printed), format characters such as the bidi overrides
(``invoice\u202etxt.exe`` displays as ``invoiceexe.txt``), line and
paragraph separators, lone surrogates and unassigned code points. Each
becomes ``_``. ZWNJ and ZWJ (U+200C, U+200D) are the exception: Persian and
Indic spellings and emoji sequences need them, and they change no display
order.

The 200-byte cap is applied with one cut at a UTF-8 character boundary, so
the work is linear in the length of the name whatever its length.
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
# Unicode categories that are not visible text (see the module docstring):
# control, format, line and paragraph separator, surrogate, unassigned.
_INVISIBLE = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Cn"})
_JOINERS = frozenset("\u200c\u200d")
# The names Microsoft's "Naming Files, Paths, and Namespaces" reserves,
# superscript COM/LPT digits included; matched against the part before the
# first dot after trailing dots and spaces go, as Windows compares them
# ("nul .txt" and "con." are the devices too).
_WINDOWS_DEVICES = re.compile(r"(?i)(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³]|conin\$|conout\$)")
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
    replaces characters that are unsafe on common file systems or invisible
    (see the module docstring) with ``_``, strips leading dots and spaces,
    avoids Windows device names, and caps the length at 200 bytes (keeping
    an extension of up to 16 characters). An empty result becomes
    ``attachment-N`` with an extension guessed from the MIME type.
    """
    base = ""
    if name:
        base = unicodedata.normalize("NFC", name).replace("\\", "/").rsplit("/", 1)[-1]
        base = _visible(_UNSAFE.sub("_", base)).strip().lstrip(". ")
    if not base:
        ext = mimetypes.guess_extension(part.content_type.mime_type) or ".bin"
        base = f"attachment-{index}{ext}"
    stem, dot, ext = base.rpartition(".")
    if not dot or len(ext) > 16:
        stem, ext = base, ""
    suffix = "." + ext if ext else ""
    result = _cap(stem, suffix, _MAX_NAME_BYTES)
    # Checked after the cut, which can leave "con" + spaces; the prefixed
    # name is cut again with one byte less, so the cap still holds.
    if _WINDOWS_DEVICES.fullmatch(result.split(".", 1)[0].rstrip(". ")):
        result = "_" + _cap(stem, suffix, _MAX_NAME_BYTES - 1)
    return result


def _cap(stem: str, suffix: str, limit: int) -> str:
    """``stem + suffix`` in at most ``limit`` UTF-8 bytes, cutting the stem once."""
    budget = limit - len(suffix.encode())
    raw = stem.encode()
    if len(raw) > budget:
        # "ignore" drops the partial UTF-8 sequence the cut may leave at the
        # end, so the cut lands on a character boundary.
        stem = raw[:budget].decode("utf-8", "ignore")
        if not suffix:
            # Windows drops trailing dots and spaces; a cut that leaves one
            # would name a different file there.
            stem = stem.rstrip(". ")
    return stem + suffix


def _visible(text: str) -> str:
    """``text`` with every invisible character (module docstring) as ``_``."""
    if text.isprintable():
        # Fast path: printable excludes every category in _INVISIBLE.
        return text
    return "".join(
        "_" if ch not in _JOINERS and unicodedata.category(ch) in _INVISIBLE else ch
        for ch in text
    )


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
