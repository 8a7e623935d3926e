"""Linear time on adversarial input, through the public API (issue 8).

Every shape of ``benchmarks/adversarial.py`` (the one list of them: runs of
``;`` in parameters, thousands of parameters and RFC 2231 sections,
thousands of boundaries, boundaries that are prefixes of each other,
thousands of encoded words, tens of thousands of header fields, long
address lists, deeply nested comments, unclosed quotes, long runs of
quoted-printable soft breaks, very deep multipart nesting, and the protocol
cores fed in chunks) is timed at n and 10 n: the ratio is near 10 for
linear code, near 100 for quadratic code, and must stay under 25. Each time
is the best of several runs; a shape gets three tries, since a loaded
machine can stall one measurement.

Lower-level shapes live next to their code: ``test_codecs_linear.py``
(codecs), ``test_fields_linear.py`` (field parsers), the linear-time part of
``test_tree_files_limits.py`` and ``test_imap_core.py``.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest


def _load_shapes() -> ModuleType:
    # By path: the repository root is not on sys.path under plain "pytest".
    path = Path(__file__).resolve().parent.parent / "benchmarks" / "adversarial.py"
    spec = importlib.util.spec_from_file_location("mimekit_adversarial_shapes", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look the module up
    spec.loader.exec_module(module)
    return module


adversarial = _load_shapes()
LINEAR = [s for s in adversarial.SHAPES if s.known is None]


@pytest.mark.parametrize("shape", LINEAR, ids=[s.name for s in LINEAR])
def test_linear_time(shape: object) -> None:
    report = ""
    for _attempt in range(3):
        times = adversarial.measure(shape, repeat=3)
        ratio = adversarial.ratio(times)
        if ratio < 25:
            return
        report = (f"{shape.name}: n={shape.n}: {times[0] * 1e3:.2f} ms, "  # type: ignore[attr-defined]
                  f"10n: {times[1] * 1e3:.2f} ms, ratio {ratio:.1f}")
    pytest.fail(report)


def test_superlinear_only_where_documented() -> None:
    """The shapes allowed to be superlinear say why, and a limit bounds each."""
    known = [s for s in adversarial.SHAPES if s.known is not None]
    assert [s.name for s in known] == ["very deep multipart nesting (no depth limit)"]
    assert all("Limits." in s.known for s in known)


def test_every_listed_shape_is_covered() -> None:
    # Issue 8's list, each with at least one shape.
    names = " | ".join(s.name for s in adversarial.SHAPES)
    for needle in ("runs of ';' in parameters", "thousands of parameters", "RFC 2231 sections",
                   "thousands of boundaries", "boundaries that are prefixes of each other",
                   "encoded words", "tens of thousands of header fields", "long address lists",
                   "deeply nested comments", "unclosed quote", "quoted-printable soft breaks",
                   "very deep multipart nesting"):
        assert needle in names, needle
