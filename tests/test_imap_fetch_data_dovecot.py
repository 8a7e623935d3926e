"""The FETCH data of our IMAP store against a real Dovecot, on the corpus.

Every corpus message (``tests/corpus`` plus the shared extras when present)
is APPENDed to a private Dovecot (``shared/peers/dovecot-up``, port base
14000) and to our store (:class:`mimekit.imap._mailbox.MailStore`); then
``RFC822.SIZE``, ``ENVELOPE``, ``BODYSTRUCTURE`` and ``BODY[1]<0.100>`` are
compared after parsing, case-folded, quoted and literal strings alike.

The target is 95 % identical. Every message on which we differ on purpose
is listed in :data:`DELIBERATE` with the reason (see also
``docs/imap-server-model.rst``); the test fails on any other difference,
and on a listed message that no longer differs (so the list stays true).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from corpus_files import corpus_id, message_files
from imap_server_helpers import Dovecot, append_and_fetch, dovecot_available, norm

from mimekit.imap._mailbox import MailStore

pytestmark = pytest.mark.skipif(not dovecot_available(),
                                reason="dovecot or shared/peers missing: run install-peers")

ITEMS = "(RFC822.SIZE ENVELOPE BODYSTRUCTURE BODY.PEEK[1]<0.100>)"

_PREFIX = ("delimiter lines where the boundary is followed by more characters ('--ab' "
           "for boundary 'a'), in multiparts nested with boundaries that are prefixes of "
           "each other (or empty): RFC 2046 5.1.1 wants the boundary followed by the end of "
           "the line or whitespace, as the tree reads it; Dovecot takes every line that "
           "starts with a boundary, the longest one that matches")
_LONG = ("a boundary longer than RFC 2046's 70 characters: Dovecot matches only as "
         "much of it as it has buffered, the tree matches the whole boundary")

#: Messages where we differ from Dovecot on purpose, and why.
DELIBERATE: dict[str, str] = {
    "mimekit/mbox/simple.mbox.txt": _PREFIX,
    "stalwart-mail-parser/eml/malformed/004.eml": _PREFIX,
    "stalwart-mail-parser/eml/malformed/005.eml": _PREFIX,
    "stalwart-mail-parser/eml/malformed/007.eml": _PREFIX,
    "stalwart-mail-parser/eml/malformed/016.eml": _PREFIX,
    "james-mime4j/core/src/test/resources/testmsgs/very-long-boundary.msg": _LONG,
    "james-mime4j/core/src/test/resources/testmsgs/very-very-long-boundary.msg": _LONG,
    "stalwart-mail-parser/eml/legacy/049.eml": (
        "a bare CR at the very end: we store the message byte for byte, Dovecot's "
        "save filter turns that CR into a line end (one more octet and line)"),
}


def _as_stored(raw: bytes) -> bytes:
    # Maildir.add stores a message without its mbox "From " line; give
    # Dovecot the same bytes.
    if raw.startswith(b"From "):
        nl = raw.find(b"\n")
        return raw[nl + 1:] if nl >= 0 else b""
    return raw


@pytest.fixture(scope="module")
def dovecot() -> Iterator[Dovecot]:
    server = Dovecot(14000)
    try:
        yield server
    finally:
        server.stop()


def _ours(store: MailStore, raw: bytes) -> dict[str, Any]:
    store.append("INBOX", raw)
    view = store.select("INBOX", readonly=True)
    seq = view.exists
    out = {
        "RFC822.SIZE": view.rfc822_size(seq),
        "ENVELOPE": view.envelope(seq),
        "BODYSTRUCTURE": view.body_structure(seq),
        "BODY[1]<0>": view.message_data(seq).section("1", 0, 100)
        .decode("utf-8", "surrogateescape"),
    }
    view.unselect()
    return out


def test_fetch_data_matches_dovecot(dovecot: Dovecot, tmp_path: Path) -> None:
    store = MailStore(tmp_path / "alice")
    files = message_files()
    assert len(files) >= 250
    differ: dict[str, list[str]] = {}
    with dovecot.imap() as conn:
        conn.create("corpus")
        conn.select("corpus")
        for path in files:
            raw = _as_stored(path.read_bytes())
            theirs = append_and_fetch(conn, "corpus", raw, ITEMS)
            ours = _ours(store, raw)
            bad = [k for k in ours if norm(ours[k]) != norm(theirs.get(k))]
            if bad:
                differ[corpus_id(path)] = bad
    identical = len(files) - len(differ)
    rate = identical / len(files)
    print(f"\nDovecot comparison: {identical}/{len(files)} identical ({rate:.1%})")
    unexpected = {k: v for k, v in differ.items() if k not in DELIBERATE}
    assert not unexpected, f"differences from Dovecot not on the deliberate list: {unexpected}"
    present = {corpus_id(p) for p in files}
    stale = [k for k in DELIBERATE if k in present and k not in differ]
    assert not stale, f"on the deliberate list but identical now: {stale}"
    assert rate >= 0.95
