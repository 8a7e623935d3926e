"""Reading the local Maildir: the ``list`` table and the ``show`` view.

Messages are numbered 1, 2, ... in delivery order (the Maildir's key order)
over the whole folder, so a number from ``list --unseen`` means the same
message to ``show``. A message is named by that number or by its Maildir key
or a unique prefix of it (keys start with ten digits of time, numbers are
short: the two never clash).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ..mailstore import Maildir
from ..tree import Message, Part, html_to_text
from ._errors import AgentError, ConfigError

__all__ = ["Row", "format_rows", "open_folder", "render", "resolve", "rows"]

#: Numbers up to this many digits are list numbers, not key prefixes.
_MAX_INDEX_DIGITS = 7


@dataclass(frozen=True, slots=True)
class Row:
    """One line of ``mimekit list``.

    Attributes:
        number: The message's number in the folder (1-based).
        key: Its Maildir key.
        date: The Date header (None when absent or unreadable).
        sender: The From (display name, else address).
        subject: The decoded subject.
        size: The file's size in octets.
        flags: The Maildir flags (``"FS"``); ``new`` is True for ``new/``.
        attachments: How many attachments it has.
    """

    number: int
    key: str
    date: datetime | None
    sender: str
    subject: str
    size: int
    flags: str
    new: bool
    attachments: int

    @property
    def unseen(self) -> bool:
        return "S" not in self.flags


def open_folder(maildir: Path, folder: str | None) -> Maildir:
    """The Maildir (``folder`` None or ``INBOX``) or one of its folders.

    Raises:
        AgentError: no such Maildir or folder.
    """
    try:
        md = Maildir(maildir)
    except FileNotFoundError:
        raise AgentError(f"no Maildir at {maildir} (run `mimekit fetch` or `mimekit sync` "
                         "first)") from None
    if folder is None or folder.upper() == "INBOX":
        return md
    name = folder.replace("/", ".")
    try:
        return md.folder(name)
    except (FileNotFoundError, ValueError):
        known = ", ".join(["INBOX", *md.list_folders()])
        raise AgentError(f"no folder {folder!r} in {maildir} (folders: {known})") from None


def _sender(msg: Message) -> str:
    boxes = msg.from_.mailboxes
    if not boxes:
        return ""
    return boxes[0].name or boxes[0].addr_spec


def rows(md: Maildir, *, unseen: bool = False) -> list[Row]:
    """The table of ``md``, in delivery order (only unseen ones with ``unseen``)."""
    out = []
    for number, key in enumerate(md.keys(), 1):
        try:
            flags = md.get_flags(key)
            if unseen and "S" in flags:
                continue
            new = md.get_subdir(key) == "new"
            size = md.get_size(key)
            with md.get_message(key) as msg:
                out.append(Row(number, key, msg.date, _sender(msg), msg.subject or "", size,
                               flags, new, len(msg.attachments)))
        except KeyError:
            continue  # removed meanwhile
    return out


def resolve(md: Maildir, ident: str) -> str:
    """The key of the message named ``ident`` (a number or a key prefix).

    Raises:
        ConfigError: no such message, or a prefix that names several.
    """
    keys = md.keys()
    if ident.isdigit() and len(ident) <= _MAX_INDEX_DIGITS:
        number = int(ident)
        if not 1 <= number <= len(keys):
            raise ConfigError(f"no message {number}: the folder has {len(keys)}")
        return keys[number - 1]
    if ident in keys:
        return ident
    found = [k for k in keys if k.startswith(ident)]
    if len(found) == 1:
        return found[0]
    if not found:
        raise ConfigError(f"no message with key {ident!r}")
    raise ConfigError(f"{ident!r} matches {len(found)} messages: give more of the key")


def _size(octets: int) -> str:
    value = float(octets)
    for unit in ("B", "K", "M", "G"):
        if value < 1024 or unit == "G":
            return f"{value:.0f}{unit}" if unit == "B" else f"{value:.1f}{unit}"
        value /= 1024
    return f"{octets}B"  # pragma: no cover


def _cut(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[:width - 1] + "…"


def format_rows(table: list[Row], *, width: int = 100) -> list[str]:
    """The rows as aligned text lines, a header first."""
    lines = [f"{'#':>4}  {'date':16}  {'from':20}  {'size':>6}  {'flags':5}  A  subject"]
    subject_width = max(20, width - 66)
    for row in table:
        stamp = row.date.strftime("%Y-%m-%d %H:%M") if row.date else "-"
        flags = ("N" if row.new else "") + row.flags
        mark = "@" if row.attachments else " "
        lines.append(f"{row.number:>4}  {stamp:16}  {_cut(row.sender, 20):20}  "
                     f"{_size(row.size):>6}  {flags:5}  {mark}  {_cut(row.subject, subject_width)}")
    return lines


def _body(msg: Message) -> str:
    part = msg.text_body
    if part is not None:
        return part.get_text()
    part = msg.html_body
    if part is not None:
        return html_to_text(part.get_text())
    if not msg.is_multipart and msg.content_type.maintype == "text":
        return msg.get_text()
    return "(no text body)"


def _attachment_line(n: int, part: Part) -> str:
    name = part.filename or "(no name)"
    size = len(part.get_bytes())
    return f"  [{n}] {name}  {part.content_type.mime_type}  {_size(size)}"


def render(msg: Message) -> str:
    """A message for reading: decoded headers, the best text body (HTML made
    text when there is no plain text), and the attachments."""
    lines = []
    for name in ("Date", "From", "Reply-To", "To", "Cc", "Subject"):
        header = msg.headers.get(name)
        if header is not None:
            lines.append(f"{name + ':':9}{header.text}")
    lines.append("")
    # Bodies keep their CRLF line ends; a terminal wants LF.
    lines.append(_body(msg).replace("\r\n", "\n").rstrip("\n"))
    attachments = msg.attachments
    if attachments:
        lines.append("")
        lines.append("Attachments:")
        lines.extend(_attachment_line(n, part) for n, part in enumerate(attachments, 1))
    return "\n".join(lines) + "\n"
