"""ENVELOPE and BODYSTRUCTURE through the server: ``mimekit serve`` against a
real Dovecot, over IMAP, on the corpus.

Every corpus message (``tests/corpus`` plus the shared extras when present)
is APPENDed with imaplib to a running ``mimekit serve`` and to a private
Dovecot (``shared/peers/dovecot-up``, port base 20000); then ``RFC822.SIZE``,
``ENVELOPE``, ``BODYSTRUCTURE`` and ``BODY[1]<0.100>`` are fetched from both
with imaplib and compared after parsing (:mod:`imap_server_helpers`: a
parser of its own), case-folded, quoted and literal strings alike.

The target is 95 % identical. A difference is allowed only for a message on
the deliberate list of ``test_imap_fetch_data_dovecot.py`` (the same
reasons hold through the server: it sends what the mailbox model computes).
"""

from __future__ import annotations

import imaplib
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from corpus_files import corpus_id, message_files
from imap_server_fixtures import free_port
from imap_server_helpers import Dovecot, fetch_items, imaplib_raw, norm
from test_imap_fetch_data_dovecot import DELIBERATE, ITEMS, _as_stored

from mimekit.imap._server_handler import MaildirHandler

pytestmark = pytest.mark.skipif(shutil.which("dovecot") is None,
                                reason="dovecot not installed: run shared/peers/install-peers")
assert MaildirHandler  # the server under test is the one mimekit serve runs


@pytest.fixture(scope="module")
def dovecot() -> Iterator[Dovecot]:
    server = None
    for base in (20000, 20300, 20600):
        try:
            server = Dovecot(base)
            break
        except RuntimeError as exc:
            if "in use" not in str(exc):
                raise
    assert server is not None, "no free port base for Dovecot in 20000-20999"
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def served() -> Iterator[int]:
    directory = Path(tempfile.mkdtemp(prefix="mimekit-imap-dovecot-cmp-"))
    subprocess.run([sys.executable, "-m", "mimekit", "user", "add", "alice", "--password",
                    "secret", "--dir", str(directory)], check=True, capture_output=True)
    port = free_port(15600, 15700)
    proc = subprocess.Popen(
        [sys.executable, "-m", "mimekit", "serve", "--dir", str(directory), "--smtp-port", "0",
         "--submission-port", "0", "--pop3-port", "0", "--imap-port", str(port),
         "--max-size", str(64 << 20)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == f"imap listening on 127.0.0.1:{port}\n"
        yield port
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        if proc.stdout is not None:
            proc.stdout.close()
        shutil.rmtree(directory, ignore_errors=True)


def _append_and_fetch(conn: imaplib.IMAP4, raw: bytes) -> dict[str, object]:
    typ, data = conn.append("corpus", None, None, raw)
    assert typ == "OK", data
    code = data[0].decode() if isinstance(data[0], bytes) else str(data[0])
    uid = code.split("APPENDUID ")[1].split()[1].rstrip("]")
    typ, data = conn.uid("FETCH", uid, ITEMS)
    assert typ == "OK", data
    return fetch_items(imaplib_raw(data))


def test_fetch_data_through_the_server_matches_dovecot(dovecot: Dovecot, served: int) -> None:
    files = message_files()
    assert len(files) >= 250
    ours = imaplib.IMAP4("127.0.0.1", served)
    ours.login("alice", "secret")
    differ: dict[str, list[str]] = {}
    with dovecot.imap() as theirs:
        for conn in (ours, theirs):
            assert conn.create("corpus")[0] == "OK"
            assert conn.select("corpus")[0] == "OK"
        for path in files:
            raw = _as_stored(path.read_bytes())
            if not raw:
                continue
            a = _append_and_fetch(ours, raw)
            b = _append_and_fetch(theirs, raw)
            bad = [k for k in b if k != "UID" and norm(a.get(k)) != norm(b[k])]
            if bad:
                differ[corpus_id(path)] = bad
    ours.logout()
    compared = len([p for p in files if _as_stored(p.read_bytes())])
    identical = compared - len(differ)
    rate = identical / compared
    print(f"\nDovecot comparison through the server: {identical}/{compared} identical "
          f"({rate:.1%}); differing: {sorted(differ)}")
    unexpected = {k: v for k, v in differ.items() if k not in DELIBERATE}
    assert not unexpected, f"differences from Dovecot not on the deliberate list: {unexpected}"
    assert rate >= 0.95
