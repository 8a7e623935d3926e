"""``python -m fuzz TARGET [--seconds N] [--seed S]``: mutation fuzzing.

Seeds come from the test corpus (``tests/corpus``) for message targets and
from small hand-picked values for field targets. Each round takes a seed,
applies a few random mutations (byte flips, inserted or deleted runs, spliced
pieces of other seeds, and tokens parsers care about), and runs the target.
A failing input is written to ``fuzz/crashes/`` and the run exits with 1.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import sys
import time
import traceback
from pathlib import Path

from .targets import TARGETS

ROOT = Path(__file__).resolve().parent
CORPUS = ROOT.parent / "tests" / "corpus"
TOKENS = [b"\r\n", b"\n", b"\r", b"\r\n\r\n", b"--", b"=?", b"?=", b"=?utf-8?q?", b"=?utf-8?b?",
          b":", b";", b"\"", b"\\", b"(", b")", b"<", b">", b"@", b",", b"=", b"*0*=", b"''",
          b"boundary=", b"Content-Type: multipart/mixed; boundary=x\r\n", b"\r\n--x\r\n",
          b"\r\n--x--\r\n", b"Content-Transfer-Encoding: base64\r\n", b"\x00", b"\xff", b"\t",
          b" ", b"%", b"=\r\n", b"=3D", b"From ", b"message/rfc822"]
FIELD_SEEDS = [b"John Doe <jdoe@example.org>", b"\"a b\" <a@b.c>, (c) d@e.f",
               b"undisclosed-recipients:;", b"Tue, 1 Jul 2003 10:52:37 +0200",
               b"text/plain; charset=\"utf-8\"; format=flowed",
               b"attachment; filename*0*=utf-8''%E2%82; filename*1*=%AC.txt",
               b"<a@b> <c@d>", b"=?utf-8?q?caf=C3=A9?= =?utf-8?b?4oKs?=",
               b"aGVsbG8gd29ybGQ=\r\n", b"caf=C3=A9 =\r\nsoft"]


def seeds(target: str) -> list[bytes]:
    if target in ("parse", "edit"):
        files = [p for p in CORPUS.rglob("*") if p.is_file() and p.stat().st_size < 100_000]
        return [p.read_bytes() for p in sorted(files)] or [b"Subject: x\r\n\r\nbody"]
    return FIELD_SEEDS


def mutate(data: bytes, pool: list[bytes], rng: random.Random) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(1, 6)):
        pos = rng.randint(0, len(buf))
        op = rng.randrange(6)
        if op == 0 and buf:
            buf[min(pos, len(buf) - 1)] = rng.randrange(256)
        elif op == 1:
            buf[pos:pos] = rng.choice(TOKENS)
        elif op == 2:
            del buf[pos:pos + rng.randint(1, 64)]
        elif op == 3:
            other = rng.choice(pool)
            start = rng.randint(0, len(other))
            buf[pos:pos] = other[start:start + rng.randint(1, 256)]
        elif op == 4:
            buf[pos:pos] = rng.choice(TOKENS) * rng.randint(2, 200)
        else:
            buf[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
    return bytes(buf)


def run(target: str, seconds: float, seed: int) -> int:
    fn = TARGETS[target]
    pool = seeds(target)
    rng = random.Random(seed)
    deadline = time.monotonic() + seconds
    n = 0
    for s in pool:  # every seed once, unmutated
        fn(s)
    while time.monotonic() < deadline:
        data = mutate(rng.choice(pool), pool, rng)
        n += 1
        try:
            fn(data)
        except Exception:
            out = ROOT / "crashes" / target
            out.mkdir(parents=True, exist_ok=True)
            path = out / hashlib.sha1(data).hexdigest()
            path.write_bytes(data)
            traceback.print_exc()
            print(f"fuzz {target}: failure after {n} inputs; input saved to {path}",
                  file=sys.stderr)
            return 1
    print(f"fuzz {target}: {n} inputs in {seconds:.0f} s, no failures")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(prog="python -m fuzz", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("target", choices=[*TARGETS, "all"])
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--seed", type=int, default=None,
                    help="random seed (default: a fresh one, printed)")
    args = ap.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    print(f"seed {seed}")
    names = list(TARGETS) if args.target == "all" else [args.target]
    return max(run(name, args.seconds, seed) for name in names)


if __name__ == "__main__":
    raise SystemExit(main())
