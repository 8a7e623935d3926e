"""The user-agent commands as a user runs them (``python -m mimekit ...`` in a
subprocess) against ``mimekit serve`` and a real Dovecot: account test and
its one-line errors with their exit codes, send (compose and stdin forms),
fetch killed with SIGKILL and with Ctrl-C and run again, sync, list, show."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from agent_helpers import (
    Served,
    cli,
    deliver,
    dovecot,
    dovecot_account,
    imap_admin,
    message,
    mimekit_serve,
    serve_account,
)

from mimekit import compose
from mimekit.agent import digest, fetch_state_path
from mimekit.mailstore import Maildir


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    with mimekit_serve(40) as s:
        yield s


@pytest.fixture(scope="module")
def dv() -> Iterator[dict[str, str]]:
    with dovecot() as info:
        yield info


@pytest.fixture
def work() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="mimekit-ua-cli-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _config(work: Path, text: str, name: str = "accounts.toml") -> Path:
    path = work / name
    path.write_text(text)
    return path


def _one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    return lines[0]


# -- accounts and errors -----------------------------------------------------------------


def test_account_test_and_list(dv: dict[str, str], work: Path) -> None:
    cfg = _config(work, dovecot_account(dv, work / "mail"))
    run = cli("account", "test", "dv", "--config", cfg)
    assert run.returncode == 0, run.stderr
    assert f"imap alice@127.0.0.1:{dv['IMAPS_PORT']}: ok (TLS, logged in)" in run.stdout
    assert f"pop3 alice@127.0.0.1:{dv['POP3_PORT']}: ok (TLS, logged in)" in run.stdout
    assert "IMAP4REV1" in run.stdout and "UIDL" in run.stdout
    assert run.stderr == ""
    listed = cli("account", "list", "--config", cfg)
    assert listed.returncode == 0 and listed.stdout.startswith("* dv: imap alice@")


def test_errors_are_one_line_with_their_exit_codes(dv: dict[str, str], work: Path) -> None:
    cfg = _config(work, dovecot_account(dv, work / "mail"))
    bad = cli("fetch", "--config", cfg, env={"TEST_PW": "wrong"})
    assert bad.returncode == 4
    assert "authentication failed" in _one_line(bad.stderr)
    # No ca_file: Dovecot's self-signed certificate is not trusted.
    untrusted = _config(work, dovecot_account(dv, work / "mail").replace("ca_file", "#"),
                        "untrusted.toml")
    run = cli("fetch", "--config", untrusted)
    assert run.returncode == 5
    line = _one_line(run.stderr)
    assert "certificate not trusted" in line and "--tls-insecure" in line
    insecure = cli("fetch", "--config", untrusted, "--tls-insecure")
    assert insecure.returncode == 0, insecure.stderr
    assert "NOT verified" in insecure.stderr
    missing = cli("fetch", "--config", work / "nope.toml")
    assert missing.returncode == 2 and "no accounts file" in _one_line(missing.stderr)
    plain = _config(work, dovecot_account(dv, work / "mail").replace(
        'password_env = "TEST_PW"', 'password = "secret"'), "plain.toml")
    run = cli("fetch", "--config", plain)
    assert run.returncode == 2 and "plain password" in _one_line(run.stderr)
    unset = cli("fetch", "--config", cfg, env={"TEST_PW": ""})
    assert unset.returncode == 2 and "TEST_PW" in _one_line(unset.stderr)
    closed = _config(work, dovecot_account(dv, work / "mail").replace(
        f"port = {dv['IMAPS_PORT']}", "port = 24999"), "closed.toml")
    run = cli("fetch", "--config", closed)
    assert run.returncode == 1 and "cannot connect" in _one_line(run.stderr)


# -- send ------------------------------------------------------------------------------


def test_send_compose_form_with_attachment(served: Served, work: Path) -> None:
    cfg = _config(work, serve_account(served, work / "mail"))
    (work / "body.txt").write_text("Grüße!\n")
    (work / "notes.pdf").write_bytes(b"%PDF-1.4 fake")
    run = cli("send", "--config", cfg, "--to", "bob@example.test", "--bcc",
              "alice@example.test", "--subject", "Bericht", "--text-file", work / "body.txt",
              "--attach", work / "notes.pdf")
    assert run.returncode == 0, run.stderr
    assert "accepted bob@example.test: 250" in run.stdout
    assert "accepted alice@example.test: 250" in run.stdout
    assert "saved a copy in" in run.stdout
    arrived = served.wait_for("bob", 1)
    data = max(arrived, key=lambda p: p.stat().st_mtime).read_bytes()
    assert b"notes.pdf" in data and b"Bcc" not in data
    assert b"From: Alice <alice@example.test>" in data


def test_send_stdin_form_and_refused_recipient(served: Served, work: Path) -> None:
    cfg = _config(work, serve_account(served, work / "mail"))
    raw = (b"From: alice@example.test\nTo: bob@example.test, nobody@example.test\n"
           b"Subject: from stdin\n\nplain LF message\n")
    run = cli("send", "--config", cfg, input=raw)
    assert run.returncode == 3, run.stderr
    assert "accepted bob@example.test" in run.stdout
    assert "refused  nobody@example.test: 550" in run.stdout
    (copy,) = Maildir(work / "mail").folder("Sent").keys()
    sent = Maildir(work / "mail").folder("Sent").get_bytes(copy)
    # Date and Message-ID were added; the rest is as given.
    assert b"\nDate: " in sent and b"\nMessage-ID: <" in sent
    assert sent.endswith(b"\n\nplain LF message\n")
    nothing = cli("send", "--config", cfg, "--subject", "x")
    assert nothing.returncode == 2 and "no recipient" in _one_line(nothing.stderr)


# -- fetch, interrupted -------------------------------------------------------------------


def _fill(served: Served, user: str, count: int) -> None:
    md = Maildir(served.mailbox(user), create=True)
    for key in list(md):
        md.remove(key)
    for i in range(count):
        md.add(message(i, body="x" * 200))


def _got_lines(state: Path) -> int:
    try:
        return state.read_bytes().count(b'{"got"')
    except FileNotFoundError:
        return 0


def _interrupted_fetch(cfg: Path, state: Path, sig: int) -> subprocess.CompletedProcess[str]:
    proc = subprocess.Popen([sys.executable, "-m", "mimekit", "fetch", "--config", str(cfg)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "TEST_PW": "secret"})
    deadline = time.monotonic() + 30
    while _got_lines(state) < 20 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.005)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=30)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_fetch_killed_midway_then_resumed(served: Served, work: Path, sig: int) -> None:
    total = 400
    _fill(served, "bob", total)
    cfg = _config(work, serve_account(served, work / "mail", user="bob"))
    state = fetch_state_path(work / "mail", "pop3://bob@127.0.0.1")
    run = _interrupted_fetch(cfg, state, sig)
    stored = len(Maildir(work / "mail"))
    assert 0 < stored < total, "the fetch was not interrupted mid-way"
    if sig == signal.SIGINT:
        assert run.returncode == 130
        assert "interrupted" in run.stderr and "Traceback" not in run.stderr
    else:
        assert run.returncode == -signal.SIGKILL
    again = cli("fetch", "--config", cfg)
    assert again.returncode == 0, again.stderr
    assert f"fetched {total - stored} new messages" in again.stdout
    md = Maildir(work / "mail")
    digests = [digest(md.get_bytes(k)) for k in md]
    assert len(digests) == total and len(set(digests)) == total
    server = {digest(p.read_bytes()) for p in served.wait_for("bob", 0, timeout=0)}
    assert set(digests) == server
    # Nothing half-written is left: a file SIGKILL cut short in tmp/ (never
    # in new/ or cur/) was removed by the next run.
    assert not list((work / "mail" / "tmp").iterdir())
    assert "0 new messages" in cli("fetch", "--config", cfg).stdout


# -- sync, list, show ----------------------------------------------------------------------


def test_sync_list_show_round_trip(dv: dict[str, str], work: Path) -> None:
    user = "niaj"
    cfg = _config(work, dovecot_account(dv, work / "mail", user=user))
    deliver(dv, user, message(1, "plain one", body="first body"))
    html = compose(from_="h@example.test", to=f"{user}@example.test", subject="html only",
                   html="<p>Hello <b>there</b></p><script>x()</script>")
    deliver(dv, user, bytes(html))
    run = cli("sync", "--config", cfg)
    assert run.returncode == 0, run.stderr
    assert "downloaded 2" in run.stdout and run.stderr == ""
    listing = cli("list", "--config", cfg)
    assert listing.returncode == 0
    lines = listing.stdout.splitlines()
    assert len(lines) == 3 and "plain one" in lines[1] and "html only" in lines[2]
    shown = cli("show", "2", "--config", cfg)
    assert shown.returncode == 0
    assert "Subject: html only" in shown.stdout and "Hello there" in shown.stdout
    assert "<" not in shown.stdout.split("\n\n", 1)[1] and "x()" not in shown.stdout
    md = Maildir(work / "mail")
    raw = subprocess.run([sys.executable, "-m", "mimekit", "show", "--raw", "1", "--config",
                          str(cfg)], capture_output=True, check=True).stdout
    assert raw == md.get_bytes(md.keys()[0])
    unseen = cli("list", "--unseen", "--config", cfg).stdout.splitlines()
    assert len(unseen) == 2 and "plain one" in unseen[1]  # show 2 marked it seen
    by_key = cli("show", md.keys()[0][:15], "--peek", "--config", cfg)
    assert "first body" in by_key.stdout
    # The \Seen set by `show` goes up with the next sync.
    run = cli("sync", "--config", cfg)
    assert run.returncode == 0 and "flags changed there 1" in run.stdout
    with imap_admin(dv, user) as c:
        c.select("INBOX")
        assert len(c.search("SEEN")) == 1
    missing = cli("show", "9", "--config", cfg)
    assert missing.returncode == 2 and "no message 9" in _one_line(missing.stderr)


def test_sync_conflict_exit_code(dv: dict[str, str], work: Path) -> None:
    user = "olivia"
    cfg = _config(work, dovecot_account(dv, work / "mail", user=user))
    deliver(dv, user, message(1))
    assert cli("sync", "--config", cfg).returncode == 0
    md = Maildir(work / "mail")
    md.remove(md.keys()[0])
    with imap_admin(dv, user) as c:
        c.select("INBOX")
        c.store(c.search("ALL"), add_flags=["\\Flagged"])
    run = cli("sync", "--config", cfg)
    assert run.returncode == 3
    assert "conflict" in run.stderr and "kept" in run.stderr
    assert len(Maildir(work / "mail")) == 1
    assert cli("sync", "--config", cfg).returncode == 0
