"""Compose a message with text, HTML, an inline image and attachments; reply; forward.

Usage: python examples/compose_message.py

Prints to stdout. The only files written go to a temporary directory,
which is removed at the end.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import mimekit

# A 1x1 transparent PNG, small enough to inline here.
PIXEL = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")


def show(part: mimekit.Part, depth: int = 0) -> None:
    """Print one entity and, indented, everything inside it."""
    extra = " ".join(x for x in (part.filename or "", f"<{part.content_id}>"
                                 if part.content_id else "") if x)
    print("  " * depth + part.content_type.mime_type, part.transfer_encoding, extra)
    for child in part.parts:
        show(child, depth + 1)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "Quartalsbericht Köln.pdf"
        report.write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 8)

        msg = mimekit.compose(
            from_="Jörg Müller <joerg@example.org>",
            to=["alice@example.org", ("Bob, Jr.", "bob@example.org")],
            cc="Ærø Team <team@example.dk>",
            subject="Grüße aus Köln: the Q2 report",
            text="Hi all,\n\nthe report is attached.\n\nJörg\n",
            html=('<p>Hi all,</p><p>the report is attached.</p>'
                  '<p><img src="cid:pixel@example.org" alt=""> Jörg</p>'),
            inline={"pixel@example.org": ("pixel.png", PIXEL, "image/png")},
            attachments=[report, ("numbers.csv", "quarter;revenue\nQ2;1000\n")],
            headers={"X-Mailer": "mimekit example"},
        )
        raw = bytes(msg)
        print("Composed", len(raw), "bytes; structure:")
        show(msg)
        print("\nHeader block:")
        print(raw[: raw.index(b"\r\n\r\n")].decode("ascii"))

        # The message is a parsed message like any other.
        again = mimekit.parse(raw)
        assert bytes(again) == raw
        assert again.attachments[1].get_bytes() == report.read_bytes()
        print("\nAttachments:", [p.filename for p in again.attachments])

        saved = Path(tmp) / "composed.eml"
        saved.write_bytes(raw)
        print("Saved to a temporary file of", saved.stat().st_size, "bytes")

    reply = msg.reply("Thanks, looks good!", from_="alice@example.org", reply_all=True)
    print("\nReply:", reply.subject)
    print("  To:", reply.to, "| Cc:", reply.cc)
    print("  In-Reply-To:", reply.in_reply_to, "| References:", reply.references)
    print("  Body:")
    for line in reply.get_text().splitlines():
        print("    " + line)

    forward = msg.forward("carol@example.net", from_="bob@example.org", text="FYI, see below.")
    print("\nForward:", forward.subject)
    show(forward)
    attached = forward.attachments[0]
    print("  attached message byte-identical:", attached.get_bytes() == bytes(msg))


if __name__ == "__main__":
    main()
