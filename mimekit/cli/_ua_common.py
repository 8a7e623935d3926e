"""What the user-agent commands share: common options, the account, errors.

Exit codes (every user-agent command)::

    0    success
    1    failure: no connection, the server refused, a local file error
    2    usage: bad options, a bad accounts file, no password
    3    done with something to look at: a recipient refused, a sync
         conflict kept, the Sent copy not saved
    4    authentication failed
    5    the server's TLS certificate is not trusted (hint: --tls-insecure)
    130  interrupted (Ctrl-C); the state is consistent: run again to resume
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..agent import Account, Config, Connector

# mimekit.agent (and with it every protocol client) is imported when a
# user-agent command runs, not when the parser is built: `mimekit inspect`
# should not pay for IMAP.

__all__ = ["EXIT_CODES", "Context", "common_parser", "run_guarded"]

EXIT_CODES = __doc__.split("::", 1)[1] if __doc__ else ""


def common_parser() -> argparse.ArgumentParser:
    """The options every user-agent command takes (an argparse parent)."""
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--config", type=Path, metavar="FILE",
                   help="the accounts file (default ~/.config/mimekit/accounts.toml)")
    p.add_argument("-a", "--account", metavar="NAME", help="the account (default: the "
                   "file's default account)")
    p.add_argument("--tls-insecure", action="store_true",
                   help="do not verify TLS certificates (testing only)")
    p.add_argument("-q", "--quiet", action="store_true", help="print only errors")
    p.add_argument("-v", "--verbose", action="store_true", help="say more on stderr")
    return p


def add_command(sub: Any, name: str, help_text: str, description: str) -> Any:
    """A subcommand with the common options and the exit codes in its help."""
    return sub.add_parser(name, help=help_text, description=textwrap.fill(description, 79),
                          parents=[common_parser()],
                          formatter_class=argparse.RawDescriptionHelpFormatter,
                          epilog="exit status:" + EXIT_CODES)


class Context:
    """A command's account, connector and reporter, made on first use."""

    def __init__(self, name: str, args: argparse.Namespace) -> None:
        from ..agent import StreamReporter

        self.name = name
        self.args = args
        self.reporter = StreamReporter(prefix=f"mimekit {name}: ",
                                       verbose=bool(getattr(args, "verbose", False)),
                                       progress=False if getattr(args, "quiet", False)
                                       else None)
        self._config: Config | None = None
        self._connector: Connector | None = None

    @property
    def config(self) -> Config:
        if self._config is None:
            from ..agent import load_config

            self._config = load_config(self.args.config)
        return self._config

    @property
    def account(self) -> Account:
        return self.config.account(self.args.account)

    @property
    def connector(self) -> Connector:
        if self._connector is None:
            from ..agent import Connector, PasswordResolver

            self._connector = Connector(PasswordResolver(self.reporter.warn), self.reporter,
                                        insecure=bool(self.args.tls_insecure))
        return self._connector

    def say(self, text: str) -> None:
        """A result line on stdout (not with --quiet)."""
        if not self.args.quiet:
            print(text, flush=True)


def run_guarded(name: str, args: argparse.Namespace, body: Callable[[Context], int]) -> int:
    """Run ``body``; errors become one line on stderr and an exit code."""
    from ..agent import EXIT_FAILURE, EXIT_INTERRUPTED, AgentError

    ctx = Context(name, args)
    try:
        return body(ctx)
    except AgentError as exc:
        print(f"mimekit {name}: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"\nmimekit {name}: interrupted; everything done so far is saved, and running "
              "it again resumes", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        raise  # `mimekit list | head`: main() ends quietly
    except OSError as exc:
        print(f"mimekit {name}: {exc}", file=sys.stderr)
        return EXIT_FAILURE
