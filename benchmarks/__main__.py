"""``python -m benchmarks``: mimekit against the stdlib ``email`` package.

Suites: ``headers``, ``walk``, ``roundtrip``, ``edit`` (timed over a generated corpus) and ``rss``
(peak memory on one big message). Server suites live in ``benchmarks/servers/``: ``smtp``
(messages/s into ``mimekit serve`` against the aiosmtpd sink and Postfix) and ``pop3``
(RETR throughput of ``mimekit serve`` against Dovecot, 1000 messages) and ``imap`` (FETCH
of ENVELOPE+BODYSTRUCTURE and of BODY[] against Dovecot, 1000 messages); each skips a peer
that is not installed, and they are left out of ``--quick`` unless asked for with ``--only``.
``adversarial`` (``benchmarks/adversarial.py``) times hostile input shapes at n and 10n and
prints the ratios (linear: about 10); it is left out of ``--quick`` too.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import corpus as corpus_mod
from benchmarks import rss, workloads
from benchmarks.report import Results, render, write_json
from benchmarks.timing import time_workload

#: Every suite ``--only`` accepts. Timed suites share one corpus.
SUITES = ("headers", "walk", "roundtrip", "edit", "rss", "smtp", "pop3", "imap", "adversarial")
#: Suites that need a peer server: not part of ``--quick`` unless named.
PEER_SUITES = ("smtp", "pop3", "imap")
#: Suites left out of ``--quick`` unless named: the peer suites, and the
#: adversarial shapes (a minute; tests/test_linear_time.py checks them in CI).
NOT_QUICK = (*PEER_SUITES, "adversarial")
#: Messages for the SMTP suite (full, quick).
SMTP_MESSAGES = (1000, 100)
#: Messages for the POP3 suite (full, quick).
POP3_MESSAGES = (1000, 100)
#: Messages for the IMAP suite (full, quick).
IMAP_MESSAGES = (1000, 100)
FULL = {"messages": 300, "repeat": 5, "rss_attachment_mb": 40.0}
QUICK = {"messages": 30, "repeat": 1, "rss_attachment_mb": 4.4}  # ~6 MB message, < 60 s


class Log:
    """Progress lines on stderr, so stdout holds only the report."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.start = time.perf_counter()

    def __call__(self, msg: str) -> None:
        if not self.quiet:
            print(f"[{time.perf_counter() - self.start:6.1f}s] {msg}", file=sys.stderr, flush=True)


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="smoke mode for CI: ~30 messages, 1 repetition, ~6 MB RSS case",
    )
    p.add_argument("--messages", type=int, help="corpus size (default 300, quick 30)")
    p.add_argument("--repeat", type=int, help="repetitions per workload (default 5, quick 1)")
    p.add_argument(
        "--only",
        action="append",
        metavar="SUITE",
        help=f"run only these suites, comma-separated or repeated: {', '.join(SUITES)}",
    )
    p.add_argument("--seed", type=int, default=1, help="corpus seed (default 1)")
    p.add_argument("--json", type=Path, metavar="FILE", help="also write the numbers as JSON")
    p.add_argument(
        "--corpus-dir",
        type=Path,
        metavar="DIR",
        help="keep the corpus in DIR and reuse it next time (default: a temp dir)",
    )
    p.add_argument(
        "--rss-attachment-mb",
        type=float,
        help="decoded size of the big attachment in MB (default 40, quick 4.4)",
    )
    p.add_argument(
        "--no-check",
        action="store_true",
        help="skip the untimed mimekit-vs-stdlib decoded-content cross-check",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    args = p.parse_args(argv)
    defaults = QUICK if args.quick else FULL
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    chosen = [s.strip() for item in (args.only or []) for s in item.split(",") if s.strip()]
    unknown = sorted(set(chosen) - set(SUITES))
    if unknown:
        p.error(f"unknown suite(s) {', '.join(unknown)}; choose from {', '.join(SUITES)}")
    args.suites = [s for s in SUITES if s in chosen] if chosen else [
        s for s in SUITES if not (args.quick and s in NOT_QUICK)]
    if args.messages < 1 or args.repeat < 1:
        p.error("--messages and --repeat must be at least 1")
    return args


def _run_rss(
    args: argparse.Namespace, res: Results, have_mimekit: bool, tmp: Path, log: Log
) -> None:
    big_path = tmp / "big.eml"
    big = rss.write_big_message(big_path, int(args.rss_attachment_mb * 1_000_000))
    res.rss_file = {
        "size_mb": round(big.size / 1e6, 1),
        "attachment_mb": round(big.attachment_size / 1e6, 1),
    }
    log(f"rss: wrote {res.rss_file['size_mb']} MB message")
    libs = ["baseline", "stdlib-compat32", "stdlib-default"]
    if have_mimekit:
        libs.insert(1, "mimekit")
    try:
        res.rss = rss.measure(big, libs, tmp)
    finally:
        big_path.unlink(missing_ok=True)
    for r in res.rss:
        log(f"rss: {r.library}: {r.peak_rss_kib} KiB, {r.seconds}s {r.error}")


def _run_timed(
    args: argparse.Namespace, res: Results, libs: list[workloads.Library], tmp: Path, log: Log
) -> None:
    directory = args.corpus_dir or tmp / "corpus"
    started = time.perf_counter()
    corpus = corpus_mod.load(corpus_mod.generate(directory, args.messages, args.seed))
    res.corpus = corpus.summary()
    log(
        f"corpus: {res.corpus['messages']} messages, {res.corpus['total_mb']} MB "
        f"in {time.perf_counter() - started:.1f}s at {directory}"
    )
    for workload in (w for w in workloads.WORKLOADS if w in args.suites):
        res.timings[workload] = time_workload(workload, libs, corpus.messages, args.repeat, log)
    names = [e.name for e in corpus.entries]
    if "roundtrip" in args.suites:
        for lib in libs:
            res.identical[lib.name] = workloads.identical_share(lib, names, corpus.messages)
    if not args.no_check and not res.mimekit_missing:
        res.cross_check = workloads.cross_check(names, corpus.messages)


def _run_smtp(args: argparse.Namespace, res: Results, log: Log) -> None:
    from benchmarks.servers import smtp

    n = SMTP_MESSAGES[1] if args.quick else SMTP_MESSAGES[0]
    res.servers["smtp"] = {"messages": n, "clients": 4,
                           "results": smtp.run(n, 4, 1 if args.quick else 3, log)}


def _run_pop3(args: argparse.Namespace, res: Results, tmp: Path, log: Log) -> None:
    from benchmarks.servers import pop3

    n = POP3_MESSAGES[1] if args.quick else POP3_MESSAGES[0]
    directory = (args.corpus_dir or tmp / "corpus") / f"pop3-{n}"
    corpus = corpus_mod.load(corpus_mod.generate(directory, n, args.seed))
    res.servers["pop3"] = pop3.run(corpus.messages, 1 if args.quick else min(args.repeat, 3),
                                   log)
    if "skipped" in res.servers["pop3"]:
        log(f"pop3: {res.servers['pop3']['skipped']}")


def _run_imap(args: argparse.Namespace, res: Results, tmp: Path, log: Log) -> None:
    from benchmarks.servers import imap

    n = IMAP_MESSAGES[1] if args.quick else IMAP_MESSAGES[0]
    directory = (args.corpus_dir or tmp / "corpus") / f"imap-{n}"
    corpus = corpus_mod.load(corpus_mod.generate(directory, n, args.seed))
    res.servers["imap"] = imap.run(corpus.messages, 1 if args.quick else min(args.repeat, 3),
                                   log)
    if "skipped" in res.servers["imap"]:
        log(f"imap: {res.servers['imap']['skipped']}")


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    log = Log(args.quiet)
    libs, why = workloads.library_set()
    res = Results(mimekit_missing=why)
    res.settings = {
        "seed": args.seed,
        "messages": args.messages,
        "repeat": args.repeat,
        "quick": args.quick,
        "suites": args.suites,
        "python": sys.version.split()[0],
    }
    if why:
        log(f"mimekit unavailable ({why}); measuring the stdlib only")
    with tempfile.TemporaryDirectory(prefix="mimekit-bench-") as tmp_name:
        tmp = Path(tmp_name)
        # RSS first: the parent is still small, and the corpus is not in memory yet.
        if "rss" in args.suites:
            _run_rss(args, res, not why, tmp, log)
        if any(w in args.suites for w in workloads.WORKLOADS):
            _run_timed(args, res, libs, tmp, log)
        if "smtp" in args.suites:
            _run_smtp(args, res, log)
        if "pop3" in args.suites:
            _run_pop3(args, res, tmp, log)
        if "imap" in args.suites:
            _run_imap(args, res, tmp, log)
        if "adversarial" in args.suites:
            from benchmarks import adversarial

            res.adversarial = adversarial.run(log, repeat=min(args.repeat, 5))
    print(render(res))
    if args.json:
        write_json(res, args.json)
        log(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
