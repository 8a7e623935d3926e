"""Adversarial input costs linear time: time(10 n) / time(n) stays far below 100.

A quadratic parser shows a ratio near 100 here, a linear one near 10. The
threshold (25) leaves room for noise; each timing is the minimum of several
runs.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

import pytest

from mimekit.fields import (
    parse_address_list,
    parse_content_disposition,
    parse_content_type,
    parse_date,
    parse_keywords,
    parse_message_id,
    parse_message_id_list,
    parse_unstructured,
    parse_url_list,
)

SHAPES: dict[str, tuple[Callable[[str], object], Callable[[int], str]]] = {
    "many addresses": (parse_address_list, lambda n: "a@b.c, " * n),
    "many named addresses": (parse_address_list, lambda n: '"N, x" <a@b.c>, ' * n),
    "semicolons": (parse_address_list, lambda n: ";" * n),
    "commas": (parse_address_list, lambda n: "," * n),
    "unclosed quote": (parse_address_list, lambda n: '"' + "a, <b@c.d> " * n),
    "unclosed quotes": (parse_address_list, lambda n: 'a "' * n),
    "nested comments": (parse_address_list, lambda n: "(" * n + "x" + ")" * n + " a@b.c"),
    "unclosed comments": (parse_address_list, lambda n: "(" * n),
    "angle brackets": (parse_address_list, lambda n: "<" * n),
    "at signs": (parse_address_list, lambda n: "a@" * n),
    "dots": (parse_address_list, lambda n: "a." * n + "@b"),
    "spaced words": (parse_address_list, lambda n: "a " * n),
    "long word no angle": (parse_address_list, lambda n: "a" * (10 * n)),
    "long name": (parse_address_list, lambda n: "a " * n + "<b@c.d>"),
    "group soup": (parse_address_list, lambda n: "g: a@b.c; " * n),
    "route soup": (parse_address_list, lambda n: "<" + "@a," * n + ":b@c>"),
    "encoded words in names": (parse_address_list, lambda n: "=?utf-8?q?a?= " * n + "<a@b.c>"),
    "date junk": (parse_date, lambda n: "1 Jul 2003 10:00:00 +0000 " + "x " * n),
    "date comments": (parse_date, lambda n: "(" * n + ")" * n + "1 Jul 2003 10:00 +0000"),
    "date numbers": (parse_date, lambda n: "1 " * n),
    "ct params": (parse_content_type, lambda n: "a/b" + "; p=v" * n),
    "ct semicolons": (parse_content_type, lambda n: "a/b" + ";" * n),
    "ct sections": (
        parse_content_type,
        lambda n: "a/b" + "".join(f"; k*{i}*=%41" for i in range(n)),
    ),
    "ct unclosed quote": (parse_content_type, lambda n: 'a/b; k="' + "x;" * n),
    "ct equals": (parse_content_type, lambda n: "a/b; " + "=" * n),
    "ct spaces in value": (parse_content_type, lambda n: "a/b; k=" + "x " * n),
    "cd missing semicolons": (parse_content_disposition, lambda n: "attachment" + " a=b" * n),
    "message ids": (parse_message_id_list, lambda n: "<a@b> " * n),
    "message id junk": (parse_message_id_list, lambda n: "x <" * n),
    "single id brackets": (parse_message_id, lambda n: "<" * n + ">" * n),
    "url lists": (parse_url_list, lambda n: "<a:b>, (c) " * n),
    "keywords": (parse_keywords, lambda n: "a, " * n),
    "unstructured": (parse_unstructured, lambda n: "word " * n),
}


def _best(parse: Callable[[str], object], text: str, repeat: int = 5) -> float:
    best = float("inf")
    gc.disable()  # a collection inside one run is noise, not complexity
    try:
        for _ in range(repeat):
            t0 = time.perf_counter()
            parse(text)
            best = min(best, time.perf_counter() - t0)
    finally:
        gc.enable()
    return best


@pytest.mark.parametrize("shape", list(SHAPES))
def test_linear_time(shape: str) -> None:
    parse, make = SHAPES[shape]
    n = 400
    small, large = make(n), make(10 * n)
    report = ""
    for _attempt in range(3):  # a loaded machine may stall one measurement
        t_small = max(_best(parse, small), 2e-5)  # below ~20 us the clock is noise
        t_large = _best(parse, large)
        ratio = t_large / t_small
        if ratio < 25:
            return
        report = f"{shape}: {t_small * 1e3:.2f} ms -> {t_large * 1e3:.2f} ms (x{ratio:.0f})"
    pytest.fail(report)
