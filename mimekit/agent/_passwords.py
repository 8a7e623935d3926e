"""Passwords: from a command, an environment variable, ``~/.netrc``, or (only
when allowed) the accounts file.

The order is the :class:`~._accounts.PasswordSource` fields': ``password_command``,
then ``password_env``, then a plain ``password`` (with
``allow_plain_password = true``, and a warning), then the netrc file. The
first source configured is the one used: a failing command is an error, not
a reason to try the next source, so a typo never silently sends another
password.
"""

from __future__ import annotations

import netrc
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

from ._accounts import Endpoint, PasswordSource
from ._errors import ConfigError

__all__ = ["PasswordResolver", "read_password"]

#: How long a password command may take (a GPG agent may ask for a passphrase).
COMMAND_TIMEOUT = 120.0


def _from_command(command: str, where: str) -> str:
    # Through the shell, as msmtp's passwordeval and mbsync's PassCmd do: the
    # accounts file is the user's own, and pipes ("pass show x | head -1")
    # are what people write there.
    try:
        run = subprocess.run(command, shell=True, stdin=subprocess.DEVNULL,
                             capture_output=True, timeout=COMMAND_TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        raise ConfigError(f"{where}: password_command did not finish within "
                          f"{COMMAND_TIMEOUT:.0f} s") from None
    if run.returncode != 0:
        detail = run.stderr.decode("utf-8", "replace").strip().splitlines()
        reason = f": {detail[-1]}" if detail else ""
        raise ConfigError(f"{where}: password_command failed (exit status "
                          f"{run.returncode}){reason}")
    lines = run.stdout.decode("utf-8", "replace").splitlines()
    if not lines or not lines[0]:
        raise ConfigError(f"{where}: password_command printed no password")
    return lines[0]


def _from_env(name: str, where: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise ConfigError(f"{where}: the environment variable {name} (password_env) is "
                          "not set")
    return value


def _from_netrc(file: Path | None, endpoint: Endpoint, where: str) -> str:
    path = file if file is not None else Path("~/.netrc").expanduser()
    try:
        # netrc checks the default file's permissions itself (refused when
        # others may read it).
        entries = netrc.netrc(str(path) if file is not None else None)
    except FileNotFoundError:
        raise ConfigError(f"{where}: no password: set password_command or password_env, "
                          f"or add \"machine {endpoint.host} login {endpoint.user} "
                          f"password ...\" to {path}") from None
    except (netrc.NetrcParseError, OSError) as exc:
        raise ConfigError(f"{where}: cannot read {path}: {exc}") from exc
    found = entries.authenticators(endpoint.host)
    if found is None or (found[0] and found[0] != endpoint.user) or not found[2]:
        raise ConfigError(f"{where}: no password for {endpoint.user} at {endpoint.host} in "
                          f"{path} (and no password_command or password_env)")
    return found[2]


def read_password(endpoint: Endpoint, warn: Callable[[str], None] | None = None) -> str:
    """The password for ``endpoint``, from its configured source.

    Args:
        warn: Called with a warning (a plain password in the file).

    Raises:
        ConfigError: the source gave no password (a failing command, an unset
            variable, no netrc entry), or there is no source.
    """
    source: PasswordSource = endpoint.password
    where = endpoint.label
    if source.command is not None:
        return _from_command(source.command, where)
    if source.env is not None:
        return _from_env(source.env, where)
    if source.plain is not None:
        if warn is not None:
            warn(f"{where}: using the plain password from the accounts file "
                 "(allow_plain_password); prefer password_command")
        return source.plain
    if source.netrc is False:
        raise ConfigError(f"{where}: no password source (password_command, password_env "
                          "or password_netrc)")
    return _from_netrc(source.netrc if isinstance(source.netrc, Path) else None,
                       endpoint, where)


class PasswordResolver:
    """Reads each password once per run (one command call for SMTP and IMAP
    when both use the same source).

    Args:
        warn: Passed to :func:`read_password`.
    """

    def __init__(self, warn: Callable[[str], None] | None = None) -> None:
        self._warn = warn
        self._cache: dict[tuple[object, ...], str] = {}

    def __call__(self, endpoint: Endpoint) -> str:
        src = endpoint.password
        key = (src.command, src.env, src.plain, src.netrc, endpoint.host, endpoint.user)
        if key not in self._cache:
            self._cache[key] = read_password(endpoint, self._warn)
        return self._cache[key]
