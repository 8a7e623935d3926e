"""SASLprep (RFC 4013): the stringprep profile for user names and passwords.

The same password can be typed as different code points: "é" as one
character or as "e" plus a combining accent, a no-break space for a space.
SASLprep maps them to one form before they are compared or hashed, so the
password the user set is the password that works from any keyboard.
RFC 4616 (PLAIN) asks clients and servers to prepare the user name and
password this way; our SASL clients do for PLAIN and LOGIN, and the users
file of ``mimekit serve`` hashes and checks the prepared form.

For plain ASCII without control characters the result is the input itself,
so nothing changes for most passwords.
"""

from __future__ import annotations

import stringprep
import unicodedata

__all__ = ["saslprep"]

# RFC 4013 section 2.3: what may not appear after mapping and normalization.
_PROHIBITED = (
    stringprep.in_table_c12,  # non-ASCII space (mapped away before, so never)
    stringprep.in_table_c21_c22,  # control characters
    stringprep.in_table_c3,  # private use
    stringprep.in_table_c4,  # non-character code points
    stringprep.in_table_c5,  # surrogates
    stringprep.in_table_c6,  # inappropriate for plain text
    stringprep.in_table_c7,  # inappropriate for canonical representation
    stringprep.in_table_c8,  # change display properties, deprecated
    stringprep.in_table_c9,  # tagging characters
)


def saslprep(text: str, *, allow_unassigned: bool = False) -> str:
    """``text`` prepared by SASLprep.

    Args:
        text: A user name or password.
        allow_unassigned: Accept code points unassigned in Unicode 3.2 (a
            *query*, such as a password being checked); refuse them for a
            *stored* string, such as a password being set (RFC 3454
            section 7).

    Raises:
        ValueError: a prohibited character (a control character, a private
            use or non-character code point...), an unassigned one when not
            allowed, or mixed right-to-left and left-to-right text (RFC 3454
            section 6).
    """
    if text.isascii() and text.isprintable():
        return text  # the common case, and SASLprep leaves it alone
    # 2.1 Mapping: non-ASCII spaces to SPACE, "commonly mapped to nothing"
    # characters (soft hyphen, zero-width joiners, ...) removed.
    mapped = "".join(" " if stringprep.in_table_c12(c) else c
                     for c in text if not stringprep.in_table_b1(c))
    # 2.2 Normalization: form KC.
    prepared = unicodedata.ucd_3_2_0.normalize("NFKC", mapped)
    for c in prepared:
        if any(table(c) for table in _PROHIBITED):
            raise ValueError(f"SASLprep: prohibited character U+{ord(c):04X}")
        if not allow_unassigned and stringprep.in_table_a1(c):
            raise ValueError(f"SASLprep: unassigned code point U+{ord(c):04X}")
    # 2.4 Bidirectional text: RandALCat text must start and end with such a
    # character and hold no LCat character.
    if any(stringprep.in_table_d1(c) for c in prepared):
        if any(stringprep.in_table_d2(c) for c in prepared):
            raise ValueError("SASLprep: mixes right-to-left and left-to-right text")
        if not (stringprep.in_table_d1(prepared[0]) and stringprep.in_table_d1(prepared[-1])):
            raise ValueError("SASLprep: right-to-left text must start and end with "
                             "a right-to-left character")
    return prepared
