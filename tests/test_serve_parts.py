"""Pieces of ``mimekit serve``: the users file, the queue files, bounces, TLS."""

from __future__ import annotations

import email
import email.policy
import os
import ssl
import stat
import time
from pathlib import Path

import pytest

import mimekit
from mimekit.serve._dsn import FailedRecipient, make_bounce
from mimekit.serve._queue import Queue, Recipient
from mimekit.serve._tls import ensure_self_signed, server_context
from mimekit.serve._users import UserDB, hash_password, verify_password


def test_passwords_are_hashed_and_verified(tmp_path: Path) -> None:
    db = UserDB(tmp_path / "users")
    db.set_password("Alice", "s3cret")
    text = (tmp_path / "users").read_text()
    assert "s3cret" not in text and text.startswith("alice:scrypt$")
    assert stat.S_IMODE((tmp_path / "users").stat().st_mode) == 0o600
    assert db.verify("alice", "s3cret") and db.verify("ALICE", "s3cret")
    assert not db.verify("alice", "wrong") and not db.verify("nobody", "s3cret")
    assert "alice" in db and db.names() == ["alice"]
    db.set_password("alice", "new")
    assert db.verify("alice", "new") and not db.verify("alice", "s3cret")
    with pytest.raises(ValueError):
        db.set_password("../evil", "x")
    with pytest.raises(ValueError):
        db.set_password("bob", "")
    h1, h2 = hash_password("same"), hash_password("same")
    assert h1 != h2 and verify_password("same", h1) and verify_password("same", h2)
    assert not verify_password("x", "garbage") and not verify_password("x", "scrypt$1$2")


def test_queue_is_durable_and_recovers(tmp_path: Path) -> None:
    q = Queue(tmp_path / "queue", retry_base=10, retry_max=100, lifetime=1000)
    e = q.put("a@x.test", [Recipient("b@y.test"), Recipient("c@y.test")], b"msg\r\n",
              mail_params={"BODY": "8BITMIME"})
    assert q.content_path(e.id).read_bytes() == b"msg\r\n"
    again = Queue(tmp_path / "queue")
    got = again.get(e.id)
    assert got.sender == "a@x.test" and [r.address for r in got.recipients] == [
        "b@y.test", "c@y.test"] and got.mail_params == {"BODY": "8BITMIME"}
    assert [x.id for x in q.due()] == [e.id]
    now = time.time()
    q.record_attempt(got, "451 try later", now=now)
    q.record_attempt(got, "451 try later", now=now)
    assert q.get(e.id).attempts == 2 and q.get(e.id).next_attempt == pytest.approx(now + 20)
    assert q.due(now + 5) == [] and len(q.due(now + 21)) == 1
    assert not q.expired(got, now) and q.expired(got, got.created + 1000)
    # A crash between the two files: the orphan is not a queued message.
    (tmp_path / "queue" / "deadbeef.eml").write_bytes(b"half")
    (tmp_path / "queue" / "tmp" / "x.partial").write_bytes(b"half")
    assert q.recover() == ["deadbeef"]
    assert len(q) == 1 and list(os.listdir(tmp_path / "queue" / "tmp")) == []
    q.remove(e.id)
    assert len(q) == 0 and not q.content_path(e.id).exists()


@pytest.mark.parametrize("headers_only", [False, True])
def test_bounce_is_a_valid_rfc3464_report(headers_only: bool) -> None:
    original = b"From: a@x.test\r\nSubject: hello\r\n\r\nbody line\r\n"
    raw = make_bounce(sender="a@x.test",
                      recipients=[FailedRecipient("b@y.test", "550 5.1.1 no such user",
                                                  orcpt="rfc822;b@y.test"),
                                  FailedRecipient("c@y.test", "connection refused")],
                      original=original, reporting_mta="mx.x.test", arrival=time.time(),
                      envid="ENV42", headers_only=headers_only, reason="expired")
    msg = mimekit.parse(raw)
    assert msg.all_defects() == []
    assert msg.content_type.mime_type == "multipart/report"
    assert msg.content_type.params["report-type"] == "delivery-status"
    kinds = [p.content_type.mime_type for p in msg.parts]
    assert kinds == ["text/plain", "message/delivery-status",
                     "text/rfc822-headers" if headers_only else "message/rfc822"]
    status = msg.parts[1].get_bytes().decode()
    assert "Status: 5.1.1" in status and "Status: 5.0.0" in status
    assert "Original-Envelope-Id: ENV42" in status
    assert "Original-Recipient: rfc822;b@y.test" in status
    if not headers_only:
        assert msg.parts[2].message is not None
        assert bytes(msg.parts[2].message) == original
    std = email.message_from_bytes(raw, policy=email.policy.default)
    assert std.get_content_type() == "multipart/report"
    assert not std.defects


def test_self_signed_certificate(tmp_path: Path) -> None:
    cert, key = ensure_self_signed(tmp_path / "tls", "mail.example.test")
    assert stat.S_IMODE(key.stat().st_mode) & 0o077 == 0
    assert ensure_self_signed(tmp_path / "tls", "other") == (cert, key)  # made once
    ctx = server_context(cert, key)
    assert ctx.minimum_version >= ssl.TLSVersion.TLSv1_2
    client = ssl.create_default_context(cafile=str(cert))
    assert client.verify_mode == ssl.CERT_REQUIRED
