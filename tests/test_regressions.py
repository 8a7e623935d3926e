"""Inputs found by fuzz/ that once failed, kept so they never fail again."""

from __future__ import annotations

import mimekit
from mimekit import fields


def test_rfc2231_value_with_lone_surrogate() -> None:
    # A str from a caller may hold lone surrogates; percent-decoding it raised.
    for text in ("attachment; filename*=utf-8''a\udcdab", "text/plain; name*0*=''\ud800"):
        fields.parse_content_disposition(text)
        fields.parse_content_type(text)


def test_field_added_after_an_mbox_line_at_eof() -> None:
    raw = b"From a@b Mon Jan  1 00:00:00 2024"
    msg = mimekit.parse(raw)
    msg.headers.set("Subject", "x")
    again = mimekit.parse(bytes(msg))
    assert again.subject == "x" and again.mbox_from == raw + b"\r\n"
