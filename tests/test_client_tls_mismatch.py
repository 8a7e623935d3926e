"""A TLS setting that does not fit the port: the error says what to change.

Plain text to a port that expects TLS from the first byte waits for a
greeting that never comes; implicit TLS to a port that starts in plain text
reads the greeting as a broken TLS record. Both are the commonest mistake
with mail clients, so every client (SMTP, POP3, IMAP; sync and asyncio)
adds a note naming the likely fix. Real sockets on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from mimekit.imap import AsyncIMAPClient, IMAPClient, IMAPTimeoutError
from mimekit.pop3 import AsyncPOP3Client, POP3Client, POP3TimeoutError
from mimekit.smtp import AsyncSMTPClient, SMTPClient, SMTPTimeoutError

GREETINGS = {"smtp": b"220 mx.example ESMTP\r\n", "pop3": b"+OK ready\r\n",
             "imap": b"* OK ready\r\n"}
CLIENTS: dict[str, tuple[type[Any], type[Any], type[Exception]]] = {
    "smtp": (SMTPClient, AsyncSMTPClient, SMTPTimeoutError),
    "pop3": (POP3Client, AsyncPOP3Client, POP3TimeoutError),
    "imap": (IMAPClient, AsyncIMAPClient, IMAPTimeoutError),
}


@contextlib.contextmanager
def _server(greeting: bytes | None) -> Iterator[int]:
    """A listener that greets in plain text, or (None) says nothing, as a
    TLS server waiting for the client's hello does."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()
    held: list[socket.socket] = []

    def run() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            held.append(conn)
            if greeting is not None:
                conn.sendall(greeting)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        listener.close()


def _connect(kind: str, mode: str, port: int, tls: str | None) -> BaseException:
    sync_cls, async_cls, _ = CLIENTS[kind]
    if mode == "sync":
        with pytest.raises(Exception) as info:
            sync_cls("127.0.0.1", port, tls=tls, timeout=0.5).connect()
        return info.value

    async def main() -> None:
        await async_cls("127.0.0.1", port, tls=tls, timeout=0.5).connect()

    with pytest.raises(Exception) as info:
        asyncio.run(main())
    return info.value


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("kind", sorted(CLIENTS))
def test_plain_text_to_an_implicit_tls_port(kind: str, mode: str) -> None:
    with _server(None) as port:
        error = _connect(kind, mode, port, None)
        assert isinstance(error, CLIENTS[kind][2])
        assert any("tls='implicit'" in note for note in error.__notes__)


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("kind", sorted(CLIENTS))
def test_implicit_tls_to_a_plain_text_port(kind: str, mode: str) -> None:
    with _server(GREETINGS[kind]) as port:
        error = _connect(kind, mode, port, "implicit")
        assert isinstance(error, ssl.SSLError)
        assert any("tls='starttls'" in note for note in error.__notes__)


def test_other_failures_get_no_note() -> None:
    # A refused connection is not a TLS mismatch.
    probe = socket.create_server(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    with pytest.raises(Exception) as info:
        SMTPClient("127.0.0.1", port, timeout=0.5).connect()
    assert not getattr(info.value, "__notes__", [])
