"""Composing new messages (work in progress, issue 4)."""

from __future__ import annotations

from typing import Any

from ._message import Message

__all__ = ["compose"]


def compose(**kwargs: Any) -> Message:  # pragma: no cover - replaced by the compose work
    """Build a new message (not implemented yet)."""
    raise NotImplementedError("compose() is being written")
