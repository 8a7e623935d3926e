"""The ``mimekit`` command line (the I/O-adapter layer: it may import anything)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import _compose, _extract, _inspect, _serve, _ua_account, _ua_fetch, _ua_read, _ua_send

__all__ = ["main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mimekit",
        description="mimekit: inspect, compose and move e-mail.",
    )
    from .. import __version__

    parser.add_argument("--version", action="version", version=f"mimekit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _inspect.add_parser(sub)
    _extract.add_parser(sub)
    _compose.add_parser(sub)
    _serve.add_parsers(sub)
    _ua_account.add_parser(sub)
    _ua_send.add_parser(sub)
    _ua_fetch.add_parsers(sub)
    _ua_read.add_parsers(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``mimekit`` command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        status: int = args.func(args)
    except BrokenPipeError:  # pragma: no cover - e.g. `mimekit inspect x | head`
        return 1
    except OSError as exc:
        print(f"mimekit: {exc}", file=sys.stderr)
        return 1
    return status
