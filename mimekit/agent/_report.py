"""Reporting: warnings, notes and a progress line, kept apart from the work.

The library never prints. Its operations take a :class:`Reporter`; the
default one is silent, and the command line passes a
:class:`StreamReporter` writing to standard error. The progress line
(count, rate, ETA) is drawn only when that stream is a terminal, so scripts
and logs stay quiet.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

__all__ = ["Progress", "Reporter", "StreamReporter"]


class Progress:
    """A long operation's progress: call :meth:`advance` per item.

    The base class only counts; :class:`StreamReporter` draws it.
    """

    def __init__(self, label: str, total: int | None) -> None:
        self.label = label
        self.total = total
        self.done = 0
        self.started = time.monotonic()

    def advance(self, n: int = 1) -> None:
        """``n`` more items are done."""
        self.done += n

    def finish(self) -> None:
        """The operation ended (or stopped)."""

    def line(self) -> str:
        """``"fetch: 120/10000 (1%)  80.0 msg/s  ETA 2m03s"``."""
        elapsed = max(time.monotonic() - self.started, 1e-9)
        rate = self.done / elapsed
        text = f"{self.label}: {self.done}"
        if self.total:
            text += f"/{self.total} ({100 * self.done // self.total}%)"
        text += f"  {rate:.1f} msg/s"
        if self.total and rate > 0 and self.done < self.total:
            left = int((self.total - self.done) / rate)
            text += f"  ETA {_duration(left)}"
        return text


def _duration(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


class Reporter:
    """Receives what an operation has to say; this one ignores it all."""

    def warn(self, text: str) -> None:
        """Something the user should know (a conflict, an insecure setting)."""

    def note(self, text: str) -> None:
        """A detail of what was done (a folder created), for verbose output."""

    def progress(self, label: str, total: int | None) -> Progress:
        """Start a progress count."""
        return Progress(label, total)


class _DrawnProgress(Progress):
    _INTERVAL = 0.2

    def __init__(self, label: str, total: int | None, stream: TextIO) -> None:
        super().__init__(label, total)
        self._stream = stream
        self._drawn = 0.0
        self._shown = False

    def advance(self, n: int = 1) -> None:
        super().advance(n)
        now = time.monotonic()
        if now - self._drawn >= self._INTERVAL:
            self._drawn = now
            self._stream.write("\r\x1b[K" + self.line())
            self._stream.flush()
            self._shown = True

    def finish(self) -> None:
        if self._shown:
            self._stream.write("\r\x1b[K")
            self._stream.flush()
            self._shown = False


class StreamReporter(Reporter):
    """Writes warnings (and, when ``verbose``, notes) to a stream, and draws
    progress there when it is a terminal.

    Args:
        stream: Default ``sys.stderr`` (looked up at each write, so
            redirection works).
        prefix: Put before each line (``"mimekit sync: "``).
        verbose: Show notes too.
        progress: Draw progress: True, False, or None to decide by
            ``stream.isatty()``.
    """

    def __init__(self, stream: TextIO | None = None, *, prefix: str = "",
                 verbose: bool = False, progress: bool | None = None) -> None:
        self._stream = stream
        self.prefix = prefix
        self.verbose = verbose
        self._progress = progress
        self.warnings: list[str] = []

    @property
    def stream(self) -> TextIO:
        return self._stream or sys.stderr

    def _write(self, text: str) -> None:
        self.stream.write(f"{self.prefix}{text}\n")
        self.stream.flush()

    def warn(self, text: str) -> None:
        self.warnings.append(text)
        self._write(text)

    def note(self, text: str) -> None:
        if self.verbose:
            self._write(text)

    def progress(self, label: str, total: int | None) -> Progress:
        draw = self._progress
        if draw is None:
            isatty = getattr(self.stream, "isatty", None)
            draw = bool(isatty and isatty())
        if draw:
            return _DrawnProgress(label, total, self.stream)
        return Progress(label, total)
