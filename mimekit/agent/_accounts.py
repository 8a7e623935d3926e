"""Accounts: read ``accounts.toml`` (stdlib :mod:`tomllib`) into typed values.

The file (default ``~/.config/mimekit/accounts.toml``)::

    default = "home"                       # optional; one account is the default anyway

    [accounts.home]
    from = "Alice <alice@example.org>"     # the From of `mimekit send`
    user = "alice"                         # login for every endpoint (overridable)
    maildir = "~/Mail/home"                # the local Maildir (relative: to this file)
    password_command = "pass show mail/home"

    [accounts.home.smtp]
    host = "smtp.example.org"
    port = 587                             # default from tls: 465 implicit, else 587
    tls = "starttls"                       # "implicit" | "starttls" | "none"

    [accounts.home.imap]                   # and/or [accounts.home.pop3]
    host = "imap.example.org"              # tls "implicit" by default: port 993

Unknown keys are refused, so a typo is an error and not a silently ignored
setting. Password keys (:mod:`._passwords`), ``ca_file``, ``tls_insecure``
and ``timeout`` may be given per account or per endpoint; the endpoint's win.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._errors import ConfigError

__all__ = [
    "DEFAULT_CONFIG",
    "Account",
    "Config",
    "Endpoint",
    "PasswordSource",
    "default_config_path",
    "load_config",
]

#: Where the accounts file is looked for when ``--config`` is not given
#: (``$XDG_CONFIG_HOME/mimekit/accounts.toml`` when that variable is set).
DEFAULT_CONFIG = "~/.config/mimekit/accounts.toml"

_PROTOCOLS = ("smtp", "imap", "pop3")
#: Default ports per protocol and TLS mode.
_PORTS = {
    "smtp": {"implicit": 465, "starttls": 587, None: 25},
    "imap": {"implicit": 993, "starttls": 143, None: 143},
    "pop3": {"implicit": 995, "starttls": 110, None: 110},
}
_IMPLICIT_PORTS = frozenset({465, 993, 995})
_TLS_NAMES = {"implicit": "implicit", "ssl": "implicit", "tls": "implicit",
              "starttls": "starttls", "none": None, "off": None}

_PASSWORD_KEYS = frozenset({"password_command", "password_env", "password_netrc", "password",
                            "allow_plain_password"})
_SHARED_KEYS = _PASSWORD_KEYS | {"user", "ca_file", "tls_insecure", "timeout"}
_ENDPOINT_KEYS = _SHARED_KEYS | {"host", "port", "tls"}
_ACCOUNT_KEYS = _SHARED_KEYS | {"from", "maildir", "sent_folder", "save_sent", "fetch",
                                "default", *_PROTOCOLS}


def default_config_path() -> Path:
    """``$XDG_CONFIG_HOME/mimekit/accounts.toml``, else ``~/.config/...``."""
    xdg = os.environ.get("XDG_CONFIG_HOME")
    if xdg:
        return Path(xdg) / "mimekit" / "accounts.toml"
    return Path(DEFAULT_CONFIG).expanduser()


@dataclass(frozen=True, slots=True, kw_only=True)
class PasswordSource:
    """Where an endpoint's password comes from (tried in this order).

    Attributes:
        command: A shell command whose first output line is the password
            (msmtp's ``passwordeval``, mbsync's ``PassCmd``).
        env: The name of an environment variable holding it.
        plain: A password written in the file (only with
            ``allow_plain_password = true``; a warning is shown on use).
        netrc: Look in ``~/.netrc`` (True, the fallback), in that file (a
            path), or not at all (False).
    """

    command: str | None = None
    env: str | None = None
    plain: str | None = None
    netrc: bool | Path = True


@dataclass(frozen=True, slots=True, kw_only=True)
class Endpoint:
    """One server of an account.

    Attributes:
        protocol: ``"smtp"``, ``"imap"`` or ``"pop3"``.
        host, port: Where it listens.
        tls: None (plain), ``"starttls"`` or ``"implicit"``.
        user: The login name.
        password: Where the password comes from.
        ca_file: A PEM file of certificates to trust instead of the system's.
        tls_insecure: Do not verify the certificate (a warning is shown).
        timeout: Seconds per network operation.
    """

    protocol: str
    host: str
    port: int
    tls: str | None
    user: str
    password: PasswordSource = field(default_factory=PasswordSource)
    ca_file: Path | None = None
    tls_insecure: bool = False
    timeout: float = 60.0

    @property
    def label(self) -> str:
        """``"imap alice@mail.example:993"``: names it in messages."""
        return f"{self.protocol} {self.user}@{self.host}:{self.port}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Account:
    """One account of the accounts file.

    Attributes:
        name: Its name (the TOML table's).
        address: The From for new messages (``"Alice <a@example.org>"``).
        maildir: The local Maildir, or None.
        smtp, imap, pop3: The endpoints (each may be None).
        sent_folder: Where copies of sent mail go (a special-use ``\\Sent``
            mailbox on the IMAP server wins over the name there).
        save_sent: Keep a copy of sent mail at all.
        fetch: ``"imap"`` or ``"pop3"``: what ``mimekit fetch`` uses.
    """

    name: str
    address: str | None = None
    maildir: Path | None = None
    smtp: Endpoint | None = None
    imap: Endpoint | None = None
    pop3: Endpoint | None = None
    sent_folder: str = "Sent"
    save_sent: bool = True
    fetch: str | None = None

    def need_maildir(self) -> Path:
        """The Maildir, or a :class:`ConfigError` saying it is missing."""
        if self.maildir is None:
            raise ConfigError(f"account {self.name!r} has no maildir")
        return self.maildir

    def fetch_endpoint(self) -> Endpoint:
        """The endpoint ``mimekit fetch`` reads from."""
        choice = self.fetch or ("imap" if self.imap is not None else "pop3")
        endpoint = self.imap if choice == "imap" else self.pop3
        if endpoint is None:
            raise ConfigError(f"account {self.name!r} has no {choice} server to fetch from")
        return endpoint


@dataclass(frozen=True, slots=True)
class Config:
    """The accounts file, read.

    Attributes:
        path: The file it came from.
        accounts: By name, in file order.
        default: The default account's name, or None when there is none.
    """

    path: Path
    accounts: dict[str, Account]
    default: str | None = None

    def account(self, name: str | None = None) -> Account:
        """The account called ``name``, or the default one.

        Raises:
            ConfigError: no such account, or no default to pick.
        """
        if name is None:
            if self.default is None:
                raise ConfigError(f"{self.path}: several accounts and no default: use "
                                  "--account NAME or set default = \"NAME\"")
            name = self.default
        try:
            return self.accounts[name]
        except KeyError:
            known = ", ".join(self.accounts) or "none"
            raise ConfigError(f"{self.path}: no account {name!r} (accounts: {known})") from None


# -- reading --------------------------------------------------------------------------


def _check_keys(table: dict[str, Any], allowed: frozenset[str] | set[str], where: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise ConfigError(f"{where}: unknown key{'s' if len(unknown) > 1 else ''} "
                          f"{', '.join(unknown)}")


def _typed(table: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    value = table.get(key)
    if value is not None and (not isinstance(value, kind) or
                              (kind is int and isinstance(value, bool))):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise ConfigError(f"{where}: {key} must be a {names}, not {value!r}")
    return value


def _path(value: str, base: Path) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else base / path


def _password(merged: dict[str, Any], where: str, base: Path) -> PasswordSource:
    command = _typed(merged, "password_command", str, where)
    env = _typed(merged, "password_env", str, where)
    plain = _typed(merged, "password", str, where)
    allow = _typed(merged, "allow_plain_password", bool, where)
    netrc_value = _typed(merged, "password_netrc", (bool, str), where)
    if plain is not None and not allow:
        raise ConfigError(f"{where}: a plain password in the file is refused; use "
                          "password_command, password_env or ~/.netrc (or set "
                          "allow_plain_password = true)")
    netrc: bool | Path = True if netrc_value is None else netrc_value \
        if isinstance(netrc_value, bool) else _path(netrc_value, base)
    return PasswordSource(command=command, env=env, plain=plain, netrc=netrc)


def _tls(value: Any, port: int | None, where: str) -> str | None:
    if value is None:
        # The port decides when only it is given; otherwise never plain by
        # accident: STARTTLS (or implicit TLS for IMAP/POP3 defaults below).
        return "implicit" if port in _IMPLICIT_PORTS else "starttls"
    if not isinstance(value, str) or value.lower() not in _TLS_NAMES:
        raise ConfigError(f"{where}: tls must be \"implicit\", \"starttls\" or \"none\", "
                          f"not {value!r}")
    return _TLS_NAMES[value.lower()]


def _endpoint(protocol: str, table: Any, account: dict[str, Any], where: str,
              base: Path) -> Endpoint:
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: must be a table ([{where}])")
    _check_keys(table, _ENDPOINT_KEYS, where)
    merged = {k: v for k, v in account.items() if k in _SHARED_KEYS}
    if _PASSWORD_KEYS & table.keys():
        # A password source given for the endpoint replaces the account's
        # whole source, so the two never mix (e.g. the account's command
        # shadowing the endpoint's environment variable).
        merged = {k: v for k, v in merged.items() if k not in _PASSWORD_KEYS}
    merged.update(table)
    host = _typed(merged, "host", str, where)
    if not host:
        raise ConfigError(f"{where}: host is missing")
    port = _typed(merged, "port", int, where)
    if "tls" not in merged and port is None and protocol in ("imap", "pop3"):
        tls: str | None = "implicit"
    else:
        tls = _tls(merged.get("tls"), port, where)
    if port is None:
        port = _PORTS[protocol][tls]
    if not 0 < port < 65536:
        raise ConfigError(f"{where}: port {port} is out of range")
    user = _typed(merged, "user", str, where)
    if not user:
        raise ConfigError(f"{where}: user is missing (set it in the account or here)")
    ca_file = _typed(merged, "ca_file", str, where)
    timeout = _typed(merged, "timeout", (int, float), where)
    return Endpoint(
        protocol=protocol, host=host, port=port, tls=tls, user=user,
        password=_password(merged, where, base),
        ca_file=_path(ca_file, base) if ca_file else None,
        tls_insecure=bool(_typed(merged, "tls_insecure", bool, where)),
        timeout=float(timeout) if timeout is not None else 60.0)


def _account(name: str, table: Any, base: Path) -> Account:
    where = f"accounts.{name}"
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: must be a table ([{where}])")
    _check_keys(table, _ACCOUNT_KEYS, where)
    endpoints = {p: _endpoint(p, table[p], table, f"{where}.{p}", base)
                 for p in _PROTOCOLS if p in table}
    if not endpoints:
        raise ConfigError(f"{where}: no server: add [{where}.smtp], [{where}.imap] or "
                          f"[{where}.pop3]")
    fetch = _typed(table, "fetch", str, where)
    if fetch is not None and fetch not in ("imap", "pop3"):
        raise ConfigError(f"{where}: fetch must be \"imap\" or \"pop3\", not {fetch!r}")
    maildir = _typed(table, "maildir", str, where)
    sent = _typed(table, "sent_folder", str, where) or "Sent"
    save_sent = _typed(table, "save_sent", bool, where)
    return Account(
        name=name, address=_typed(table, "from", str, where),
        maildir=_path(maildir, base) if maildir else None,
        smtp=endpoints.get("smtp"), imap=endpoints.get("imap"), pop3=endpoints.get("pop3"),
        sent_folder=sent, save_sent=True if save_sent is None else save_sent, fetch=fetch)


def parse_config(text: str, path: Path) -> Config:
    """Read the accounts file's text (``path`` for messages and relative paths).

    Raises:
        ConfigError: not TOML, or not a valid accounts file.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    _check_keys(data, {"default", "accounts"}, str(path))
    tables = data.get("accounts", {})
    if not isinstance(tables, dict) or not tables:
        raise ConfigError(f"{path}: no accounts: add an [accounts.NAME] table")
    base = path.parent
    try:
        accounts = {name: _account(name, table, base) for name, table in tables.items()}
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    default = data.get("default")
    flagged = [name for name, t in tables.items() if isinstance(t, dict) and t.get("default")]
    if default is None and len(flagged) == 1:
        default = flagged[0]
    elif default is None and len(accounts) == 1:
        default = next(iter(accounts))
    if default is not None and default not in accounts:
        raise ConfigError(f"{path}: default account {default!r} is not defined")
    return Config(path, accounts, default)


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    """Read an accounts file (default: :func:`default_config_path`).

    Raises:
        ConfigError: missing, unreadable, not TOML, or not a valid accounts file.
    """
    target = Path(path).expanduser() if path is not None else default_config_path()
    try:
        text = target.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"no accounts file at {target} (see `mimekit account --help`; "
                          "--config FILE reads another)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {target}: {exc}") from exc
    return parse_config(text, target.resolve())
