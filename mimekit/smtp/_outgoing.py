"""A message made ready for sending: envelope, Bcc removal, content facts.

No I/O here. :func:`prepare` takes a :class:`~mimekit.Message` or bytes and
returns an :class:`OutgoingMessage`: the envelope (from the headers unless
given), the content *without* its Bcc fields, and what the content needs
from the server (SMTPUTF8, 8BITMIME, its SIZE).

**Bcc.** RFC 5322 section 3.6.3 leaves it to the sender how Bcc recipients
get the message; mimekit takes the first way it describes: the Bcc field is
removed from the copy everyone receives, and the Bcc addresses get it
through the envelope only. ``Resent-Bcc`` fields are removed likewise. The
removal happens on a parsed copy of the header block, so every other byte of
the message stays identical (a DKIM signature over the other fields holds).

**Memory.** A ``bytes`` message is not copied: the body is sent as slices of
it. A :class:`~mimekit.Message` costs at most one serialization (none for an
unmodified message parsed from bytes: ``bytes(msg)`` is then the input).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ..tree import Message, parse

__all__ = [
    "DSN",
    "OutgoingMessage",
    "canonical_chunks",
    "envelope_from_headers",
    "normalize_options",
    "prepare",
    "xtext",
]

_EIGHT_BIT = re.compile(rb"[\x80-\xff]")
_LINE_ENDINGS = re.compile(rb"\r\n|\r|\n")
_NOTIFY = frozenset({"SUCCESS", "FAILURE", "DELAY"})


@dataclass(frozen=True, slots=True, kw_only=True)
class DSN:
    """Delivery status notification options (RFC 3461), sent when the server
    offers ``DSN`` and silently left out otherwise (see ``SendResult.dsn``).

    Attributes:
        notify: When to report, per recipient: any of ``SUCCESS``,
            ``FAILURE``, ``DELAY``, or ``("NEVER",)``; None leaves it to the
            server (RFC 3461 section 4.1: failures, and maybe delays).
        ret: ``"FULL"`` or ``"HDRS"``: how much of the message a report holds.
        envid: An envelope identifier the reports will quote.
        orcpt: Send ``ORCPT=rfc822;<address>`` with each recipient.
    """

    notify: tuple[str, ...] | None = None
    ret: str | None = None
    envid: str | None = None
    orcpt: bool = False

    def __post_init__(self) -> None:
        if self.notify is not None:
            notify = tuple(n.upper() for n in self.notify)
            if not notify or not (set(notify) <= _NOTIFY or notify == ("NEVER",)):
                raise ValueError(f"NOTIFY must be NEVER or a set of {sorted(_NOTIFY)}: "
                                 f"{self.notify!r}")
            object.__setattr__(self, "notify", notify)
        if self.ret is not None:
            if self.ret.upper() not in ("FULL", "HDRS"):
                raise ValueError(f"RET must be FULL or HDRS: {self.ret!r}")
            object.__setattr__(self, "ret", self.ret.upper())
        if self.envid is not None and (not self.envid.isascii() or len(self.envid) > 100):
            raise ValueError("ENVID must be ASCII and at most 100 characters (RFC 3461 4.4)")


def xtext(text: str) -> str:
    """RFC 3461 section 4 xtext (for ENVID and ORCPT)::

        xtext = *( xchar / hexchar )
        xchar = any ASCII CHAR between "!" (33) and "~" (126) inclusive,
                except for "+" and "=".
        hexchar = ASCII "+" immediately followed by two upper case
                  hexadecimal digits

    Non-ASCII characters are hex-encoded octet by octet (their UTF-8); that
    keeps the value ASCII, which every DSN server reads.
    """
    out = []
    for byte in text.encode("utf-8"):
        if 33 <= byte <= 126 and byte not in (0x2B, 0x3D):
            out.append(chr(byte))
        else:
            out.append(f"+{byte:02X}")
    return "".join(out)


def normalize_options(options: Mapping[str, str | None] | Iterable[str] | None
                      ) -> dict[str, str | None]:
    """ESMTP parameters as ``{"KEY": "value" or None}``.

    Accepts a mapping or strings like ``"BODY=8BITMIME"`` and ``"SMTPUTF8"``
    (smtplib's form).
    """
    if options is None:
        return {}
    if isinstance(options, Mapping):
        return {str(k).upper(): v for k, v in options.items()}
    out: dict[str, str | None] = {}
    for item in options:
        key, eq, value = item.partition("=")
        out[key.upper()] = value if eq else None
    return out


def _addr_spec(value: Any) -> str:
    spec = getattr(value, "addr_spec", value)
    if not isinstance(spec, str):
        raise TypeError(f"an address must be a str or a Mailbox, not {type(value).__name__}")
    spec = spec.strip()
    if spec.startswith("<") and spec.endswith(">"):
        spec = spec[1:-1]
    return spec


def _dedupe(addresses: Iterable[str]) -> list[str]:
    """Keep the first of each address; domains compare without case (the
    local part is case-sensitive per RFC 5321 section 2.4)."""
    seen: set[tuple[str, str]] = set()
    out = []
    for addr in addresses:
        if not addr:
            continue
        local, _, domain = addr.rpartition("@")
        key = (local, domain.lower()) if local else (addr, "")
        if key not in seen:
            seen.add(key)
            out.append(addr)
    return out


def _resent_block(message: Message) -> dict[str, list[Any]] | None:
    """The most recent ``Resent-*`` block (RFC 5322 section 3.6.6), or None.

    Resent blocks are prepended, so the first one is the latest; it ends at
    the first field that is not a Resent field, or at a Resent field it
    already holds (the start of the next, older block).
    """
    block: dict[str, list[Any]] = {}
    for header in message.headers:
        lname = header.name.lower()
        if lname.startswith("resent-"):
            if lname in block:
                break
            block[lname] = [header]
        elif block:
            break
    return block or None


def _mailboxes(headers: Iterable[Any]) -> list[str]:
    out = []
    for header in headers:
        value = header.value
        for mailbox in getattr(value, "mailboxes", ()):
            out.append(mailbox.addr_spec)
    return out


def envelope_from_headers(message: Message) -> tuple[str | None, list[str]]:
    """The envelope a message's headers imply: ``(sender, recipients)``.

    The sender is the first Sender mailbox, else the first From mailbox;
    the recipients are To, Cc and Bcc (groups flattened, duplicates
    dropped). When ``Resent-*`` fields are present, the latest resent block
    is used instead (Resent-Sender/Resent-From, Resent-To/Cc/Bcc), as RFC
    5322 section 3.6.6 intends for re-sending.
    """
    block = _resent_block(message)
    if block is not None:
        senders = (_mailboxes(block.get("resent-sender", []))
                   or _mailboxes(block.get("resent-from", [])))
        rcpts = _mailboxes(h for name in ("resent-to", "resent-cc", "resent-bcc")
                           for h in block.get(name, []))
    else:
        headers = message.headers
        senders = _mailboxes(headers.get_all("Sender")) or _mailboxes(headers.get_all("From"))
        rcpts = _mailboxes(h for name in ("To", "Cc", "Bcc") for h in headers.get_all(name))
    return (senders[0] if senders else None), _dedupe(rcpts)


class OutgoingMessage:
    """A message ready to send (see :func:`prepare`).

    Attributes:
        sender: The envelope sender (``""`` is the null reverse-path).
        recipients: The envelope recipients, deduplicated, in order.
        header: The header block to send: Bcc removed, a leading mbox
            ``From `` line dropped.
        message_id: The Message-ID (without angle brackets), or None.
        size: The content size with CRLF line endings (for SIZE; before
            dot-stuffing).
        eight_bit: The content holds octets above 127 (needs 8BITMIME).
        utf8_header: The header block holds raw UTF-8 (needs SMTPUTF8).
        bcc_removed: How many Bcc/Resent-Bcc fields were removed.
    """

    __slots__ = ("_body_start", "_raw", "bcc_removed", "eight_bit", "header", "message_id",
                 "recipients", "sender", "size", "utf8_header")

    def __init__(self, raw: bytes, body_start: int, header: bytes, sender: str,
                 recipients: list[str], message_id: str | None, bcc_removed: int) -> None:
        self._raw = raw
        self._body_start = body_start
        self.header = header
        self.sender = sender
        self.recipients = recipients
        self.message_id = message_id
        self.bcc_removed = bcc_removed
        self.utf8_header = not header.isascii()
        # isascii() runs at memory speed without a copy; search only if it fails.
        self.eight_bit = self.utf8_header or (
            not raw.isascii() and _EIGHT_BIT.search(raw, body_start) is not None)
        self.size = _crlf_size(header, 0) + _crlf_size(raw, body_start)
        last = raw[-1:] if len(raw) > body_start else header[-1:]
        if last not in (b"\n", b"\r"):
            self.size += 2  # the final CRLF the content gets

    @property
    def needs_smtputf8(self) -> bool:
        """UTF-8 in the envelope or in raw header bytes (RFC 6531, RFC 6532)."""
        return (self.utf8_header or not self.sender.isascii()
                or not all(r.isascii() for r in self.recipients))

    def chunks(self, size: int = 1 << 20) -> Iterator[bytes]:
        """The content as sent (not yet CRLF-canonical), in pieces of at most
        ``size`` octets; only one piece is in memory at a time."""
        if self.header:
            yield self.header
        view = memoryview(self._raw)
        for pos in range(self._body_start, len(self._raw), size):
            yield bytes(view[pos:pos + size])


def _crlf_size(data: bytes, start: int) -> int:
    """Length of ``data[start:]`` once every bare CR and bare LF is CRLF."""
    crlf = data.count(b"\r\n", start)
    bare = data.count(b"\n", start) - crlf + data.count(b"\r", start) - crlf
    return len(data) - start + bare


def canonical_chunks(pieces: Iterable[bytes], size: int = 1 << 20) -> Iterator[tuple[bytes, bool]]:
    """CRLF-canonical content in chunks of about ``size`` octets, each with
    a "last" flag (for BDAT, which sends content raw: no dot-stuffing, but
    RFC 3030 section 3 still wants canonical CRLF lines).

    Bare CR and bare LF become CRLF, a CRLF split across pieces is kept
    whole, and a final CRLF is added when the content lacks one (as the DATA
    encoder does), so DATA and BDAT deliver the same octets. Empty content
    gives one empty last chunk (``BDAT 0 LAST``).
    """
    buffer = bytearray()
    pending_cr = False
    ended = True  # empty content needs no final CRLF
    held: bytes | None = None
    for piece in pieces:
        if pending_cr:
            piece = b"\r" + piece
            pending_cr = False
        if piece.endswith(b"\r"):
            piece = piece[:-1]
            pending_cr = True
        if not piece:
            continue
        buffer += _LINE_ENDINGS.sub(b"\r\n", piece)
        ended = buffer.endswith(b"\r\n")
        while len(buffer) >= size:
            if held is not None:
                yield held, False
            held = bytes(buffer[:size])
            del buffer[:size]
    if pending_cr or not ended:
        buffer += b"\r\n"
    if buffer or held is None:
        if held is not None:
            yield held, False
        yield bytes(buffer), True
    else:
        yield held, True


def prepare(message: Message | bytes | bytearray | memoryview, sender: str | None = None,
            recipients: Iterable[Any] | str | None = None) -> OutgoingMessage:
    """Make a message ready to send.

    Args:
        message: A :class:`~mimekit.Message` or the message's bytes.
        sender: The envelope sender; by default from the headers (see
            :func:`envelope_from_headers`). ``""`` is the null reverse-path.
        recipients: The envelope recipients (addresses or Mailbox objects);
            by default from the headers. Bcc fields are removed from the
            content either way.

    Raises:
        ValueError: no sender or no recipients can be found.
        TypeError: ``message`` is neither a Message nor bytes.
    """
    if isinstance(message, Message):
        raw = message.to_bytes()
    elif isinstance(message, bytes | bytearray | memoryview):
        raw = message if type(message) is bytes else bytes(message)
    else:
        raise TypeError(f"send() takes a Message or bytes, not {type(message).__name__}")
    parsed = parse(raw)  # lazy: only the top header block is read
    body_start = parsed.body_offset
    head_sender, head_rcpts = envelope_from_headers(parsed)
    message_id = parsed.message_id
    env_sender = head_sender if sender is None else _addr_spec(sender)
    if env_sender is None:
        raise ValueError("no envelope sender: the message has no Sender or From address; "
                         "pass sender=")
    if recipients is None:
        env_rcpts = head_rcpts
    elif isinstance(recipients, str):
        env_rcpts = _dedupe([_addr_spec(recipients)])
    else:
        env_rcpts = _dedupe(_addr_spec(r) for r in recipients)
    if not env_rcpts:
        raise ValueError("no envelope recipients: the message has no To, Cc or Bcc address; "
                         "pass recipients=")
    prefix = parsed.mbox_from or b""
    removed = parsed.headers.remove("Bcc") + parsed.headers.remove("Resent-Bcc")
    header = parsed.headers.to_bytes() if removed else raw[:body_start]
    header = header[len(prefix):]
    return OutgoingMessage(raw, body_start, header, env_sender, env_rcpts, message_id, removed)
