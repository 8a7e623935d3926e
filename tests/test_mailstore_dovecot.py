"""Maildir interop with a real Dovecot (shared/peers): what our Maildir writes
is listed and fetched by Dovecot's IMAP (the stdlib imaplib is the client),
and what Dovecot delivers and flags is read by our Maildir.

Skips only when Dovecot is not installed (run shared/peers/install-peers).
"""

from __future__ import annotations

import imaplib
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import TESTS

import mimekit
from mimekit.mailstore import Maildir

PEERS = Path(os.environ.get("MIMEKIT_PEERS", TESTS.parent.parent / "shared" / "peers")).resolve()

pytestmark = pytest.mark.skipif(
    shutil.which("dovecot") is None or not (PEERS / "dovecot-up").exists(),
    reason="dovecot or shared/peers missing: run shared/peers/install-peers")


def _port_base(worker_id: str) -> int:
    # Not the README's 20000: other test modules may run their own Dovecot.
    n = 0 if worker_id == "master" else int(worker_id.lstrip("gw"))
    return 24000 + 3000 * n


@pytest.fixture(scope="module")
def worker_id(request: pytest.FixtureRequest) -> str:
    # pytest-xdist provides worker_id; without it there is one "master".
    return str(getattr(request.config, "workerinput", {}).get("workerid", "master"))


@pytest.fixture(scope="module")
def dovecot(worker_id: str) -> Iterator[dict[str, str]]:
    # The work dir must be reachable by "nobody", so not pytest's tmp_path.
    wd = tempfile.mkdtemp(prefix="mimekit-mailstore-dovecot-", dir="/tmp")
    try:
        up = subprocess.run([str(PEERS / "dovecot-up"), wd, str(_port_base(worker_id))],
                            capture_output=True, text=True)
        if up.returncode != 0:
            raise RuntimeError(f"dovecot-up failed ({up.returncode}): {up.stderr.strip()}")
        info = dict(line.split("=", 1) for line in up.stdout.splitlines() if "=" in line)
        info["WORKDIR"] = wd
        yield info
    finally:
        # Also after a failed start: stop whatever started, delete the dir.
        subprocess.run([str(PEERS / "dovecot-down"), wd, "--purge"], capture_output=True)
        shutil.rmtree(wd, ignore_errors=True)


def _deliver(dovecot: dict[str, str], user: str, raw: bytes, folder: str | None = None) -> None:
    cmd = [str(PEERS / "dovecot-deliver"), dovecot["WORKDIR"], user] + ([folder] if folder else [])
    subprocess.run(cmd, input=raw, check=True, capture_output=True)


def _maildir_path(dovecot: dict[str, str], user: str) -> Path:
    return Path(dovecot["MAIL_ROOT"]) / user / "Maildir"


def _give_to_dovecot(maildir: Path) -> None:
    """Dovecot reads mail as the owner of the store (``nobody`` when the peers
    run as root): hand it what we wrote, as an LDA running as that user would."""
    if os.geteuid() != 0:
        return
    st = os.stat(maildir)
    for dirpath, dirnames, filenames in os.walk(maildir):
        for name in dirnames + filenames:
            os.chown(os.path.join(dirpath, name), st.st_uid, st.st_gid)


def _imap(dovecot: dict[str, str], user: str) -> imaplib.IMAP4:
    c = imaplib.IMAP4("127.0.0.1", int(dovecot["IMAP_PORT"]))
    c.login(user, "secret")
    return c


def _fetch(c: imaplib.IMAP4, items: str) -> list[tuple[bytes, bytes]]:
    typ, data = c.fetch("1:*", items)
    assert typ == "OK"
    return [d for d in data if isinstance(d, tuple)]


def _crlf(raw: bytes) -> bytes:
    # Dovecot's IMAP sends every line end as CRLF.
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def test_dovecot_lists_and_fetches_what_we_write(dovecot: dict[str, str]) -> None:
    # Dovecot's own delivery creates alice's Maildir (owner, index files).
    _deliver(dovecot, "alice", b"From: lda@example.test\nSubject: first\n\nvia LDA\n")
    md = Maildir(_maildir_path(dovecot, "alice"))
    seen = b"From: Me <me@example.test>\nSubject: seen and flagged\n\nFrom the start\n"
    fresh = b"Subject: fresh\r\nContent-Type: text/plain\r\n\r\n" + b"line\r\n" * 2000
    mboxed = mimekit.parse(b"From me@example.test Sat Jan  1 00:00:00 2000\n"
                           b"Subject: had an mbox From line\n\nx\n")
    keys = [md.add(seen, flags="FS"), md.add(fresh), md.add(mboxed, flags="R")]
    sent = md.add_folder("Sent")  # Dovecot made it already (special-use): we share it
    sent_key = sent.add(b"Subject: in Sent\n\nsent\n", flags="S")
    drafts = md.add_folder("Entwürfe.2024")
    drafts.add(b"Subject: nested, non-ASCII folder\n\nd\n")
    _give_to_dovecot(md.path)

    c = _imap(dovecot, "alice")
    try:
        typ, listing = c.list()
        assert typ == "OK"
        names = {line.decode().rsplit(" ", 1)[-1].strip('"') for line in listing
                 if isinstance(line, bytes)}
        assert {"INBOX", "Sent", "Entw&APw-rfe/2024"} <= names

        typ, count = c.select("INBOX")
        assert typ == "OK" and count == [b"4"]
        fetched = _fetch(c, "(FLAGS RFC822.SIZE BODY.PEEK[])")
        by_subject = {mimekit.parse(body).subject: (meta, body) for meta, body in fetched}
        expected = {"seen and flagged": (seen, {"\\Flagged", "\\Seen"}),
                    "fresh": (fresh, set()),
                    "had an mbox From line": (b"Subject: had an mbox From line\n\nx\n",
                                              {"\\Answered"})}
        for (subject, (raw, flags)), key in zip(expected.items(), keys, strict=True):
            meta, body = by_subject[subject]
            assert body == _crlf(raw)
            m = re.search(rb"FLAGS \(([^)]*)\)", meta)
            assert m is not None
            assert set(m.group(1).decode().split()) - {"\\Recent"} == flags
            # Our W= field is the size Dovecot reports to IMAP clients.
            size = re.search(rb"RFC822.SIZE (\d+)", meta)
            assert size is not None
            assert key.endswith(f",W={int(size.group(1))}")

        typ, _ = c.select("Sent")
        assert typ == "OK"
        bodies = [body for _, body in _fetch(c, "(BODY.PEEK[])")]
        assert _crlf(sent.get_bytes(sent_key)) in bodies
        typ, _ = c.select('"Entw&APw-rfe/2024"')
        assert typ == "OK"
        assert [body for _, body in _fetch(c, "(BODY.PEEK[])")] == \
            [b"Subject: nested, non-ASCII folder\r\n\r\nd\r\n"]

        # A flag change we make is seen by Dovecot, and one Dovecot makes by us.
        c.select("INBOX")
        md.set_flags(keys[1], "D")
        c.noop()
        now = dict(_flags_by_subject(c))
        assert now["fresh"] == {"\\Draft"}
        typ, _ = c.store("1:*", "+FLAGS", "(\\Deleted)")
        assert typ == "OK"
        c.expunge()
    finally:
        c.logout()
    # Dovecot expunged (unlinked) them all: our keys are gone.
    assert len(md) == 0
    with pytest.raises(KeyError):
        md.get_bytes(keys[0])


def _flags_by_subject(c: imaplib.IMAP4) -> Iterator[tuple[str | None, set[str]]]:
    for meta, body in _fetch(c, "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])"):
        m = re.search(rb"FLAGS \(([^)]*)\)", meta)
        assert m is not None
        yield (mimekit.parse(body).subject,
               set(m.group(1).decode().split()) - {"\\Recent"})


def test_we_read_what_dovecot_delivers(dovecot: dict[str, str]) -> None:
    one = b"From: a@example.test\nSubject: one\nMessage-ID: <one@example.test>\n\nbody one\n"
    two = (b"From: b@example.test\nSubject: two\nContent-Type: multipart/mixed; boundary=b\n\n"
           b"--b\nContent-Type: text/plain\n\nhi\n--b\nContent-Type: application/pdf\n"
           b"Content-Disposition: attachment; filename=x.pdf\n\nPDF\n--b--\n")
    archived = b"From: c@example.test\nSubject: archived\n\nold\n"
    _deliver(dovecot, "bob", one)
    _deliver(dovecot, "bob", two)
    _deliver(dovecot, "bob", archived, "Archive")

    md = Maildir(_maildir_path(dovecot, "bob"))
    keys = md.keys()
    assert len(keys) == 2
    assert [md.get_bytes(k) for k in keys] == [one, two]
    assert all(md.get_subdir(k) == "new" and md.get_flags(k) == "" for k in keys)
    assert all(re.search(r",S=\d+,W=\d+$", k) for k in keys)  # Dovecot's size fields
    assert md[keys[1]].attachments[0].filename == "x.pdf"
    assert "Archive" in md.list_folders()
    assert [m.subject for m in md.folder("Archive").values()] == ["archived"]

    # Dovecot renames the files when flags change (into cur/, ":2,<flags>",
    # a keyword as a letter); the keys we hold stay valid.
    c = _imap(dovecot, "bob")
    try:
        c.select("INBOX")
        assert c.store("1", "+FLAGS", "(\\Seen \\Answered $Important)")[0] == "OK"
        assert c.store("2", "+FLAGS", "(\\Flagged)")[0] == "OK"
    finally:
        c.logout()
    assert md.get_flags(keys[0]) == "RSa"
    assert md.get_flags(keys[1]) == "F"
    assert md.get_subdir(keys[0]) == "cur"
    assert md.get_bytes(keys[0]) == one
    assert md[keys[0]].message_id == "one@example.test"
    keywords = (md.path / "dovecot-keywords").read_text()
    assert "0 $Important" in keywords
