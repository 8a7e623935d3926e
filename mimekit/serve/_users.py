"""The users of a ``mimekit serve`` mail system: names and hashed passwords.

The file ``DIR/users`` holds one user per line::

    alice:scrypt$16384$8$1$<salt b64>$<hash b64>

Passwords are hashed with ``hashlib.scrypt`` (RFC 7914; N=2^14, r=8, p=1,
a 16-byte random salt) and never stored in plain text. Checking a password
re-derives the hash and compares in constant time. PBKDF2-SHA256 hashes
(``pbkdf2$<iterations>$<salt>$<hash>``) are read too, for Pythons built
without scrypt. The file is replaced atomically (write, fsync, rename), so a
reader never sees half of it.

Passwords are prepared with SASLprep (RFC 4013) before they are hashed or
checked, so the same password typed as different code points (a composed
or decomposed accent, a no-break space) is the same password; plain ASCII
is unchanged by it.

A plain-text password cannot be recovered from the file, so mechanisms
that need the secret itself (APOP, CRAM-MD5) are not offered by the servers.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import hmac
import os
import re
import secrets
import tempfile
from pathlib import Path

from .._saslprep import saslprep

__all__ = ["UserDB", "hash_password", "verify_password"]

_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_SCRYPT = {"n": 1 << 14, "r": 8, "p": 1}


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_password(password: str) -> str:
    """A salted scrypt hash of ``password``, in the users-file format."""
    salt = secrets.token_bytes(16)
    if hasattr(hashlib, "scrypt"):
        digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, dklen=32, **_SCRYPT)
        return f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}${_b64(salt)}${_b64(digest)}"
    iterations = 600_000  # pragma: no cover - OpenSSL without scrypt
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    return f"pbkdf2${iterations}${_b64(salt)}${_b64(digest)}"  # pragma: no cover


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches ``stored``; False for a malformed entry."""
    try:
        scheme, *fields = stored.split("$")
        if scheme == "scrypt":
            n, r, p, salt, digest = fields
            got = hashlib.scrypt(password.encode("utf-8"), salt=base64.b64decode(salt),
                                 n=int(n), r=int(r), p=int(p), dklen=32,
                                 maxmem=256 * 1024 * 1024)
        elif scheme == "pbkdf2":
            iterations, salt, digest = fields
            got = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"),
                                      base64.b64decode(salt), int(iterations))
        else:
            return False
        return hmac.compare_digest(got, base64.b64decode(digest))
    except (ValueError, TypeError):
        return False


class UserDB:
    """The users file of a mail system directory.

    Names are lower-case local parts (``[a-z0-9._-]``, at most 64); a
    lookup lower-cases its argument.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._cache: tuple[float, dict[str, str]] | None = None

    @staticmethod
    def check_name(name: str) -> str:
        """Return the normalized name, or raise ``ValueError``."""
        norm = name.strip().lower()
        if not _NAME.fullmatch(norm):
            raise ValueError(f"invalid user name {name!r}: use letters, digits, '.', '_', '-'")
        return norm

    def _load(self) -> dict[str, str]:
        try:
            mtime = self.path.stat().st_mtime_ns
        except FileNotFoundError:
            return {}
        if self._cache is not None and self._cache[0] == mtime:
            return self._cache[1]
        users: dict[str, str] = {}
        for line in self.path.read_text("utf-8").splitlines():
            name, sep, stored = line.strip().partition(":")
            if sep and _NAME.fullmatch(name):
                users[name] = stored
        self._cache = (mtime, users)
        return users

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._load()

    def names(self) -> list[str]:
        """All user names, sorted."""
        return sorted(self._load())

    def verify(self, name: str, password: str) -> bool:
        """Check a password. Unknown users take as long as known ones."""
        stored = self._load().get(name.lower())
        if stored is None:
            verify_password(password, _dummy_hash())  # same cost: no user enumeration by timing
            return False
        try:
            prepared = saslprep(password, allow_unassigned=True)
        except ValueError:
            prepared = password
        if verify_password(prepared, stored):
            return True
        # A hash made before passwords were prepared (or of one SASLprep
        # refuses) is of the password as typed.
        return prepared != password and verify_password(password, stored)

    def set_password(self, name: str, password: str) -> None:
        """Add a user or change a password (atomically rewrites the file).

        Raises:
            ValueError: a bad name, an empty password, or one that SASLprep
                refuses (control characters, unassigned code points...).
        """
        name = self.check_name(name)
        password = saslprep(password)
        if not password:
            raise ValueError("empty password")
        users = dict(self._load())
        users[name] = hash_password(password)
        self._write(users)

    def remove(self, name: str) -> None:
        users = dict(self._load())
        if users.pop(name.lower(), None) is None:
            raise KeyError(name)
        self._write(users)

    def _write(self, users: dict[str, str]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".users.")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                for name in sorted(users):
                    f.write(f"{name}:{users[name]}\n")
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        self._cache = None


@functools.cache
def _dummy_hash() -> str:
    return hash_password("not a real password")
