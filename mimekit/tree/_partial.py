"""Reassembling message/partial fragments (work in progress, issue 4)."""

from __future__ import annotations

from collections.abc import Iterable

from ._message import Message

__all__ = ["join_partial"]


def join_partial(fragments: Iterable[Message | bytes]) -> Message:  # pragma: no cover
    """Join message/partial fragments (not implemented yet)."""
    raise NotImplementedError("join_partial() is being written")
