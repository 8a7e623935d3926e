"""SASLprep (RFC 4013), and where it applies: our PLAIN and LOGIN clients
and the users file of ``mimekit serve``."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from mimekit._saslprep import saslprep
from mimekit.serve import UserDB
from mimekit.smtp._sasl import client_mechanism


@pytest.mark.parametrize(("given", "prepared"), [
    # RFC 4013 section 3, the examples.
    ("I\u00adX", "IX"),  # SOFT HYPHEN mapped to nothing
    ("user", "user"),
    ("USER", "USER"),  # case is kept
    ("\u00aa", "a"),  # NFKC
    ("\u2168", "IX"),  # ROMAN NUMERAL NINE, NFKC
    # And the cases that matter for passwords typed on different systems.
    ("caf\u00e9", "caf\u00e9"),
    ("cafe\u0301", "caf\u00e9"),  # a combining accent composes
    ("pass\u00a0word", "pass word"),  # NO-BREAK SPACE is a space
    ("a\u200bb", "ab"),  # ZERO WIDTH SPACE is mapped to nothing
    ("plain ASCII p@ss w0rd!", "plain ASCII p@ss w0rd!"),
    ("\u05d0\u05d1", "\u05d0\u05d1"),  # right-to-left only: fine
])
def test_prepared_forms(given: str, prepared: str) -> None:
    assert saslprep(given) == prepared


@pytest.mark.parametrize("bad", [
    "\u0007",  # RFC 4013: BELL, a control character
    "a\tb", "x\x00y", "\ue000",  # control, NUL, private use
    "\udcff",  # a lone surrogate (an undecodable byte carried as a surrogate escape)
    "\u0627\u0031",  # RFC 4013: ARABIC LETTER then a digit: must end right-to-left
    "\u05d0a\u05d1",  # right-to-left mixed with left-to-right
])
def test_prohibited(bad: str) -> None:
    with pytest.raises(ValueError, match="SASLprep"):
        saslprep(bad)


def test_unassigned_only_in_queries() -> None:
    unassigned = "\u0221"  # unassigned in Unicode 3.2
    assert saslprep(unassigned, allow_unassigned=True) == unassigned
    with pytest.raises(ValueError, match="unassigned"):
        saslprep(unassigned)


def test_clients_send_prepared_credentials() -> None:
    plain = client_mechanism("PLAIN", "user", "cafe\u0301\u00a0x")
    assert base64.b64decode(plain.initial_response() or "") == "\0user\0caf\u00e9 x".encode()
    login = client_mechanism("LOGIN", "I\u00adX", "pa\u00adss")
    answers = [base64.b64decode(login.respond(base64.b64encode(p).decode()))
               for p in (b"Username:", b"Password:")]
    assert answers == [b"IX", b"pass"]
    # What SASLprep refuses is sent as given: many servers do not prepare
    # passwords, and the user must still be able to log in to them.
    for raw in ("bell\u0007", "\u05e9\u05dc\u05d5\u05dd123"):
        plain = client_mechanism("PLAIN", "user", raw)
        assert base64.b64decode(plain.initial_response() or "") == f"\0user\0{raw}".encode()


def test_users_file_compares_prepared_passwords(tmp_path: Path) -> None:
    db = UserDB(tmp_path / "users")
    db.set_password("alice", "cafe\u0301 au lait")  # typed with a combining accent
    assert db.verify("alice", "caf\u00e9 au lait")  # composed: the same password
    assert db.verify("alice", "caf\u00e9\u00a0au lait")
    assert not db.verify("alice", "cafe au lait")
    assert not db.verify("alice", "caf\u00e9 au lait\u0007")  # refused by SASLprep: False
    with pytest.raises(ValueError, match="SASLprep"):
        db.set_password("bob", "tab\there")
    db.set_password("carol", "plain-ascii")  # unchanged by SASLprep
    assert db.verify("carol", "plain-ascii")


def test_users_file_hashes_made_before_saslprep_still_work(tmp_path: Path) -> None:
    from mimekit.serve._users import hash_password

    raw = {"erin": "pass\u00a0word", "frank": "\u05e9\u05dc\u05d5\u05dd123",
           "grace": "cafe\u0301"}
    (tmp_path / "users").write_text("".join(f"{u}:{hash_password(p)}\n" for u, p in raw.items()))
    db = UserDB(tmp_path / "users")
    for user, password in raw.items():
        assert db.verify(user, password), user  # as typed when the hash was made
        assert not db.verify(user, password + "x"), user


def test_end_to_end_against_mimekit_serve() -> None:
    """A password set with a composed accent works when typed decomposed,
    over SMTP AUTH PLAIN (prepared by our client) and IMAP LOGIN (prepared
    by the server's users file)."""
    from serve_helpers import running_mail_system

    from mimekit.imap import IMAPClient
    from mimekit.smtp import SMTPClient

    with running_mail_system() as run:
        UserDB(run.directory / "users").set_password("dora", "\u00dcber-caf\u00e9")
        typed = "U\u0308ber-cafe\u0301"
        with SMTPClient("127.0.0.1", run.smtp, allow_insecure_auth=True) as c:
            c.ehlo()
            assert c.login("dora", typed, mechanism="PLAIN").code == 235
        with IMAPClient("127.0.0.1", run.imap) as i:
            assert i.login("dora", typed).status == "OK"
