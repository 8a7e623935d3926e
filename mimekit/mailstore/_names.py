"""Maildir file names: unique names, the ``:2,`` info with its flags, and
Maildir++ folder names.

References:

* The Maildir spec, https://cr.yp.to/proto/maildir.html: a unique name is
  ``time.MusecPpidQcounterRrandom.host``; the *info* after a colon is
  ``2,`` followed by the flags in ASCII order.
* Maildir++ (Courier), https://www.courier-mta.org/imap/README.maildirquota.html:
  ``,S=<size>`` in the name; folders are ``.Name`` directories next to
  ``cur/ new/ tmp/``, nested ones ``.Parent.Child``.
* Dovecot, https://doc.dovecot.org/admin_manual/mailbox_formats/maildir/:
  ``,W=<virtual size>`` (the size with CRLF line ends), keyword flags
  ``a``-``z``, the ``maildirfolder`` marker file, folder names in modified
  UTF-7 (RFC 3501 section 5.1.3).
"""

from __future__ import annotations

import itertools
import os
import re
import secrets
import socket
import time
from collections.abc import Iterable

from ..codecs._utf7 import decode_imap_utf7, encode_imap_utf7

__all__ = [
    "FOLDER_SEP",
    "INFO_SEP",
    "STANDARD_FLAGS",
    "check_flags",
    "check_folder_name",
    "decode_folder_name",
    "encode_folder_name",
    "flags_of",
    "make_info",
    "normalize_flags",
    "split_name",
    "unique_name",
    "writer_is_dead",
]

#: Separates the unique part of a file name from its info (``key:2,FS``).
INFO_SEP = ":"
#: The flags of the Maildir spec: Draft, Flagged, Passed, Replied, Seen,
#: Trashed. Dovecot adds the keyword letters a-z (mapped to IMAP keywords in
#: its ``dovecot-keywords`` file).
STANDARD_FLAGS = frozenset("DFPRST")
_ALLOWED_FLAGS = STANDARD_FLAGS | frozenset("abcdefghijklmnopqrstuvwxyz")

_counter = itertools.count(1)


def _hostname() -> str:
    # The spec: "replace / with \057 and : with \072" so the name stays one
    # path component and the info separator stays unambiguous. "," is escaped
    # as well (\054) because Maildir++ readers split ",S=" fields on it.
    host = socket.gethostname() or "localhost"
    return host.replace("/", "\\057").replace(":", "\\072").replace(",", "\\054")


#: ``<secs>.M<usecs>P<pid>Q<n>R<random>.<host>``: the fields a crash check needs.
_WRITER = re.compile(r"\d+\.M\d+P(\d+)Q\d+R[0-9a-f]+\.(.+)")


def writer_is_dead(name: str) -> bool:
    """Whether ``name`` was made by :func:`unique_name` in a process of this
    host that no longer runs (so a tmp/ file of that name is a crash leftover).

    False whenever it cannot be sure: another host, another naming scheme, a
    live process (or one we may not signal, which exists).
    """
    m = _WRITER.fullmatch(name)
    if m is None or m.group(2) != _hostname():
        return False
    pid = int(m.group(1))
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def unique_name() -> str:
    """A new unique name: ``<secs>.M<usecs>P<pid>Q<n>R<random>.<host>``.

    The seconds come first so names sort by delivery time; microseconds, the
    process id and a per-process counter separate deliveries in one second,
    and 64 random bits separate processes that reuse a pid (containers).
    """
    now = time.time()
    secs = int(now)
    usecs = int((now - secs) * 1_000_000)
    return (f"{secs}.M{usecs}P{os.getpid()}Q{next(_counter)}"
            f"R{secrets.token_hex(8)}.{_hostname()}")


def split_name(name: str) -> tuple[str, str | None]:
    """Split a file name into ``(key, info)``; info is None without a colon."""
    key, sep, info = name.partition(INFO_SEP)
    return key, (info if sep else None)


def flags_of(info: str | None) -> str:
    """The flags of an info string (``"2,FS"`` -> ``"FS"``), sorted and unique.

    Infos of other versions (``1,...``, experimental) carry no flags.
    """
    if info is None or not info.startswith("2,"):
        return ""
    return "".join(sorted(set(info[2:])))


def check_flags(flags: str | Iterable[str]) -> set[str]:
    """Validate flags given by a caller and return them as a set.

    Raises:
        ValueError: a character other than ``D F P R S T`` or ``a``-``z``.
        TypeError: not a string or an iterable of one-character strings.
    """
    chars = set(flags) if isinstance(flags, str) else set("".join(flags))
    bad = chars - _ALLOWED_FLAGS
    if bad:
        raise ValueError(f"invalid Maildir flags {''.join(sorted(bad))!r}: "
                         "use D F P R S T and the keyword letters a-z")
    return chars


def normalize_flags(flags: str | Iterable[str]) -> str:
    """Validated flags in ASCII order, each once (``"SR"`` -> ``"RS"``)."""
    return "".join(sorted(check_flags(flags)))


def make_info(flags: str) -> str:
    """The info part for already-normalized flags: ``"2," + flags``."""
    return "2," + flags


# -- folder names ---------------------------------------------------------------

#: Maildir++ separates hierarchy levels with "." in the directory name, so
#: the API uses "." too (as Python's mailbox module does): "Lists.python" is
#: the directory ".Lists.python".
FOLDER_SEP = "."
_BAD_FOLDER_CHARS = re.compile(r"[/\x00\r\n]")


def check_folder_name(name: str) -> list[str]:
    """Split a folder name into its levels, refusing names that cannot be stored.

    Raises:
        ValueError: empty name or level (``""``, ``"A..B"``, ``".A"``), a
            ``/``, NUL, CR or LF, or a level named ``..``.
    """
    if not isinstance(name, str):
        raise TypeError(f"folder name must be str, not {type(name).__name__}")
    levels = name.split(FOLDER_SEP)
    if not name or any(not level for level in levels) or _BAD_FOLDER_CHARS.search(name):
        raise ValueError(f"invalid Maildir++ folder name {name!r}")
    return levels


def encode_folder_name(name: str) -> str:
    """Encode a folder name for the file system in IMAP modified UTF-7.

    RFC 3501 section 5.1.3 (see :func:`mimekit.codecs.encode_imap_utf7`,
    which this is): printable ASCII stands for itself except ``&``, written
    ``&-``; other characters are UTF-16BE in base64. This is what Dovecot
    stores by default, so folders made by either are listed by both.
    """
    return encode_imap_utf7(name)


def decode_folder_name(encoded: str) -> str:
    """Decode a modified UTF-7 directory name; malformed runs are kept as they are."""
    return decode_imap_utf7(encoded)
