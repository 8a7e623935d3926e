"""Markdown tables on stdout and a JSON dump of the same numbers.

Ratios are "how many times faster mimekit is": the other library's best time divided
by mimekit's best time on the same workload in the same run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.rss import RssResult
from benchmarks.timing import Timing

__all__ = ["TARGETS", "Results", "render", "write_json"]

#: Acceptance targets from the project's issue: minimum speed-up over policy.default.
TARGETS = {"headers": 10.0, "walk": 3.0, "roundtrip": 5.0}
#: Workloads measured without a target from the issue (shown for information).
UNTARGETED = ("edit",)
RSS_TARGET_MB = 100.0


@dataclass(slots=True)
class Results:
    corpus: dict[str, Any] = field(default_factory=dict)
    mimekit_missing: str = ""
    settings: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, dict[str, Timing]] = field(default_factory=dict)
    identical: dict[str, dict[str, Any]] = field(default_factory=dict)
    cross_check: list[str] = field(default_factory=list)
    rss: list[RssResult] = field(default_factory=list)
    rss_file: dict[str, Any] = field(default_factory=dict)
    #: Server suites (``benchmarks/servers/``), by suite name.
    servers: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: The ``adversarial`` suite: one dict per shape (``benchmarks/adversarial.py``).
    adversarial: list[dict[str, Any]] = field(default_factory=list)


def _ratio(times: dict[str, Timing], other: str) -> float | None:
    if "mimekit" not in times or other not in times:
        return None
    return times[other].best / times["mimekit"].best


def _fmt_ratio(r: float | None) -> str:
    return "n/a" if r is None else f"{r:.1f}x"


def _status(workload: str, res: Results) -> str:
    ratio = _ratio(res.timings[workload], "stdlib-default")
    if ratio is None:
        return "n/a"
    if workload not in TARGETS:
        return "-"
    ok = ratio >= TARGETS[workload]
    if workload == "roundtrip":
        ident = res.identical.get("mimekit", {})
        ok = ok and ident.get("identical") == ident.get("total")
    return "PASS" if ok else "MISS"


def render(res: Results) -> str:
    c = res.corpus
    lines = ["# mimekit benchmarks", ""]
    if c:
        lines += [
            f"Corpus: {c.get('messages', 0)} messages, {c.get('total_mb', 0)} MB "
            f"(seed {res.settings.get('seed')}); by kind: "
            + ", ".join(
                f"{k} {v} ({c['mb_by_kind'][k]} MB)" for k, v in c.get("by_kind", {}).items()
            ),
            "Flags: "
            + ", ".join(f"{k} {v}" for k, v in c.get("flags", {}).items())
            + f"; sizes min/median/max {c.get('size_min')}/{c.get('size_median')}/"
            f"{c.get('size_max')} B",
            f"Repetitions: {res.settings.get('repeat')} (best of, libraries interleaved)",
        ]
    if res.mimekit_missing:
        lines += ["", f"**mimekit unavailable: {res.mimekit_missing}** (stdlib figures only)"]
    if res.timings:
        total_mb = c.get("total_mb", 0) or 1e-9
        n = c.get("messages", 1) or 1
        lines += [
            "",
            "| workload | library | best s | median s | MB/s | us/msg | errors |",
            "|---|---|---:|---:|---:|---:|---:|",
        ]
        for workload, times in res.timings.items():
            for t in times.values():
                lines.append(
                    f"| {workload} | {t.library} | {t.best:.3f} | {t.median:.3f} | "
                    f"{total_mb / t.best:.1f} | {t.best / n * 1e6:.0f} | {t.errors} |"
                )
        lines += [
            "",
            "| workload | mimekit vs policy.default | mimekit vs compat32 | target | status |",
            "|---|---:|---:|---|---|",
        ]
        for workload, times in res.timings.items():
            target = (f">= {TARGETS[workload]:.0f}x vs policy.default" if workload in TARGETS
                      else "(no target)")
            if workload == "roundtrip":
                target += ", 100% identical"
            lines.append(
                f"| {workload} | {_fmt_ratio(_ratio(times, 'stdlib-default'))} | "
                f"{_fmt_ratio(_ratio(times, 'stdlib-compat32'))} | {target} | "
                f"{_status(workload, res)} |"
            )
        errs = [
            f"- {w}/{t.library}: {t.errors} errors, first: {t.first_error}"
            for w, times in res.timings.items()
            for t in times.values()
            if t.errors
        ]
        if errs:
            lines += ["", "Errors while timing:", *errs]
    if res.identical:
        lines += [
            "",
            "| library | round trip byte-identical | errors | differing, by kind |",
            "|---|---:|---:|---|",
        ]
        for lib, d in res.identical.items():
            pct = 100.0 * d["identical"] / max(1, d["total"])
            diff = ", ".join(f"{k} {v}" for k, v in d["differing_by_kind"].items())
            lines.append(
                f"| {lib} | {d['identical']}/{d['total']} ({pct:.0f}%) | {d['errors']} | {diff} |"
            )
        mk = res.identical.get("mimekit")
        if mk and mk["differing_examples"]:
            lines.append(f"\nmimekit round trips that differ, e.g.: {mk['differing_examples']}")
        if mk and mk["first_error"]:
            lines.append(f"\nmimekit round trip error, first: {mk['first_error']}")
    if res.cross_check:
        lines += [
            "",
            f"Decoded leaves differing from compat32's ({len(res.cross_check)}, "
            "a hint, not a failure):",
            *(f"- {x}" for x in res.cross_check[:10]),
        ]
    if res.rss:
        f = res.rss_file
        lines += [
            "",
            f"Peak RSS: {f.get('size_mb')} MB message, {f.get('attachment_mb')} MB "
            "base64 attachment streamed to a file, headers read; one fresh process each.",
            "",
            "| library | peak RSS MB | VmHWM MB | seconds | output ok | status |",
            "|---|---:|---:|---:|---|---|",
        ]
        for r in res.rss:
            rss_mb = None if r.peak_rss_kib is None else r.peak_rss_kib / 1024
            hwm = "" if r.vmhwm_kib is None else f"{r.vmhwm_kib / 1024:.0f}"
            status = ""
            if r.library == "mimekit" and rss_mb is not None and not r.error:
                status = "PASS" if rss_mb < RSS_TARGET_MB and r.output_ok else "MISS"
                status += f" (< {RSS_TARGET_MB:.0f} MB)"
            secs = "" if r.seconds is None else f"{r.seconds:.2f}"
            lines.append(
                f"| {r.library} | {'' if rss_mb is None else f'{rss_mb:.0f}'} | {hwm} | {secs} | "
                f"{'' if r.output_ok is None else r.output_ok} | "
                f"{status or (('error: ' + r.error) if r.error else '')} |"
            )
    if "smtp" in res.servers:
        from benchmarks.servers import smtp

        r = res.servers["smtp"]
        lines += ["", smtp.render(r["results"], r["messages"], r["clients"])]
    if "pop3" in res.servers:
        from benchmarks.servers import pop3

        lines += pop3.render(res.servers["pop3"])
    if "imap" in res.servers:
        from benchmarks.servers import imap

        lines += imap.render(res.servers["imap"])
    if res.adversarial:
        from benchmarks import adversarial

        lines += adversarial.render(res.adversarial)
    lines += [
        "",
        "Ratios come from one interleaved run on the same input; absolute times on a",
        "shared machine are noisy, the ratios much less so.",
    ]
    return "\n".join(lines)


def to_dict(res: Results) -> dict[str, Any]:
    n = res.corpus.get("messages", 1) or 1
    total = res.corpus.get("total_mb", 0)
    timings = {
        w: {
            t.library: {
                "best_s": t.best,
                "median_s": t.median,
                "runs_s": t.runs,
                "mb_per_s": total / t.best if t.best else None,
                "us_per_msg": t.best / n * 1e6,
                "errors": t.errors,
                "first_error": t.first_error,
            }
            for t in times.values()
        }
        for w, times in res.timings.items()
    }
    ratios = {
        w: {
            "vs_default": _ratio(times, "stdlib-default"),
            "vs_compat32": _ratio(times, "stdlib-compat32"),
            "target_vs_default": TARGETS.get(w),
            "status": _status(w, res),
        }
        for w, times in res.timings.items()
    }
    return {
        "settings": res.settings,
        "corpus": res.corpus,
        "mimekit_missing": res.mimekit_missing,
        "timings": timings,
        "ratios": ratios,
        "roundtrip_identical": res.identical,
        "cross_check": res.cross_check,
        "rss_file": res.rss_file,
        "rss": [
            {
                "library": r.library,
                "peak_rss_kib": r.peak_rss_kib,
                "vmhwm_kib": r.vmhwm_kib,
                "seconds": r.seconds,
                "output_ok": r.output_ok,
                "error": r.error,
            }
            for r in res.rss
        ],
        "rss_target_mb": RSS_TARGET_MB,
        "servers": res.servers,
        "adversarial": res.adversarial,
    }


def write_json(res: Results, path: Path) -> None:
    path.write_text(json.dumps(to_dict(res), indent=2) + "\n")
