"""Decoded bodies equal mime4j's expected ``*_decoded_*`` files.

mime4j's DOM test writes each leaf body, transfer encoding undone, to
``<msg>_decoded_<path>.txt|bin``. The path starts at ``1`` for the message;
each body part of a multipart appends ``_<n>`` and the body of an attached
message appends ``_1``. The ``_decoded.xml`` file lists the leaves in order.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import CORPUS

import mimekit

ROOTS = [CORPUS / "james-mime4j/core/src/test/resources/testmsgs",
         CORPUS / "james-mime4j/core/src/test/resources/mimetools-testmsgs"]
#: Where mimekit deliberately differs from mime4j, and why.
DIFFERENCES = {
    # mime4j keeps reading header lines after a line that is not a field and
    # drops them as "bogus headers"; mimekit (like CPython) ends the header
    # block at that line and keeps it as the start of the body: nothing lost.
    "hdr-fakeout.msg": "header block ends at the first non-field line",
    "basic-plain-with-bad-header-separator.msg": "header block ends at the first non-field line",
    # The boundary parameter is folded inside its quotes, so no line matches
    # it. mime4j makes a multipart with no parts (all preamble); mimekit (like
    # CPython) keeps the body as one leaf with start-boundary-not-found.
    "badbound.msg": "multipart whose boundary never appears is a leaf",
    "missing-boundary.msg": "multipart whose boundary never appears is a leaf",
    "missing-inner-boundary.msg": "multipart whose boundary never appears is a leaf",
    # A delimiter line repeated with nothing between: mime4j makes an empty
    # part (no headers, no body) for each repeat; mimekit, like CPython,
    # reads one delimiter with a duplicate-boundary defect.
    "double-bound.msg": "duplicated delimiter line is one delimiter",
    "2002_06_12_doublebound.msg": "duplicated delimiter line is one delimiter",
    # mime4j's tests of its configurable malformed-header modes; mimekit
    # (like CPython) starts the body at the first line that is not a field.
    "malformedHeader-nocrlfcrlf.msg": "mime4j malformed-header mode",
    "malformedHeader-noheader.msg": "mime4j malformed-header mode",
    "malformedHeaderStartsBody-nocrlfcrlf.msg": "mime4j malformed-header mode",
    "malformedHeaderStartsBody-noheader.msg": "mime4j malformed-header mode",
    # The inner close delimiter is glued to junk ("XXXXXX--unique-boundary-2--")
    # so the last base64 part runs on into the epilogue text. mime4j stops
    # decoding at the damage; mimekit decodes every base64 character (with
    # base64-invalid-character defects), as CPython does.
    "multi-frag.msg": "base64 runs into epilogue text",
    "frag.msg": "base64 runs into epilogue text",
}
MESSAGES = sorted(p for root in ROOTS for p in root.glob("*.msg")
                  if p.with_name(p.stem + "_decoded.xml").exists())
_BODY = re.compile(rb'<(text|binary)-body name="([^"]+)"/>')


def _leaves(part: mimekit.Part, path: str) -> list[tuple[str, mimekit.Part]]:
    if part.is_multipart:
        return [leaf for i, child in enumerate(part.parts, 1)
                for leaf in _leaves(child, f"{path}_{i}")]
    if part.message is not None:
        return _leaves(part.message, f"{path}_1")
    return [(path, part)]


def test_there_are_many() -> None:
    assert len(MESSAGES) >= 70


@pytest.mark.parametrize("path", [
    pytest.param(p, id=p.name, marks=pytest.mark.xfail(reason=DIFFERENCES[p.name], strict=True))
    if p.name in DIFFERENCES else pytest.param(p, id=p.name)
    for p in MESSAGES])
def test_decoded_bodies_match_mime4j(path: Path) -> None:
    msg = mimekit.parse(path.read_bytes())
    expected = [m.group(2).decode() for m in
                _BODY.finditer(path.with_name(path.stem + "_decoded.xml").read_bytes())]
    ours = {f"{path.stem}_decoded_{p}": part for p, part in _leaves(msg, "1")}
    expected_stems = [name.rsplit(".", 1)[0] for name in expected]
    assert sorted(ours) == sorted(expected_stems)
    for name in expected:
        want = path.with_name(name).read_bytes()
        part = ours[name.rsplit(".", 1)[0]]
        got = part.get_bytes()
        if part.transfer_encoding == "quoted-printable":
            # mime4j writes CRLF for every hard line break of decoded
            # quoted-printable; mimekit (like CPython) keeps the input's own
            # line endings. Compare modulo that.
            got, want = got.replace(b"\r\n", b"\n"), want.replace(b"\r\n", b"\n")
        assert got == want, name
