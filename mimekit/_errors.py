"""Exceptions raised by mimekit.

Two regimes (DESIGN.md section 4, convention 4):

* Bad *input* never raises from the parsers: it becomes a
  :class:`~mimekit.Defect`. Only ``strict=True`` turns the first defect into
  :class:`MalformedMessageError`.
* *Caller* mistakes raise at once, as :class:`ValueError` subclasses, so that a
  bug is found where it is made (for example a CR or LF inside a header value,
  which would otherwise allow header injection).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._defects import Defect

__all__ = [
    "HeaderInjectionError",
    "InvalidHeaderNameError",
    "MalformedMessageError",
    "MimekitError",
]


class MimekitError(Exception):
    """Base class of every exception mimekit raises on purpose."""


class MalformedMessageError(MimekitError, ValueError):
    """Raised by ``parse(..., strict=True)`` for the first defect found.

    Attributes:
        defect: The :class:`~mimekit.Defect` that triggered the error.
    """

    def __init__(self, defect: Defect) -> None:
        super().__init__(str(defect))
        self.defect = defect


class HeaderInjectionError(MimekitError, ValueError):
    """A header value given through the API contains CR or LF.

    Accepting it would let the caller (or whoever controls the value) inject
    extra header fields or a body, so it is refused outright.
    """


class InvalidHeaderNameError(MimekitError, ValueError):
    """A header field name given through the API is not valid.

    RFC 5322 section 2.2: ``field-name = 1*ftext`` where ``ftext`` is any
    printable US-ASCII character except the colon (``%d33-57 / %d59-126``).
    """
