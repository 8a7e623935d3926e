"""The pure-Python fuzzing engine: mutation over a seed pool, grammar
generation, a cheap behaviour feedback, hang detection, crash minimization.

A round takes an input from one of three sources: a fresh one from the
target's grammar generator (protocol streams, encoded files), a mutation of
a pool entry, or (rarely) random bytes. The pool starts as the target's
seeds; an input whose run reports a *feature* not seen before (a defect
kind, a state transition: whatever the target returns) joins it, so the
mutations drift toward inputs that reach new behaviour. That is the poor
man's coverage guidance; ``--engine atheris`` has the real thing.

Every input runs under an interval timer: one that takes longer than the
per-input timeout is reported like a crash (a hang, or superlinear time).
A failing input is saved, minimized (chunks cut away while the failure keeps
its exception type and place), saved again, and printed as a ready-to-paste
regression test.
"""

from __future__ import annotations

import hashlib
import random
import signal
import sys
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType, TracebackType

__all__ = ["CRASHES", "KNOWN", "Failure", "SlowInput", "Stats", "Target", "known", "minimize",
           "mutate", "run"]

ROOT = Path(__file__).resolve().parent
#: Failing inputs go under ``fuzz/crashes/<target>/`` (git-ignored).
CRASHES = ROOT / "crashes"

#: Tokens every target's mutator may insert: what parsers and protocol
#: readers branch on.
TOKENS: tuple[bytes, ...] = (
    b"\r\n", b"\n", b"\r", b"\r\n\r\n", b"\r\n.\r\n", b"\n.\n", b"\r\n..", b"--", b"=?", b"?=",
    b"=?utf-8?q?", b"=?utf-8?b?", b":", b";", b'"', b"\\", b"(", b")", b"<", b">", b"@", b",",
    b"=", b"*0*=", b"''", b"\x00", b"\xff", b"\xc3\xa9", b"\t", b" ", b"%", b"=\r\n", b"=3D",
    b"{", b"}", b"[", b"]", b"+", b"*", b"~{", b"{0}\r\n", b"{5+}\r\n", b"NIL", b"\\Seen",
)
#: Numbers that sit on edges: sizes, counts, literal lengths.
NUMBERS: tuple[bytes, ...] = (
    b"0", b"1", b"2", b"7", b"255", b"256", b"512", b"513", b"998", b"1000", b"1001", b"4096",
    b"65536", b"2147483647", b"2147483648", b"4294967295", b"4294967296",
    b"9223372036854775807", b"9999999999999999999", b"99999999999999999999", b"-1", b"00",
)

#: Pool entries kept beyond the seeds (inputs that showed a new feature).
MAX_POOL = 2000

#: Known bugs a target steps around (each is reported, and is in code this
#: work may not change): counted and printed after each run, so they stay
#: visible without failing CI. Remove the step-around once fixed.
KNOWN: Counter[str] = Counter()


def known(issue: str) -> None:
    """Count a known bug that an input hit."""
    KNOWN[issue] += 1


@dataclass(frozen=True)
class Target:
    """One fuzz target.

    Attributes:
        name: The name on the command line.
        run: Runs one input and checks the invariants; raises on a failure.
            May return an iterable of hashable *features* (what the input
            reached) for the engine's feedback.
        seeds: The starting pool.
        generate: Makes a fresh, mostly well-formed input (grammar-aware)
            from a random generator, or None.
        tokens: Extra tokens for the mutator.
        gen_share: The share of rounds that generate rather than mutate.
        max_len: The longest input the mutator builds.
    """

    name: str
    run: Callable[[bytes], object]
    seeds: Callable[[], list[bytes]]
    generate: Callable[[random.Random], bytes] | None = None
    tokens: tuple[bytes, ...] = ()
    gen_share: float = 0.3
    max_len: int = 1 << 17

    @property
    def doc(self) -> str:
        """The first line of the run function's docstring."""
        return (self.run.__doc__ or "").strip().splitlines()[0] if self.run.__doc__ else ""


class SlowInput(BaseException):
    """One input ran past the per-input timeout: a hang or superlinear time.

    A BaseException, so that no ``except Exception`` in the code under test
    swallows it."""


@dataclass
class Stats:
    inputs: int = 0
    generated: int = 0
    features: int = 0
    pool: int = 0
    seconds: float = 0.0


@dataclass
class Failure:
    """A failing input and what it raised."""

    target: str
    data: bytes
    error: BaseException
    where: str = ""
    saved: list[Path] = field(default_factory=list)


# -- mutation -----------------------------------------------------------------------------


def _lines(buf: bytes) -> list[bytes]:
    return buf.splitlines(keepends=True)


def mutate(data: bytes, pool: list[bytes], rng: random.Random,
           tokens: tuple[bytes, ...] = (), max_len: int = 1 << 17) -> bytes:
    """A few random edits of ``data``: byte and token edits, runs of a token
    (the adversarial shapes), splices from other pool entries, line-level
    edits (protocol streams are lines), and edge numbers."""
    toks = TOKENS + tokens
    buf = bytearray(data)
    for _ in range(rng.choice((1, 1, 2, 2, 3, 4, 6, 8))):
        pos = rng.randint(0, len(buf))
        op = rng.randrange(14)
        if op == 0 and buf:
            buf[min(pos, len(buf) - 1)] = rng.randrange(256)
        elif op == 1:
            buf[pos:pos] = rng.choice(toks)
        elif op == 2:
            del buf[pos:pos + rng.choice((1, 1, 2, 4, 16, 64, 512))]
        elif op == 3 and pool:
            other = rng.choice(pool)
            start = rng.randint(0, len(other))
            buf[pos:pos] = other[start:start + rng.choice((4, 16, 64, 256, 4096))]
        elif op == 4:
            buf[pos:pos] = rng.choice(toks) * rng.choice((2, 3, 10, 100, 1000))
        elif op == 5:
            buf[pos:pos] = rng.randbytes(rng.randint(1, 8))
        elif op == 6 and buf:
            # Duplicate a region (repeats a header, a part, a command).
            a = rng.randrange(len(buf))
            piece = bytes(buf[a:a + rng.choice((8, 64, 512, 4096))])
            buf[pos:pos] = piece * rng.choice((1, 1, 2, 5))
        elif op == 7 and buf:
            del buf[pos:]  # truncation: EOF anywhere
        elif op in (8, 9):
            lines = _lines(bytes(buf))
            if len(lines) >= 2:
                i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
                choice = rng.randrange(3)
                if choice == 0:
                    lines[i], lines[j] = lines[j], lines[i]
                elif choice == 1:
                    lines.insert(j, lines[i])
                else:
                    del lines[i]
                buf = bytearray(b"".join(lines))
        elif op == 10:
            # Replace a run of digits by an edge number.
            digits = [i for i in range(max(pos - 64, 0), min(pos + 64, len(buf)))
                      if 0x30 <= buf[i] <= 0x39]
            if digits:
                i = rng.choice(digits)
                j = i
                while j < len(buf) and 0x30 <= buf[j] <= 0x39:
                    j += 1
                while i > 0 and 0x30 <= buf[i - 1] <= 0x39:
                    i -= 1
                buf[i:j] = rng.choice(NUMBERS)
            else:
                buf[pos:pos] = rng.choice(NUMBERS)
        elif op == 11 and buf:
            # Change case, or turn CRLFs into bare LFs (or back), in a region.
            a = rng.randrange(len(buf))
            b = a + rng.choice((4, 64, 1024))
            region = bytes(buf[a:b])
            region = rng.choice((region.swapcase(), region.replace(b"\r\n", b"\n"),
                                 region.replace(b"\n", b"\r\n"), region.replace(b" ", b"\t")))
            buf[a:b] = region
        elif op == 12 and pool:
            # Crossover: the head of this input, the tail of another.
            other = rng.choice(pool)
            buf = buf[:pos] + other[rng.randint(0, len(other)):]
        else:
            buf[pos:pos] = bytes([rng.choice(b" \t\r\n:;,<>()\"\\=?*%{}[]")])
        if len(buf) > max_len:
            del buf[max_len:]
    return bytes(buf)


# -- running ------------------------------------------------------------------------------


def _on_alarm(signum: int, frame: FrameType | None) -> None:
    raise SlowInput("input ran past the per-input timeout")


class _Timer:
    """An interval timer that raises :class:`SlowInput` in the main thread."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.enabled = seconds > 0 and hasattr(signal, "setitimer")
        if self.enabled:
            signal.signal(signal.SIGALRM, _on_alarm)

    def run(self, fn: Callable[[bytes], object], data: bytes) -> object:
        if not self.enabled:
            return fn(data)
        signal.setitimer(signal.ITIMER_REAL, self.seconds)
        try:
            return fn(data)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)


def _where(tb: TracebackType | None) -> str:
    """The innermost frame in mimekit or fuzz: what makes two failures the same."""
    place = ""
    for frame, lineno in traceback.walk_tb(tb):
        name = frame.f_code.co_filename
        if "mimekit" in name or "fuzz" in name:
            place = f"{Path(name).name}:{lineno}"
    return place


def _signature(exc: BaseException) -> tuple[str, str]:
    return type(exc).__name__, _where(exc.__traceback__)


def minimize(fn: Callable[[bytes], object], data: bytes, exc: BaseException,
             timer: _Timer, budget: float = 30.0) -> bytes:
    """Cut ``data`` down while it fails the same way (delta debugging over
    chunks, halving the chunk size), within ``budget`` seconds."""
    want = _signature(exc)
    deadline = time.monotonic() + budget

    def fails(candidate: bytes) -> bool:
        try:
            timer.run(fn, candidate)
        except SlowInput as e:
            return _signature(e)[0] == want[0]
        except Exception as e:
            return _signature(e) == want
        return False

    best = data
    chunk = max(len(best) // 2, 1)
    while chunk >= 1 and time.monotonic() < deadline:
        i = 0
        changed = False
        while i < len(best) and time.monotonic() < deadline:
            candidate = best[:i] + best[i + chunk:]
            if fails(candidate):
                best = candidate
                changed = True
            else:
                i += chunk
        if not changed:
            chunk //= 2
    # Then try simplifying bytes to "a" one at a time (short inputs only).
    if len(best) <= 256:
        for i in range(len(best)):
            if time.monotonic() >= deadline:
                break
            if best[i] != 0x61:
                candidate = best[:i] + b"a" + best[i + 1:]
                if fails(candidate):
                    best = candidate
    return best


def _save(target: str, data: bytes, suffix: str = "") -> Path:
    out = CRASHES / target
    out.mkdir(parents=True, exist_ok=True)
    path = out / (hashlib.sha1(data).hexdigest()[:16] + suffix)
    path.write_bytes(data)
    return path


def report(failure: Failure) -> None:
    """Print a failure: the traceback, where the input is, and a regression
    test to paste into ``tests/test_regressions.py``."""
    err = failure.error
    print("".join(traceback.format_exception(type(err), err, err.__traceback__)),
          file=sys.stderr)
    for path in failure.saved:
        print(f"fuzz {failure.target}: input saved to {path}", file=sys.stderr)
    data = failure.data
    shown = repr(data) if len(data) <= 2000 else f"{data[:2000]!r}  # ... {len(data)} bytes"
    print(f"\nreplay: python -m fuzz {failure.target} --replay {failure.saved[-1]}\n"
          f"regression test (adapt it to the public API):\n\n"
          f"def test_fuzz_{failure.target.replace('-', '_')}_"
          f"{hashlib.sha1(data).hexdigest()[:8]}() -> None:\n"
          f"    data = {shown}\n"
          f"    ...  # {type(err).__name__} at {failure.where}\n", file=sys.stderr)


def run(target: Target, seconds: float, seed: int, *, timeout: float = 10.0,
        minimize_budget: float = 30.0, log: Callable[[str], None] = print) -> Failure | None:
    """Fuzz ``target`` for ``seconds``; return the first failure, minimized and saved."""
    rng = random.Random(seed)
    timer = _Timer(timeout)
    stats = Stats()
    KNOWN.clear()
    seen: set[object] = set()
    pool = list(target.seeds())
    start = time.monotonic()
    deadline = start + seconds

    def one(data: bytes) -> Failure | None:
        stats.inputs += 1
        try:
            features = timer.run(target.run, data)
        except (Exception, SlowInput) as exc:
            failure = Failure(target.name, data, exc, _where(exc.__traceback__))
            failure.saved.append(_save(target.name, data))
            if minimize_budget > 0:
                small = minimize(target.run, data, exc, timer, minimize_budget)
                if small != data:
                    try:
                        timer.run(target.run, small)
                    except (Exception, SlowInput) as again:
                        failure = Failure(target.name, small, again,
                                          _where(again.__traceback__), failure.saved)
                    failure.saved.append(_save(target.name, small, ".min"))
            return failure
        if isinstance(features, Iterable):
            new = [f for f in features if f not in seen]
            if new:
                seen.update(new)
                stats.features = len(seen)
                if len(pool) < MAX_POOL:
                    pool.append(data)
                else:
                    pool[rng.randrange(len(pool))] = data
        return None

    # Every seed once, as it is (while time remains: a huge corpus must not
    # blow the budget).
    for data in list(pool):
        if time.monotonic() >= deadline and stats.inputs:
            break
        failure = one(data)
        if failure is not None:
            return failure
    while time.monotonic() < deadline:
        roll = rng.random()
        if target.generate is not None and (roll < target.gen_share or not pool):
            stats.generated += 1
            gen_seed = rng.randrange(1 << 32)
            try:
                data = target.generate(random.Random(gen_seed))
            except Exception as exc:
                # The generator runs the cores too (connection pairs): a
                # failure there is a finding like any other.
                failure = Failure(target.name, gen_seed.to_bytes(4, "big"), exc,
                                  _where(exc.__traceback__))
                failure.saved.append(_save(target.name, failure.data, ".genseed"))
                return failure
            if rng.random() < 0.5:
                data = mutate(data, pool, rng, target.tokens, target.max_len)
        elif roll > 0.995:
            data = rng.randbytes(rng.randint(0, 512))
        else:
            data = mutate(rng.choice(pool), pool, rng, target.tokens, target.max_len)
        failure = one(data)
        if failure is not None:
            return failure
    stats.seconds = time.monotonic() - start
    stats.pool = len(pool)
    log(f"fuzz {target.name}: {stats.inputs} inputs ({stats.generated} generated) in "
        f"{stats.seconds:.1f} s, {stats.features} features, pool {stats.pool}: no failures")
    for issue, count in sorted(KNOWN.items()):
        log(f"  known issue, hit {count} times: {issue}")
    KNOWN.clear()
    return None
