"""The accounts file and every way to get a password (no network)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from mimekit.agent import (
    ConfigError,
    PasswordResolver,
    load_config,
    parse_config,
    read_password,
)

HERE = Path("/cfg/accounts.toml")

FULL = """
default = "work"

[accounts.home]
from = "Alice <alice@example.org>"
user = "alice"
maildir = "~/Mail/home"
password_command = "echo s3cret"

[accounts.home.smtp]
host = "smtp.example.org"

[accounts.home.imap]
host = "imap.example.org"

[accounts.work]
user = "a.liddell"
maildir = "mail/work"
password_env = "WORK_PW"
ca_file = "ca.pem"
sent_folder = "Gesendet"

[accounts.work.smtp]
host = "mx.work.test"
port = 465

[accounts.work.pop3]
host = "pop.work.test"
port = 1110
tls = "none"
user = "other"
password_netrc = true
timeout = 5
"""


def test_full_file_defaults_and_overrides() -> None:
    config = parse_config(FULL, HERE)
    assert list(config.accounts) == ["home", "work"]
    assert config.default == "work"
    home = config.account("home")
    assert home.address == "Alice <alice@example.org>"
    assert home.maildir == Path("~/Mail/home").expanduser()
    assert home.smtp is not None and home.imap is not None and home.pop3 is None
    # Never plain by default: STARTTLS on 587 for SMTP, implicit TLS for IMAP.
    assert (home.smtp.tls, home.smtp.port) == ("starttls", 587)
    assert (home.imap.tls, home.imap.port) == ("implicit", 993)
    assert home.smtp.password.command == "echo s3cret"
    assert home.fetch_endpoint() is home.imap
    work = config.account()  # the default
    assert work.name == "work"
    assert work.maildir == Path("/cfg/mail/work")  # relative to the file
    assert work.sent_folder == "Gesendet"
    assert work.smtp is not None and (work.smtp.tls, work.smtp.port) == ("implicit", 465)
    assert work.smtp.ca_file == Path("/cfg/ca.pem")
    assert work.smtp.password.env == "WORK_PW"
    pop = work.pop3
    assert pop is not None
    assert (pop.tls, pop.port, pop.user, pop.timeout) == (None, 1110, "other", 5.0)
    # The endpoint's password source replaces the account's whole source.
    assert pop.password.env is None and pop.password.netrc is True
    assert pop.label == "pop3 other@pop.work.test:1110"


def test_single_account_is_the_default_and_flagged_default() -> None:
    one = parse_config('[accounts.a]\nuser="u"\n[accounts.a.imap]\nhost="h"\n', HERE)
    assert one.account().name == "a"
    two = parse_config('[accounts.a]\nuser="u"\n[accounts.a.imap]\nhost="h"\n'
                       '[accounts.b]\nuser="u"\ndefault=true\n[accounts.b.imap]\nhost="h"\n',
                       HERE)
    assert two.account().name == "b"
    none = parse_config('[accounts.a]\nuser="u"\n[accounts.a.imap]\nhost="h"\n'
                        '[accounts.b]\nuser="u"\n[accounts.b.imap]\nhost="h"\n', HERE)
    with pytest.raises(ConfigError, match="no default"):
        none.account()
    with pytest.raises(ConfigError, match=r"no account 'zz'.*a, b"):
        none.account("zz")


@pytest.mark.parametrize(("text", "message"), [
    ("not toml [", "not valid TOML"),
    ("", "no accounts"),
    ('[accounts.a]\nuser="u"\n', "no server"),
    ('[accounts.a]\nuser="u"\nsmtpp={host="h"}\n[accounts.a.smtp]\nhost="h"\n',
     "unknown key smtpp"),
    ('[accounts.a]\nuser="u"\n[accounts.a.smtp]\nhots="h"\n', "unknown key hots"),
    ('[accounts.a]\nuser="u"\n[accounts.a.smtp]\nport=25\n', "host is missing"),
    ('[accounts.a]\n[accounts.a.smtp]\nhost="h"\n', "user is missing"),
    ('[accounts.a]\nuser="u"\n[accounts.a.smtp]\nhost="h"\nport="25"\n', "port must be"),
    ('[accounts.a]\nuser="u"\n[accounts.a.smtp]\nhost="h"\nport=true\n', "port must be"),
    ('[accounts.a]\nuser="u"\n[accounts.a.smtp]\nhost="h"\nport=70000\n', "out of range"),
    ('[accounts.a]\nuser="u"\n[accounts.a.smtp]\nhost="h"\ntls="maybe"\n', "tls must be"),
    ('[accounts.a]\nuser="u"\nfetch="nntp"\n[accounts.a.imap]\nhost="h"\n', "fetch must"),
    ('default="b"\n[accounts.a]\nuser="u"\n[accounts.a.imap]\nhost="h"\n', "not defined"),
    # The rule of the issue: no plain password unless explicitly allowed.
    ('[accounts.a]\nuser="u"\npassword="pw"\n[accounts.a.imap]\nhost="h"\n',
     "plain password in the file is refused"),
])
def test_bad_files_give_one_clear_line(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        parse_config(text, HERE)
    assert "\n" not in str(info.value)
    assert info.value.exit_code == 2


@pytest.mark.parametrize(("tls", "port", "expected"), [
    (None, None, ("starttls", 587)), ("none", None, (None, 25)),
    ("implicit", None, ("implicit", 465)), (None, 465, ("implicit", 465)),
    (None, 2525, ("starttls", 2525)), ("STARTTLS", 2587, ("starttls", 2587)),
])
def test_smtp_tls_and_port_rules(tls: str | None, port: int | None,
                                 expected: tuple[str | None, int]) -> None:
    extra = (f'tls="{tls}"\n' if tls else "") + (f"port={port}\n" if port else "")
    config = parse_config(f'[accounts.a]\nuser="u"\n[accounts.a.smtp]\nhost="h"\n{extra}',
                          HERE)
    smtp = config.account().smtp
    assert smtp is not None and (smtp.tls, smtp.port) == expected


def test_load_config_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="no accounts file at"):
        load_config(tmp_path / "missing.toml")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    (tmp_path / "mimekit").mkdir()
    (tmp_path / "mimekit" / "accounts.toml").write_text(
        '[accounts.x]\nuser="u"\nmaildir="m"\n[accounts.x.pop3]\nhost="h"\n')
    config = load_config()
    assert config.account().maildir == tmp_path / "mimekit" / "m"
    assert config.account().pop3 is not None and config.account().pop3.port == 995


# -- passwords ------------------------------------------------------------------------


def _endpoint(source: str, user: str = "alice", host: str = "mail.example.test") -> object:
    config = parse_config(f'[accounts.a]\nuser="{user}"\n{source}\n'
                          f'[accounts.a.imap]\nhost="{host}"\n', HERE)
    return config.account().imap


def test_password_command_first_line_through_the_shell(tmp_path: Path) -> None:
    script = tmp_path / "pw.py"
    script.write_text("print('from-command'); print('second line')\n")
    ep = _endpoint(f'password_command = "{sys.executable} {script} | cat"')
    assert read_password(ep) == "from-command"  # type: ignore[arg-type]


def test_password_command_failures() -> None:
    ep = _endpoint('password_command = "echo nope >&2; exit 3"')
    with pytest.raises(ConfigError, match=r"password_command failed \(exit status 3\): nope"):
        read_password(ep)  # type: ignore[arg-type]
    ep = _endpoint('password_command = "true"')
    with pytest.raises(ConfigError, match="printed no password"):
        read_password(ep)  # type: ignore[arg-type]


def test_password_env(monkeypatch: pytest.MonkeyPatch) -> None:
    ep = _endpoint('password_env = "MIMEKIT_TEST_PW"')
    monkeypatch.delenv("MIMEKIT_TEST_PW", raising=False)
    with pytest.raises(ConfigError, match=r"MIMEKIT_TEST_PW .* is not set"):
        read_password(ep)  # type: ignore[arg-type]
    monkeypatch.setenv("MIMEKIT_TEST_PW", "from-env")
    assert read_password(ep) == "from-env"  # type: ignore[arg-type]


def test_password_netrc_default_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    ep = _endpoint("")
    with pytest.raises(ConfigError, match="no password: set password_command"):
        read_password(ep)  # type: ignore[arg-type]
    netrc = tmp_path / ".netrc"
    netrc.write_text("machine other.test login alice password nope\n"
                     "machine mail.example.test login alice password from-netrc\n")
    netrc.chmod(0o600)
    assert read_password(ep) == "from-netrc"  # type: ignore[arg-type]
    # A login that is not ours is not used.
    with pytest.raises(ConfigError, match=r"no password for bob at mail\.example\.test"):
        read_password(_endpoint("", user="bob"))  # type: ignore[arg-type]
    if os.geteuid() != 0:  # root owns every file: netrc's check is about others
        netrc.chmod(0o644)
        with pytest.raises(ConfigError, match="cannot read"):
            read_password(ep)  # type: ignore[arg-type]


def test_password_netrc_named_file_and_disabled(tmp_path: Path) -> None:
    named = tmp_path / "my-netrc"
    named.write_text("machine mail.example.test login alice password named\n")
    ep = _endpoint(f'password_netrc = "{named}"')
    assert read_password(ep) == "named"  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="no password source"):
        read_password(_endpoint("password_netrc = false"))  # type: ignore[arg-type]


def test_plain_password_only_when_allowed_and_then_warned() -> None:
    ep = _endpoint('password = "plain"\nallow_plain_password = true')
    warnings: list[str] = []
    assert read_password(ep, warnings.append) == "plain"  # type: ignore[arg-type]
    assert len(warnings) == 1 and "plain password" in warnings[0]


def test_resolver_asks_each_source_once(tmp_path: Path) -> None:
    counter = tmp_path / "count"
    ep = _endpoint(f'password_command = "echo x >> {counter}; echo pw"')
    resolve = PasswordResolver()
    assert [resolve(ep), resolve(ep)] == ["pw", "pw"]  # type: ignore[arg-type]
    assert counter.read_text() == "x\n"


def test_the_example_accounts_file_is_valid() -> None:
    from conftest import TESTS

    config = load_config(TESTS.parent / "examples" / "accounts.toml")
    assert config.default == "local" and list(config.accounts) == ["local", "work", "old"]
    work = config.account("work")
    assert work.imap is not None and (work.imap.tls, work.imap.port) == ("implicit", 993)
    assert work.smtp is not None and (work.smtp.tls, work.smtp.port) == ("starttls", 587)
    old = config.account("old")
    assert old.fetch_endpoint() is old.pop3 and old.pop3 is not None
    assert old.pop3.password.netrc is True
