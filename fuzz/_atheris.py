"""``python -m fuzz._atheris TARGET SECONDS SEED``: one target under atheris
(libFuzzer, coverage-guided). Run through ``python -m fuzz --engine atheris``.

mimekit is imported under ``atheris.instrument_imports`` so libFuzzer sees
its branches. Half of the mutations are libFuzzer's own, half come from our
mutator and the target's grammar generator (a custom mutator), so protocol
streams stay mostly well-formed. Crashes land in ``fuzz/crashes/<target>/``
(libFuzzer's ``crash-*`` files); replay them with ``python -m fuzz TARGET
--replay FILE``.
"""

from __future__ import annotations

import random
import sys
import tempfile
from pathlib import Path

import atheris  # type: ignore[import-not-found]

# Every package a target reaches, imported (so instrumented) before the
# targets import them: a module first imported outside this block would run
# without coverage, and libFuzzer would fuzz it blind.
with atheris.instrument_imports(include=["mimekit"]):
    import mimekit
    import mimekit.imap
    import mimekit.imap._fetch_data
    import mimekit.pop3
    import mimekit.smtp  # noqa: F401

from ._engine import CRASHES, mutate
from .targets import TARGETS


def main() -> None:
    name, seconds, seed = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
    target = TARGETS[name]
    pool = target.seeds()

    def mutator(data: bytes, max_size: int, mseed: int) -> bytes:
        rng = random.Random(mseed)
        roll = rng.random()
        if roll < 0.5:
            return bytes(atheris.Mutate(data, max_size))
        if target.generate is not None and roll < 0.7:
            out = target.generate(rng)
        else:
            out = mutate(data, pool, rng, target.tokens, max_size)
        return out[:max_size]

    corpus = Path(tempfile.mkdtemp(prefix=f"mimekit-atheris-{name}-"))
    for i, data in enumerate(pool):
        (corpus / f"seed{i:05d}").write_bytes(data)
    crashes = CRASHES / name
    crashes.mkdir(parents=True, exist_ok=True)
    args = [sys.argv[0], str(corpus), f"-max_total_time={max(int(seconds), 1)}",
            f"-seed={seed + 1}", "-timeout=10", "-max_len=65536", "-rss_limit_mb=4096",
            f"-artifact_prefix={crashes}/", "-print_final_stats=1"]
    def test_one_input(data: bytes) -> None:
        target.run(data)

    atheris.Setup(args, test_one_input, custom_mutator=mutator)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
