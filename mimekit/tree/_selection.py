"""Which parts are the body text and which are attachments: the JMAP rules.

This follows the ``parseStructure`` algorithm of RFC 8621 section 4.1.4
step by step, so that mimekit agrees with JMAP servers (and with stalwart
mail-parser, whose test expectations use the same rules). An attached
``message/rfc822`` is an attachment; its own bodies are not the outer
message's bodies.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._part import Part

__all__ = ["select_bodies"]

_INLINE_MEDIA = ("image/", "audio/", "video/")


def _is_inline_media(mime_type: str) -> bool:
    return mime_type.startswith(_INLINE_MEDIA)


def select_bodies(root: Part) -> tuple[list[Part], list[Part], list[Part]]:
    """Return ``(text_body, html_body, attachments)`` as RFC 8621 defines them."""
    text: list[Part] = []
    html: list[Part] = []
    attachments: list[Part] = []
    _parse_structure([root], "mixed", False, html, text, attachments)
    return text, html, attachments


def _parse_structure(
    parts: list[Part] | tuple[Part, ...],
    multipart_type: str,
    in_alternative: bool,
    html_body: list[Part] | None,
    text_body: list[Part] | None,
    attachments: list[Part],
) -> None:
    # The RFC's pseudo-code passes the lists by reference and sets a local
    # variable to null to stop adding to it; None plays that role here.
    text_length = len(text_body) if text_body is not None else -1
    html_length = len(html_body) if html_body is not None else -1
    for i, part in enumerate(parts):
        ct = part.content_type
        mime_type = ct.mime_type
        is_multipart = part.is_multipart
        is_inline = (
            part.disposition != "attachment"
            and (mime_type in ("text/plain", "text/html") or _is_inline_media(mime_type))
            and (i == 0 or (multipart_type != "related"
                            and (_is_inline_media(mime_type) or not part.filename)))
        )
        if is_multipart:
            sub = ct.subtype
            _parse_structure(part.parts, sub, in_alternative or sub == "alternative",
                             html_body, text_body, attachments)
        elif is_inline:
            if multipart_type == "alternative":
                # (A list can only be None here in an alternative nested in
                # an alternative, where the RFC's pseudo-code would fail.)
                if mime_type == "text/plain":
                    if text_body is not None:
                        text_body.append(part)
                elif mime_type == "text/html":
                    if html_body is not None:
                        html_body.append(part)
                else:
                    attachments.append(part)
                continue
            if in_alternative:
                if mime_type == "text/plain":
                    html_body = None
                if mime_type == "text/html":
                    text_body = None
            if text_body is not None:
                text_body.append(part)
            if html_body is not None:
                html_body.append(part)
            if (text_body is None or html_body is None) and _is_inline_media(mime_type):
                attachments.append(part)
        else:
            attachments.append(part)

    if multipart_type == "alternative" and text_body is not None and html_body is not None:
        # Found an HTML part only: show it in the text view as well.
        if text_length == len(text_body) and html_length != len(html_body):
            text_body.extend(html_body[html_length:])
        # Found a plain-text part only: show it in the HTML view as well.
        if html_length == len(html_body) and text_length != len(text_body):
            html_body.extend(text_body[text_length:])
