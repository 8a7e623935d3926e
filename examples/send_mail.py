"""Compose a message and send it over SMTP with mimekit's client.

Usage::

    python examples/send_mail.py                      # demo: a tiny local receiver
    python examples/send_mail.py --host smtp.example.com --port 587 --tls starttls \\
        --user alice --from alice@example.com --to bob@example.com

Without ``--host`` the script starts a small SMTP receiver on 127.0.0.1 (our
own sans-I/O ``ServerConnection`` in a thread, no network needed), sends to
it, and prints what arrived: note that the Bcc recipient got the message
through the envelope while the Bcc field itself was never transmitted.
With ``--user``, the password is read from the ``SMTP_PASSWORD`` environment
variable or asked for.
"""

from __future__ import annotations

import argparse
import getpass
import os
import socketserver
import threading
from typing import ClassVar

import mimekit
from mimekit.smtp import (
    NEED_DATA,
    ConnectionClosed,
    Data,
    Ehlo,
    EndOfMessage,
    InvalidCommand,
    Mail,
    MessageData,
    Quit,
    Rcpt,
    Reply,
    ServerConnection,
    SMTPClient,
)


class DemoReceiver(socketserver.BaseRequestHandler):
    """Just enough of an SMTP server to receive the demo message: the core
    parses and unstuffs, this handler answers every command with OK."""

    received: ClassVar[list[tuple[str, list[str], bytes]]] = []

    def handle(self) -> None:
        conn = ServerConnection()
        send = self.request.sendall
        send(conn.send(Reply(code=220, lines=("demo.example ESMTP",))))
        sender, recipients, content = "", [], b""
        while True:
            event = conn.next_event()
            if event is NEED_DATA:
                conn.receive_data(self.request.recv(65536))
                continue
            if isinstance(event, ConnectionClosed):
                return
            reply = Reply(code=250, lines=("OK",), enhanced=(2, 0, 0))
            if isinstance(event, InvalidCommand):
                reply = event.reply
            elif isinstance(event, Ehlo):
                reply = Reply(code=250, lines=("demo.example", "PIPELINING", "8BITMIME",
                                               "SMTPUTF8", "SIZE 10000000"))
            elif isinstance(event, Mail):
                sender, recipients, content = event.sender, [], b""
            elif isinstance(event, Rcpt):
                recipients.append(event.recipient)
            elif isinstance(event, Data):
                reply = Reply(code=354, lines=("end with <CRLF>.<CRLF>",))
            elif isinstance(event, MessageData):
                content += event.data
                continue  # content gets no reply
            elif isinstance(event, EndOfMessage):
                self.received.append((sender, recipients, content))
            elif isinstance(event, Quit):
                send(conn.send(Reply(code=221, lines=("bye",))))
                return
            send(conn.send(reply))


def build_message(sender: str, to: list[str], bcc: list[str]) -> mimekit.Message:
    return mimekit.compose(
        from_=sender, to=to, bcc=bcc, subject="Hello from mimekit ✉",
        text="Hi!\n\nThis message was composed and sent with mimekit.\n"
             ".A line starting with a dot survives SMTP too.\n",
        attachments=[("notes.txt", b"some notes\n", "text/plain")])


def demo() -> None:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), DemoReceiver)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        msg = build_message("Alice <alice@example.test>", ["Bob <bob@example.test>"],
                            ["carol@example.test"])
        with SMTPClient("127.0.0.1", port, timeout=10) as client:
            print("server offers:", " ".join(client.extensions))
            result = client.send(msg)
        print("accepted:", ", ".join(result.accepted), "| final reply:", result.reply)
        sender, recipients, content = DemoReceiver.received[-1]
        print(f"received from {sender} for {recipients}: {len(content)} octets")
        print("Bcc transmitted?", b"\nBcc:" in content or content.startswith(b"Bcc:"))
        print("Subject as received:", mimekit.parse(content).subject)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--host", help="SMTP server (default: run a local demo receiver)")
    ap.add_argument("--port", type=int)
    ap.add_argument("--tls", choices=["starttls", "implicit"])
    ap.add_argument("--user")
    ap.add_argument("--from", dest="sender", default="alice@example.com")
    ap.add_argument("--to", action="append", default=[])
    ap.add_argument("--bcc", action="append", default=[])
    args = ap.parse_args()
    if args.host is None:
        demo()
        return
    if not args.to:
        ap.error("--to is needed with --host")
    msg = build_message(args.sender, args.to, args.bcc)
    # Certificates and host names are verified (the default TLS context).
    with SMTPClient(args.host, args.port, tls=args.tls, timeout=30) as client:
        if args.user:
            password = os.environ.get("SMTP_PASSWORD") or getpass.getpass("SMTP password: ")
            client.login(args.user, password)
        result = client.send(msg)
    print("accepted:", ", ".join(result.accepted) or "-")
    for rcpt, reply in result.refused.items():
        print(f"refused: {rcpt}: {reply}")


if __name__ == "__main__":
    main()
