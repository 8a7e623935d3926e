"""Adversarial input costs linear time in every codec.

time(10 n) / time(n) is near 10 for linear code and near 100 for quadratic
code; the threshold, 25, leaves room for noise. Each timing is the minimum of
several runs.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from typing import Any

import pytest

from mimekit.codecs import (
    Base64Decoder,
    QPDecoder,
    decode_base64,
    decode_bytes,
    decode_encoded_words,
    decode_header_bytes,
    decode_qp,
    encode_qp,
    encode_words,
    needs_encoding,
)


def _best(func: Callable[[], object], runs: int = 5) -> float:
    best = float("inf")
    for _ in range(runs):
        gc.collect()
        start = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - start)
    return best


def _ratio(func: Callable[[Any], object], make: Callable[[int], Any], n: int) -> float:
    small, large = make(n), make(10 * n)
    func(small)  # warm caches (regex compilation, lazy imports)
    return _best(lambda: func(large)) / max(_best(lambda: func(small)), 1e-6)


def _chunked_b64(data: object) -> None:
    decoder = Base64Decoder()
    assert isinstance(data, bytes)
    for start in range(0, len(data), 4096):
        decoder.feed(data[start : start + 4096])
    decoder.close()


def _chunked_qp(data: object) -> None:
    decoder = QPDecoder()
    assert isinstance(data, bytes)
    for start in range(0, len(data), 4096):
        decoder.feed(data[start : start + 4096])
    decoder.close()


def _words(text: object) -> object:
    assert isinstance(text, str)
    return decode_encoded_words(text, max_words=10**9)


SHAPES: dict[str, tuple[Callable[[Any], object], Callable[[int], Any], int]] = {
    # base64
    "b64 equals": (decode_base64, lambda n: b"=" * n, 20_000),
    "b64 junk": (decode_base64, lambda n: b"!" * n, 20_000),
    "b64 alternating junk": (decode_base64, lambda n: b"!A" * n, 20_000),
    "b64 concatenated blobs": (decode_base64, lambda n: b"YQ==" * n, 300),
    "b64 stray padding": (decode_base64, lambda n: b"YW=" * n, 400),
    "b64 dangling padding": (decode_base64, lambda n: b"Y=" * n, 400),
    "b64 padding lines": (decode_base64, lambda n: b"=\r\n" * n, 10_000),
    "b64 one long line": (decode_base64, lambda n: b"QUJD" * n, 50_000),
    "b64 whitespace": (decode_base64, lambda n: b" " * n + b"QQ", 100_000),
    "b64 chunked junk": (_chunked_b64, lambda n: b"!A=\n" * n, 300),
    # quoted-printable
    "qp equals": (decode_qp, lambda n: b"=" * n, 20_000),
    "qp equals space": (decode_qp, lambda n: b"= " * n, 20_000),
    "qp equals CR": (decode_qp, lambda n: b"=\r" * n, 20_000),
    "qp soft breaks": (decode_qp, lambda n: b"=\r\n" * n, 20_000),
    "qp invalid escapes": (decode_qp, lambda n: b"=ZZ" * n, 20_000),
    "qp long padding": (decode_qp, lambda n: b"=" + b" " * n + b"\n", 100_000),
    "qp padding runs": (decode_qp, lambda n: (b"=" + b" " * 300) * n, 200),
    "qp one long line": (decode_qp, lambda n: b"a" * n, 100_000),
    "qp escapes": (decode_qp, lambda n: (b"=C3=A9" * 12 + b"=\r\n") * n, 2_000),
    "qp chunked equals": (_chunked_qp, lambda n: b"=\r=" * n, 3_000),
    "qp encode": (encode_qp, lambda n: b"\xff \n" * n, 700),
    "qp encode binary line": (lambda d: encode_qp(d, binary=True), lambda n: b"a=" * n, 1_500),
    # RFC 2047
    "ew openers": (_words, lambda n: "=?" * n, 3_000),
    "ew prefixes": (_words, lambda n: "=?a?q?" * n, 1_500),
    "ew prefixes closed": (_words, lambda n: "=?utf-8?q?" * n + "?=", 2_000),
    "ew closers": (_words, lambda n: "?=" * n, 4_000),
    "ew words": (_words, lambda n: "=?utf-8?q?a?= " * n, 400),
    "ew adjacent words": (_words, lambda n: "=?utf-8?q?a?=" * n, 300),
    "ew split base64": (_words, lambda n: "=?utf-8?b?QUJ?= " * n, 300),
    "ew unknown charset": (_words, lambda n: "=?x-bogus?q?a?= " * n, 400),
    "ew long word": (_words, lambda n: "=?utf-8?q?" + "=C3=A9" * n + "?=", 5_000),
    "ew bad escapes": (_words, lambda n: "=?utf-8?q?" + "=Z" * n + "?=", 5_000),
    "ew folds": (_words, lambda n: "=?utf-8?q?" + "a\r\n " * n + "?=", 5_000),
    "ew default limit": (decode_encoded_words, lambda n: "=?utf-8?q?a?= " * n, 2_000),
    "encode words": (encode_words, lambda n: "é€日 " * n, 500),
    "needs encoding": (needs_encoding, lambda n: "=?" * n, 50_000),
    # charsets
    "header mixed utf8": (decode_header_bytes, lambda n: "éé".encode() * n + b"\xe9" * n, 400),
    "header junk": (decode_header_bytes, lambda n: b"\xff\xc3" * n, 20_000),
    "body bad utf8": (lambda d: decode_bytes(d, "utf-8"), lambda n: b"a\xff" * n, 20_000),
}


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_linear_time(shape: str) -> None:
    func, make, n = SHAPES[shape]
    ratio = _ratio(func, make, n)
    assert ratio < 25, f"{shape}: time(10n)/time(n) = {ratio:.1f}"
