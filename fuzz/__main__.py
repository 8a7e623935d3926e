"""``python -m fuzz TARGET... [--seconds N] [--seed S] [--engine E]``: fuzz mimekit.

TARGET is a name from ``--list``, or ``all`` (every target, N seconds each).

Engines:

* ``mutate`` (the default, pure Python): mutation over the seed pool and the
  target's grammar generator, with a cheap behaviour feedback (see
  ``fuzz/_engine.py``). Deterministic for a given ``--seed`` (the number of
  inputs in N seconds depends on the machine).
* ``hypothesis``: the same inputs drawn through Hypothesis's
  ``fuzz_one_input`` (its shrinker does not run there; ours does).
* ``atheris``: coverage-guided libFuzzer (``pip install atheris``), each
  target in a subprocess, with our mutator and generators as its custom
  mutator half of the time.

A failing input is saved under ``fuzz/crashes/<target>/`` (minimized as
``*.min``), its traceback printed with a regression-test skeleton, and the
exit status is 1. ``--replay FILE...`` runs saved inputs again.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import time
from pathlib import Path

from ._engine import Failure, SlowInput, Target, _Timer, _where, mutate, report, run
from .targets import TARGETS

ENGINES = ("mutate", "hypothesis", "atheris")


def _run_hypothesis(target: Target, seconds: float, seed: int) -> Failure | None:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    pool = target.seeds() or [b""]
    randoms = st.randoms(use_true_random=False)
    sources = [
        st.sampled_from(pool),
        st.builds(lambda d, r: mutate(d, pool, r, target.tokens, target.max_len),
                  st.sampled_from(pool), randoms),
        st.binary(max_size=4096),
    ]
    if target.generate is not None:
        sources.append(randoms.map(target.generate))
    last: list[bytes] = [b""]

    @settings(database=None, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.one_of(*sources))
    def check(data: bytes) -> None:
        last[0] = data
        target.run(data)

    fuzz_one = check.hypothesis.fuzz_one_input  # type: ignore[attr-defined]
    rng = random.Random(seed)
    timer = _Timer(10.0)
    deadline = time.monotonic() + seconds
    count = 0
    while time.monotonic() < deadline:
        count += 1
        try:
            timer.run(fuzz_one, rng.randbytes(rng.choice((64, 256, 1024, 8192))))
        except (Exception, SlowInput) as exc:
            return Failure(target.name, last[0], exc, _where(exc.__traceback__))
    print(f"fuzz {target.name} (hypothesis): {count} inputs in {seconds:.0f} s, no failures")
    return None


def _run_atheris(name: str, seconds: float, seed: int) -> int:
    cmd = [sys.executable, "-m", "fuzz._atheris", name, str(seconds), str(seed)]
    return subprocess.call(cmd, cwd=Path(__file__).resolve().parent.parent)


def _replay(target: Target, paths: list[Path]) -> int:
    status = 0
    for path in paths:
        data = path.read_bytes()
        if path.suffix == ".genseed" and target.generate is not None:
            data = target.generate(random.Random(int.from_bytes(data, "big")))
        try:
            target.run(data)
        except Exception as exc:
            failure = Failure(target.name, data, exc, _where(exc.__traceback__), [path])
            report(failure)
            status = 1
        else:
            print(f"{path}: passes")
    return status


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m fuzz", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("targets", nargs="*", metavar="TARGET", help="target names, or 'all'")
    ap.add_argument("--seconds", type=float, default=60.0, help="per target (default 60)")
    ap.add_argument("--seed", type=int, default=None,
                    help="random seed (default: a fresh one, printed)")
    ap.add_argument("--engine", choices=ENGINES, default="mutate")
    ap.add_argument("--timeout", type=float, default=10.0,
                    help="seconds one input may take before it counts as a hang (default 10)")
    ap.add_argument("--minimize", type=float, default=30.0, metavar="SECONDS",
                    help="time to spend minimizing a failing input (0: do not)")
    ap.add_argument("--replay", nargs="+", type=Path, metavar="FILE",
                    help="run saved inputs through the (one) target instead of fuzzing")
    ap.add_argument("--list", action="store_true", help="list the targets and exit")
    args = ap.parse_args(argv)
    if args.list:
        width = max(map(len, TARGETS))
        for t in TARGETS.values():
            print(f"{t.name:<{width}}  {t.doc}")
        return 0
    names = list(TARGETS) if args.targets == ["all"] else args.targets
    unknown = [n for n in names if n not in TARGETS]
    if not names or unknown:
        ap.error(f"unknown target(s) {', '.join(unknown) or '(none given)'}; "
                 f"choose from: all, {', '.join(TARGETS)}")
    if args.replay:
        if len(names) != 1:
            ap.error("--replay takes one target")
        return _replay(TARGETS[names[0]], args.replay)
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    print(f"seed {seed}, engine {args.engine}, {args.seconds:g} s per target", flush=True)
    status = 0
    started = time.monotonic()
    for name in names:
        target = TARGETS[name]
        if args.engine == "atheris":
            status = max(status, 1 if _run_atheris(name, args.seconds, seed) else 0)
            continue
        if args.engine == "hypothesis":
            failure = _run_hypothesis(target, args.seconds, seed)
        else:
            failure = run(target, args.seconds, seed, timeout=args.timeout,
                          minimize_budget=args.minimize)
        sys.stdout.flush()
        if failure is not None:
            if not failure.saved:
                from ._engine import _save

                failure.saved.append(_save(name, failure.data))
            report(failure)
            status = 1
    if len(names) > 1:
        print(f"fuzz: {len(names)} targets in {time.monotonic() - started:.0f} s"
              + (", FAILURES" if status else ", no failures"))
    return status


if __name__ == "__main__":
    raise SystemExit(main())
