"""Which parts are the body text and which are attachments: the JMAP rules.

This follows the ``parseStructure`` algorithm of RFC 8621 section 4.1.4
step by step, so that mimekit agrees with JMAP servers such as stalwart
(whose mail-parser test expectations are checked in
``tests/test_tree_stalwart_messages.py``). An attached ``message/rfc822`` is
an attachment; its own bodies are not the outer message's bodies.

Two deliberate deviations from the RFC's pseudo-code, taken from what
stalwart mail-parser does:

1. **Inline images, audio and video are attachments too.** The RFC lists an
   inline ``image/*``, ``audio/*`` or ``video/*`` part (one inside
   ``multipart/mixed``, say) only in the body lists, unless one of them is
   closed. mimekit lists it in the body lists *and* in ``attachments``. A
   photo sent from a phone is usually such a part (``Content-Disposition:
   inline`` in ``multipart/mixed``), and a user expects to see it in the
   attachment list, to save it, and to see the message flagged as having
   attachments; a client that draws the body still finds the part in the
   body lists, where it belongs.
2. **No part is lost.** In the pseudo-code a text part can land in no list
   at all: for example the ``text/html`` part of a ``multipart/mixed`` that
   already showed ``text/plain`` inside an alternative (both body lists are
   closed by then), or a part of an alternative nested in such a branch,
   where the pseudo-code would even fail. mimekit makes such a part an
   attachment, so every leaf stays reachable. (Stalwart does the same in
   the first case; in the second it adds the part to the closed view.)

And one addition: files uuencoded or yEnc-encoded *inside* the text of a
``text/plain`` body part are listed after the attachments, as virtual parts
(``_embedded.py``; stalwart does not do this).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._embedded import embedded_parts

if TYPE_CHECKING:
    from ._part import Part

__all__ = ["select_bodies"]

_INLINE_MEDIA = ("image/", "audio/", "video/")
_BODY_TEXT = ("text/plain", "text/html")


def _is_inline_media(mime_type: str) -> bool:
    return mime_type.startswith(_INLINE_MEDIA)


def select_bodies(root: Part) -> tuple[list[Part], list[Part], list[Part]]:
    """Return the JMAP body lists of a message.

    Args:
        root: The message (or any part) whose structure to walk. Attached
            messages are not entered: they are attachments.

    Returns:
        ``(text_body, html_body, attachments)``: the parts to show as the
        plain-text body, as the HTML body, and the attachments, each in
        document order. The same part may be in several lists (see the
        module docstring). The attachments end with the virtual parts of
        the files embedded in the text body (uuencode, yEnc).
    """
    text: list[Part] = []
    html: list[Part] = []
    attachments: list[Part] = []
    _parse_structure([root], "mixed", False, html, text, attachments)
    for part in text:
        if part.content_type.mime_type == "text/plain":
            attachments.extend(embedded_parts(part))
    return text, html, attachments


def _is_inline(part: Part, index: int, multipart_type: str) -> bool:
    """RFC 8621's ``isInline``: may this leaf be shown as part of the body?"""
    mime_type = part.content_type.mime_type
    if part.disposition == "attachment":
        return False
    # Only plain text, HTML and media a client can draw in place qualify;
    # text/calendar, application/*, message/rfc822 and a multipart that
    # could not be split (a leaf with a defect) are always attachments.
    if mime_type not in _BODY_TEXT and not _is_inline_media(mime_type):
        return False
    if index == 0:
        return True
    # After the first part of a multipart/related, every part is a resource
    # the root refers to (by cid:), not body; elsewhere a named text part
    # is a file the sender attached (a .txt or .html), while a named image
    # is still drawn in place.
    return multipart_type != "related" and (_is_inline_media(mime_type) or not part.filename)


def _parse_structure(
    parts: list[Part] | tuple[Part, ...],
    multipart_type: str,
    in_alternative: bool,
    html_body: list[Part] | None,
    text_body: list[Part] | None,
    attachments: list[Part],
) -> None:
    # The RFC's pseudo-code passes the lists by reference and sets its local
    # variable to null to stop adding to it (for the rest of this multipart
    # and what is nested in it); None plays that role here.
    text_length = len(text_body) if text_body is not None else -1
    html_length = len(html_body) if html_body is not None else -1
    for i, part in enumerate(parts):
        mime_type = part.content_type.mime_type

        if part.is_multipart:
            sub = part.content_type.subtype
            _parse_structure(part.parts, sub, in_alternative or sub == "alternative",
                             html_body, text_body, attachments)
            continue

        if not _is_inline(part, i, multipart_type):
            attachments.append(part)
            continue

        if multipart_type == "alternative":
            # A direct child of an alternative is one rendition: plain text
            # for the text view, HTML for the HTML view, anything else (an
            # inline image offered as an alternative) is an attachment.
            if mime_type == "text/plain":
                target = text_body
            elif mime_type == "text/html":
                target = html_body
            else:
                target = None
            # (target is also None for an alternative nested in a branch
            # that closed that list; deviation 2 keeps the part.)
            (target if target is not None else attachments).append(part)
            continue

        if in_alternative:
            # Inside one branch of an alternative: a plain-text part means
            # this branch is the text rendition, so stop feeding the HTML
            # view from it, and the other way round.
            if mime_type == "text/plain":
                html_body = None
            if mime_type == "text/html":
                text_body = None
        if text_body is not None:
            text_body.append(part)
        if html_body is not None:
            html_body.append(part)
        if _is_inline_media(mime_type):
            # Deviation 1: shown in place and listed as an attachment. (The
            # RFC lists it here only when a body list is closed.)
            attachments.append(part)
        elif text_body is None and html_body is None:
            # Deviation 2: a text part neither view shows is an attachment.
            attachments.append(part)

    if multipart_type == "alternative" and text_body is not None and html_body is not None:
        # Found an HTML part only: show it in the text view as well.
        if text_length == len(text_body) and html_length != len(html_body):
            text_body.extend(html_body[html_length:])
        # Found a plain-text part only: show it in the HTML view as well.
        if html_length == len(html_body) and text_length != len(text_body):
            html_body.extend(text_body[text_length:])
