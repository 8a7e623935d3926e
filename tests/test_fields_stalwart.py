"""The stalwart mail-parser header vectors, compared modulo stalwart's conventions.

Each file in ``tests/corpus/stalwart-mail-parser/`` is a JSON array of
``{"header": raw value, "expected": parsed}``. The expected values follow
stalwart's conventions, which are not RFC law, so the adapters below
normalise both sides before comparing:

* the raw value ends at the first line break not followed by whitespace and
  is then unfolded (what the tree hands to mimekit.fields);
* comments are folded into display names by stalwart: names are compared
  with parenthesised text removed and whitespace collapsed; stalwart's
  comment-only pseudo-addresses (``address: null``) are dropped;
* addresses and message identifiers are compared without whitespace and
  comments (obs-domain / obs-id CFWS);
* an address vector whose "address" is a URL (RFC 2369 List-* examples) is
  checked through :func:`parse_url_list`;
* ``name-language`` pseudo-parameters are checked with ``params.language``;
* an invalid Content-Type (stalwart keeps ``inline``, ``test/``...) must give
  RFC 2045 section 5.2's ``text/plain`` plus a defect; ``inline``/
  ``attachment`` vectors are Content-Disposition values and go there;
* unstructured and list values are compared with whitespace runs collapsed.

``DELIBERATE`` lists the vectors where mimekit differs on purpose, with the
reason. They run as strict xfails, so a change in behaviour is noticed.

The seventh file, ``received.json``, has its own adapter and pass rate in
``test_fields_received.py``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from conftest import CORPUS as TEST_CORPUS

from mimekit._defects import DefectKind
from mimekit.fields import (
    Group,
    Mailbox,
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

# The vector files are copied into tests/corpus (MIT/Apache-2.0), so these
# tests run from any clone.
CORPUS = TEST_CORPUS / "stalwart-mail-parser"

DELIBERATE: dict[str, dict[int, str]] = {
    "address": {
        8: "stalwart reads the quoted pair '\\)' inside a comment as the comment's end "
        "(RFC 5322 3.2.2: quoted-pair is ccontent); mimekit's name is 'Pete'",
        9: "same as 8, folded",
    },
    "date": {
        12: "'4 8 15 16 23 42, ...' has no time of day and no month name: stalwart "
        "guesses 2015-08-04 16:23:42 +00:04, mimekit returns None (INVALID_DATE)",
    },
    "content_type": {
        34: "RFC 2047 section 6.2: whitespace between adjacent encoded words is "
        "dropped, also inside a quoted file name ('áéí.jpeg', not 'á é í.jpeg')",
        54: "'á/é' is not an RFC 2045 token: invalid type, text/plain assumed",
        61: "malformed RFC 2231 names ('3**', '4***', '1 * 9999...') are refused "
        "with defects instead of guessed",
        76: "'text/plain/format': the subtype token is 'plain' (junk skipped with a "
        "defect), not 'plain/format'",
        77: "same as 76",
        78: "same as 76",
    },
    "unstructured": {
        21: "'[SUSPECTED SPAM]=?utf-8?B?...?=': the decoder does not invent a space "
        "that is not in the text",
        27: "same as 21",
        28: "same as 21",
    },
    "id": {},
    "list": {},
}
TARGET = {
    "address": 0.9,
    "date": 0.9,
    "content_type": 0.9,
    "unstructured": 0.9,
    "id": 0.9,
    "list": 0.9,
}


def load(name: str) -> list[dict[str, Any]]:
    with open(CORPUS / f"{name}.json", encoding="utf-8") as fh:
        data: list[dict[str, Any]] = json.load(fh)
    return data


_END = re.compile(r"\r?\n(?![ \t])")
_FOLD = re.compile(r"\r?\n")


def field_value(raw: str) -> str:
    """What the tree gives a field parser: the field's own lines, unfolded."""
    m = _END.search(raw)
    if m is not None:
        raw = raw[: m.start()]
    return _FOLD.sub("", raw)


_PARENS = re.compile(r"\([^()]*\)")


def norm_name(name: str | None) -> str | None:
    if name is None:
        return None
    prev = None
    while prev != name:
        prev, name = name, _PARENS.sub(" ", name)
    name = " ".join(name.split())
    return name or None


_ROUTE = re.compile(r"^@[^:]*:")


def norm_addr(addr: str | None) -> str | None:
    """Whitespace and comments out; stalwart keeps an obsolete route, mimekit
    keeps it apart (``Mailbox.route``)."""
    if addr is None:
        return None
    return _ROUTE.sub("", "".join(_PARENS.sub("", addr).split()))


def ws(s: str) -> str:
    return " ".join(s.split())


# --- per-file checkers: return None when equal, else a description ---------


def _mb(m: Mailbox) -> dict[str, Any]:
    return {"name": norm_name(m.name), "address": norm_addr(m.addr_spec)}


def check_address(raw: str, expected: dict[str, Any]) -> str | None:
    text = field_value(raw)
    entries = expected.get("List") or [a for g in expected.get("Group", []) for a in g["addresses"]]
    if entries and all(
        e["address"]
        and ("://" in e["address"] or e["address"].startswith("mailto:") or e["address"] == "NO")
        for e in entries
    ):
        urls, _ = parse_url_list(text)
        want = [e["address"] for e in entries]
        return None if urls == want else f"urls {urls} != {want}"
    got_list, _defects = parse_address_list(text)
    if "List" in expected:
        want_l = [
            {"name": norm_name(e["name"]), "address": norm_addr(e["address"])}
            for e in expected["List"]
            if e["address"] is not None
        ]
        if any(isinstance(x, Group) for x in got_list):
            return f"got groups {got_list!r}"
        got_l = [_mb(m) for m in got_list if isinstance(m, Mailbox)]
        return None if got_l == want_l else f"{got_l} != {want_l}"
    want_g = []
    for g in expected["Group"]:
        members = [
            {"name": norm_name(e["name"]), "address": norm_addr(e["address"])}
            for e in g["addresses"]
            if e["address"] is not None
        ]
        if g["name"] is None and not members:
            continue
        want_g.append({"name": norm_name(g["name"]), "addresses": members})
    got_g: list[dict[str, Any]] = []
    for item in got_list:
        if isinstance(item, Group):
            got_g.append(
                {"name": norm_name(item.name), "addresses": [_mb(m) for m in item.mailboxes]}
            )
        elif got_g and got_g[-1]["name"] is None:
            got_g[-1]["addresses"].append(_mb(item))
        else:
            got_g.append({"name": None, "addresses": [_mb(item)]})
    return None if got_g == want_g else f"{got_g} != {want_g}"


def check_date(raw: str, expected: dict[str, Any] | None) -> str | None:
    dt, _ = parse_date(field_value(raw))
    if expected is None:
        return None if dt is None else f"expected None, got {dt}"
    if dt is None:
        return "got None"
    off = dt.utcoffset()
    assert off is not None
    minutes = (expected["tz_hour"] * 60 + expected["tz_minute"]) * (
        -1 if expected["tz_before_gmt"] else 1
    )
    got = (dt.year, dt.month, dt.day, dt.hour, dt.minute, dt.second, int(off.total_seconds()) // 60)
    want = (
        expected["year"],
        expected["month"],
        expected["day"],
        expected["hour"],
        expected["minute"],
        expected["second"],
        minutes,
    )
    return None if got == want else f"{got} != {want}"


def _params_match(
    params: Any, attributes: list[list[str]] | None, ignore_default_charset: bool = False
) -> str | None:
    want: dict[str, str] = {}
    langs: dict[str, str] = {}
    for name, value in attributes or []:
        if name.endswith("-language"):
            langs[name[: -len("-language")]] = value
        else:
            want[name.lower()] = value
    got = dict(params)
    if ignore_default_charset and "charset" not in want and got.get("charset") == "us-ascii":
        del got["charset"]
    if got != want:
        return f"params {got} != {want}"
    for name, lang in langs.items():
        if params.language(name) != lang:
            return f"language of {name}: {params.language(name)!r} != {lang!r}"
    return None


def check_content_type(raw: str, expected: dict[str, Any] | None) -> str | None:
    text = field_value(raw)
    if (
        expected is not None
        and expected["c_subtype"] is None
        and expected["c_type"] in ("inline", "attachment")
    ):
        cd, _ = parse_content_disposition(text)
        if cd.disposition != expected["c_type"]:
            return f"disposition {cd.disposition!r}"
        return _params_match(cd.params, expected.get("attributes"))
    ct, defects = parse_content_type(text)
    invalid = any(d.kind is DefectKind.INVALID_CONTENT_TYPE for d in defects)
    if expected is None or expected["c_subtype"] is None:
        if ct.mime_type != "text/plain" or not invalid:
            return f"expected text/plain + defect for an invalid type, got {ct!r} {defects}"
        if expected is None:
            return None  # stalwart drops the parameters too; mimekit keeps them
        return _params_match(ct.params, expected.get("attributes"), ignore_default_charset=True)
    if (ct.maintype, ct.subtype) != (expected["c_type"], expected["c_subtype"]):
        return f"type {ct.mime_type!r}"
    return _params_match(ct.params, expected.get("attributes"))


def check_id(raw: str, expected: list[str] | None) -> str | None:
    text = field_value(raw)
    if expected is None:
        got, _ = parse_message_id(text)
        return None if got is None else f"expected None, got {got!r}"
    want = [norm_addr(e) for e in expected]
    if len(expected) == 1:
        one, _ = parse_message_id(text)
        return None if [one] == want else f"{one!r} != {want}"
    ids, _ = parse_message_id_list(text)
    return None if ids == want else f"{ids} != {want}"


def check_list(raw: str, expected: list[str]) -> str | None:
    got, _ = parse_keywords(field_value(raw))
    got = [ws(g) for g in got]
    want = [ws(e) for e in expected]
    return None if got == want else f"{got} != {want}"


def check_unstructured(raw: str, expected: str) -> str | None:
    got, _ = parse_unstructured(field_value(raw))
    return None if ws(got) == ws(expected) else f"{got!r} != {expected!r}"


CHECKERS: dict[str, Callable[[str, Any], str | None]] = {
    "address": check_address,
    "date": check_date,
    "content_type": check_content_type,
    "id": check_id,
    "list": check_list,
    "unstructured": check_unstructured,
}


def _cases() -> list[Any]:
    out: list[Any] = []
    for name in CHECKERS:
        for i, vec in enumerate(load(name)):
            reason = DELIBERATE[name].get(i)
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            out.append(
                pytest.param(name, i, vec["header"], vec["expected"], marks=marks, id=f"{name}-{i}")
            )
    return out


@pytest.mark.parametrize(("name", "index", "header", "expected"), _cases())
def test_vector(name: str, index: int, header: str, expected: Any) -> None:
    problem = CHECKERS[name](header, expected)
    assert problem is None, problem


@pytest.mark.parametrize("name", list(CHECKERS))
def test_pass_rate(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    vectors = load(name)
    passed = sum(CHECKERS[name](v["header"], v["expected"]) is None for v in vectors)
    rate = passed / len(vectors)
    with capsys.disabled():
        print(f"\nstalwart {name}.json: {passed}/{len(vectors)} ({rate:.0%})")
    assert rate >= TARGET[name]
