"""Parse a message and look inside it: headers, body text, attachments, defects.

Usage: python examples/parse_inspect.py [MESSAGE.eml]
(without an argument it uses examples/data/sample.eml)
"""

from __future__ import annotations

import sys
from pathlib import Path

import mimekit


def show(part: mimekit.Part, depth: int = 0) -> None:
    """Print one entity and, indented, everything inside it."""
    print("  " * depth + part.content_type.mime_type, part.transfer_encoding,
          part.filename or "")
    for child in part.parts:
        show(child, depth + 1)
    if part.message is not None:
        show(part.message, depth + 1)


def main(path: Path) -> None:
    with mimekit.parse_file(path) as msg:
        print("Subject:   ", msg.subject)
        print("From:      ", ", ".join(str(m) for m in msg.from_.mailboxes))
        print("To:        ", ", ".join(m.addr_spec for m in msg.to.mailboxes))
        print("Date:      ", msg.date.isoformat() if msg.date else None)
        print("Message-ID:", msg.message_id)

        print("\nStructure:")
        show(msg)

        if msg.text_body is not None:
            print("\nText body:")
            print(msg.text_body.get_text())

        for attachment in msg.attachments:
            data = attachment.get_bytes()
            print(f"\nAttachment {attachment.filename!r}: {len(data)} bytes, "
                  f"{attachment.content_type.mime_type}")

        print("\nDefects:", [str(d) for d in msg.all_defects()] or "none")
        # Lossless: the parsed message serializes to the very same bytes.
        assert bytes(msg) == path.read_bytes()
        print("Round trip: identical bytes")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1
         else Path(__file__).resolve().parent / "data" / "sample.eml")
