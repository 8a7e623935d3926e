"""An SMTP server whose handler posts each received message to a callback.

Run it: ``python examples/custom_smtp_handler.py`` starts the server on a
free port on 127.0.0.1, sends it one message with the stdlib's smtplib, and
prints what the callback saw. A real application would keep the server
running (``await asyncio.Event().wait()``) and do real work in the callback:
store the message, hand it to a queue, call a web hook...
"""

from __future__ import annotations

import asyncio
import smtplib
from collections.abc import Awaitable, Callable

import mimekit
from mimekit.smtp import Envelope, Handler, Reply, ServerConfig, Session, SMTPServer

Callback = Callable[[str, list[str], mimekit.Message], Awaitable[None]]


class CallbackHandler(Handler):
    """Accept mail for one domain and pass each message to ``callback``."""

    def __init__(self, domain: str, callback: Callback) -> None:
        self.domain = domain
        self.callback = callback

    async def on_rcpt(self, session: Session, envelope: Envelope, recipient: str,
                      params: dict[str, str | None]) -> Reply | None:
        if not recipient.lower().endswith("@" + self.domain):
            return Reply(code=550, lines=("not a domain of ours",), enhanced=(5, 7, 1))
        return None  # accept

    async def on_message(self, session: Session, envelope: Envelope) -> Reply | None:
        message = mimekit.parse(bytes(envelope.content))
        await self.callback(envelope.mail_from, list(envelope.rcpt_tos), message)
        return None  # 250 OK: only say it once the callback has the message


async def main() -> None:
    seen: list[tuple[str, list[str], str | None]] = []

    async def on_mail(sender: str, recipients: list[str], message: mimekit.Message) -> None:
        seen.append((sender, recipients, message.subject))

    server = SMTPServer(CallbackHandler("example.test", on_mail),
                        ServerConfig(hostname="mx.example.test"))
    await server.start("127.0.0.1", 0)
    print(f"listening on 127.0.0.1:{server.port}")

    def send() -> dict[str, tuple[int, bytes]]:
        with smtplib.SMTP("127.0.0.1", server.port) as client:
            return client.sendmail("me@far.test", ["hello@example.test", "x@other.test"],
                                   b"Subject: ping\r\nFrom: me@far.test\r\n\r\nhello\r\n")

    refused = await asyncio.to_thread(send)
    await server.close()
    print("refused:", refused)
    for sender, recipients, subject in seen:
        print(f"callback got {subject!r} from {sender} for {', '.join(recipients)}")
    assert seen == [("me@far.test", ["hello@example.test"], "ping")]


if __name__ == "__main__":
    asyncio.run(main())
