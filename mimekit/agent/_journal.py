"""State files: an append-only journal of JSON lines, compacted atomically.

A state file is text, one JSON object per line. The first line is a header
(``{"format": "mimekit-fetch", "version": 1, ...}``); every later line is a
record, and reading replays them in order. Two ways of writing:

* :meth:`Journal.append` adds one record: a single ``write()`` of the whole
  line to a file opened ``O_APPEND``, then ``fsync``. A process killed at
  any instant leaves either the whole line or none of it; a machine that
  loses power may leave a partial *last* line, which :meth:`Journal.load`
  recognises (no newline, or not JSON) and cuts off before anything is
  appended again.
* :meth:`Journal.rewrite` replaces the file with a compacted one: written to
  a temporary file beside it, fsync'ed, renamed over the old one, and the
  directory fsync'ed. Readers see the old file or the new one, never a mix.

Why a journal and not a JSON document rewritten after each message: fetching
10,000 messages would then write the whole state 10,000 times (quadratic);
an append costs one short write and one fsync.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ._errors import StateError

__all__ = ["Journal"]


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _line(record: dict[str, Any]) -> bytes:
    # ensure_ascii: one record is one line whatever a UIDL or key contains.
    return (json.dumps(record, separators=(",", ":"), ensure_ascii=True) + "\n").encode()


class Journal:
    """One state file.

    Args:
        path: The file.
        header: The header a new file gets; an existing file's header must
            have the same ``format``.
    """

    def __init__(self, path: Path, header: dict[str, Any]) -> None:
        self.path = path
        self.header = header
        self._fd: int | None = None

    def load(self) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        """Read the file: ``(header, records)``; ``(None, [])`` when there is none.

        A torn last line (see the module) is cut off the file here.

        Raises:
            StateError: damage elsewhere than the last line, or a file of
                another format.
        """
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return None, []
        except OSError as exc:
            raise StateError(f"cannot read the state file {self.path}: {exc}") from exc
        lines = data.split(b"\n")
        complete = lines[:-1]  # the last element is b"" when the file ends in "\n"
        good_end = len(data) - len(lines[-1])
        records: list[dict[str, Any]] = []
        for number, raw in enumerate(complete, 1):
            try:
                value = json.loads(raw)
                if not isinstance(value, dict):
                    raise ValueError("not an object")
            except ValueError:
                if number == len(complete) and not lines[-1]:
                    # The last complete-looking line is garbage: a torn
                    # write whose newline came from a later, lost, write.
                    good_end -= len(raw) + 1
                    break
                raise StateError(f"the state file {self.path} is damaged at line {number}; "
                                 "move it away to start over (see the docs)") from None
            records.append(value)
        if good_end != len(data):
            with open(self.path, "r+b") as f:
                f.truncate(good_end)
                f.flush()
                os.fsync(f.fileno())
        if not records:
            return None, []
        header, body = records[0], records[1:]
        if header.get("format") != self.header.get("format"):
            raise StateError(f"{self.path} is not a {self.header.get('format')} state file")
        return header, body

    def append(self, record: dict[str, Any]) -> None:
        """Add one record durably (see the module for why this is atomic)."""
        if self._fd is None:
            existed = self.path.exists()
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC,
                               0o600)
            if not existed or os.fstat(self._fd).st_size == 0:
                os.write(self._fd, _line(self.header))
                _fsync_dir(self.path.parent)
        os.write(self._fd, _line(record))
        os.fsync(self._fd)

    def rewrite(self, records: Iterable[dict[str, Any]]) -> None:
        """Replace the file by the header and ``records``, atomically."""
        self.close()
        tmp = self.path.with_name(self.path.name + ".tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(_line(self.header))
                for record in records:
                    f.write(_line(record))
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        _fsync_dir(self.path.parent)

    def close(self) -> None:
        """Close the append handle (appending again reopens it)."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)
