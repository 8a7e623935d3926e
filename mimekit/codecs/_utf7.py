"""IMAP modified UTF-7 (RFC 3501 section 5.1.3): mailbox names on the wire.

RFC 3501 section 5.1.3, in short: printable US-ASCII (0x20-0x7E) stands for
itself, except ``&``, which is written ``&-``. Any other run of characters
is UTF-16BE, base64-encoded with ``,`` instead of ``/`` and without ``=``
padding, between ``&`` and ``-``. The encoding is canonical: a run must not
encode printable ASCII, must not be empty (``&-`` is the ampersand), and two
runs must not be adjacent (``&AOQ-&APY-`` is ``&AOQA9g-``). The pad bits
after the last UTF-16 unit must be zero.

Maildir++ stores (Dovecot, Courier) use the same encoding for folder
directory names, so :mod:`mimekit.mailstore` imports it from here.

The decoder is lenient by default: a malformed run is kept as it is, so a
client can always show (and address) a mailbox a server lists. With
``strict=True`` it raises :class:`ValueError` on anything that is not the
canonical encoding, which is what a server needs to refuse odd names
(two spellings of one name, hidden ASCII such as ``/`` or ``.``).
"""

from __future__ import annotations

import base64
import binascii
import re

__all__ = ["decode_imap_utf7", "encode_imap_utf7"]


def encode_imap_utf7(name: str) -> str:
    """Encode a mailbox name in modified UTF-7 (RFC 3501 section 5.1.3).

    Printable ASCII stands for itself except ``&`` (written ``&-``); other
    characters are UTF-16BE in base64 (``,`` for ``/``, no padding) between
    ``&`` and ``-``. Characters outside the BMP become surrogate pairs, as
    UTF-16 requires. The result is pure printable ASCII.

    Raises:
        TypeError: ``name`` is not a ``str``.
        ValueError: ``name`` contains a lone surrogate (not encodable).
    """
    if not isinstance(name, str):
        raise TypeError(f"mailbox name must be str, not {type(name).__name__}")
    if name.isascii() and "&" not in name and name.isprintable():
        return name  # the common case: nothing to do
    out: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            try:
                raw = "".join(pending).encode("utf-16-be")
            except UnicodeEncodeError as exc:
                raise ValueError(f"cannot encode {name!r} in modified UTF-7: {exc}") from None
            out.append("&" + base64.b64encode(raw).decode("ascii").rstrip("=")
                       .replace("/", ",") + "-")
            pending.clear()

    for ch in name:
        if 0x20 <= ord(ch) <= 0x7E:
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            pending.append(ch)
    flush()
    return "".join(out)


# A run is "&", base64 with "," for "/", "-". Linear: the class has no
# overlap with the delimiters, so there is no backtracking.
_RUN = re.compile(r"&([A-Za-z0-9+,]*)-")


def _decode_run(b64: str, strict: bool) -> str | None:
    """The text of one base64 run, or None when it is malformed."""
    data = b64.replace(",", "/")
    # 16-bit units: every 8 base64 characters hold 3 units; a tail of 3 or 6
    # characters holds 1 or 2; anything else cannot end on a unit boundary.
    if len(data) % 8 not in (0, 3, 6):
        return None
    padded = data + "=" * (-len(data) % 4)
    try:
        raw = base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        return None
    if len(raw) % 2:
        return None
    if strict and base64.b64encode(raw).decode("ascii").rstrip("=") != data:
        return None  # non-zero pad bits: a second spelling of the same text
    try:
        text = raw.decode("utf-16-be")
    except UnicodeDecodeError:
        return None
    if strict and any(0x20 <= ord(c) <= 0x7E for c in text):
        return None  # printable ASCII must stand for itself
    return text


def decode_imap_utf7(encoded: str, *, strict: bool = False) -> str:
    """Decode a modified UTF-7 mailbox name (RFC 3501 section 5.1.3).

    Args:
        encoded: The name as on the wire (or as a Maildir++ directory name).
        strict: Raise on anything but the canonical encoding (see the module
            docs). By default malformed runs are kept as they are, so a
            name a server sends can always be shown and sent back.

    Raises:
        ValueError: only with ``strict=True``: a malformed or non-canonical
            run, an ``&`` without its ``-``, adjacent runs, or a character
            outside printable ASCII in ``encoded``.
    """
    if "&" not in encoded:
        if strict and not (encoded.isascii() and encoded.isprintable()):
            raise ValueError(f"not modified UTF-7: {encoded!r} has non-printable characters")
        return encoded
    if not strict:

        def run(m: re.Match[str]) -> str:
            if not m.group(1):
                return "&"
            text = _decode_run(m.group(1), False)
            return m.group(0) if text is None else text

        return _RUN.sub(run, encoded)
    out: list[str] = []
    pos = 0
    previous_run_end = -1
    while pos < len(encoded):
        amp = encoded.find("&", pos)
        plain = encoded[pos:] if amp < 0 else encoded[pos:amp]
        if not (plain.isascii() and plain.isprintable()):
            raise ValueError(f"not modified UTF-7: {encoded!r} has non-printable characters")
        out.append(plain)
        if amp < 0:
            break
        m = _RUN.match(encoded, amp)
        if m is None:
            raise ValueError(f"not modified UTF-7: unterminated '&' in {encoded!r}")
        if not m.group(1):
            out.append("&")
        else:
            if previous_run_end == amp:
                raise ValueError(f"not modified UTF-7: adjacent encoded runs in {encoded!r}")
            text = _decode_run(m.group(1), True)
            if text is None:
                raise ValueError(f"not modified UTF-7: bad encoded run {m.group(0)!r}")
            out.append(text)
            previous_run_end = m.end()
        pos = m.end()
    return "".join(out)
