"""Content-Type (RFC 2045 section 5) and Content-Disposition (RFC 2183).

ABNF (RFC 2045 section 5.1, RFC 2183 section 2)::

    content := "Content-Type" ":" type "/" subtype *(";" parameter)
    type := discrete-type / composite-type        ; case-insensitive tokens
    subtype := extension-token / iana-token
    disposition := "Content-Disposition" ":" disposition-type *(";" disposition-parm)
    disposition-type := "inline" / "attachment" / extension-token

Comments are allowed anywhere between tokens (RFC 2045 section 5.1:
"comments ... are allowed in accordance with RFC 822 rules"), as is
whitespace around ``/``.

RFC 2045 section 5.2: a missing or syntactically invalid Content-Type means
``text/plain; charset=us-ascii``. mimekit applies that to the *type* (and
records INVALID_CONTENT_TYPE) but keeps the parameters it could read, with
``charset=us-ascii`` added when none was given: a ``text/; charset=utf-8``
body is far more likely UTF-8 than ASCII. Junk after a valid
``type/subtype`` (``text/plain/format``) is skipped with a defect and the
type kept.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, Final

from .._defects import Defect, DefectKind
from ._encode import check_injection
from ._params import (
    EMPTY_PARAMS,
    ParameterMap,
    format_params,
    is_token,
    looks_like_param,
    parse_params,
    skip_cfws,
)

__all__ = [
    "MESSAGE_RFC822",
    "TEXT_PLAIN",
    "ContentDisposition",
    "ContentType",
    "parse_content_disposition",
    "parse_content_type",
]

_INVALID = DefectKind.INVALID_CONTENT_TYPE
_new = object.__new__
_set = object.__setattr__

_TOKEN_AT = re.compile(r"[!#$%&'*+\-.0-9A-Z^_`a-z{|}~]+")

# Fast path: ``type/subtype`` then simple ``; name=value`` pairs, the shape
# nearly every mailer writes. Anything else (RFC 2231 names, comments, a
# repeated name, encoded words in a file name, a trailing ";") falls through.
_TOK = r"[!#$%&'+\-.0-9A-Z^_`a-z{|}~]+"
_FAST_TYPE = re.compile(rf"[ \t]*({_TOK})/({_TOK})[ \t]*")
_FAST_PARAM = re.compile(rf';[ \t]*({_TOK})=(?:"([^"\\\x00-\x1f\x7f]*)"|({_TOK}))[ \t]*')


def _frozen(self: object, name: str, value: object) -> Any:
    raise AttributeError(f"{type(self).__name__} is immutable")


def _build_params(
    params: Mapping[str, str] | Iterable[tuple[str, str]] | None, extra: dict[str, str]
) -> ParameterMap:
    pairs: list[tuple[str, str]] = []
    if params is not None:
        pairs.extend(params.items() if isinstance(params, Mapping) else params)
    pairs.extend(extra.items())
    return ParameterMap(pairs) if pairs else EMPTY_PARAMS


class ContentType:
    """A parsed Content-Type: ``maintype/subtype`` and parameters.

    Attributes:
        maintype: The lower-cased type (``"text"``).
        subtype: The lower-cased subtype (``"plain"``).
        params: Decoded parameters (case-insensitive, read-only).

    Args:
        mime_type: ``"type/subtype"``.
        params: Parameters as a mapping or pairs.
        **kwparams: More parameters: ``ContentType("text/plain", charset="utf-8")``.

    Raises:
        ValueError: an invalid type, subtype or parameter name.
        HeaderInjectionError: CR, LF or NUL in a parameter value.
    """

    __slots__ = ("maintype", "params", "subtype")

    maintype: str
    subtype: str
    params: ParameterMap

    def __init__(
        self,
        mime_type: str = "text/plain",
        params: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
        **kwparams: str,
    ) -> None:
        check_injection(mime_type, "MIME type")
        maintype, sep, subtype = mime_type.partition("/")
        if not sep or not is_token(maintype) or not is_token(subtype):
            raise ValueError(f"invalid MIME type: {mime_type!r}")
        _set(self, "maintype", maintype.lower())
        _set(self, "subtype", subtype.lower())
        _set(self, "params", _build_params(params, kwparams))

    def __setattr__(self, name: str, value: object) -> None:
        _frozen(self, name, value)

    def __delattr__(self, name: str) -> None:
        _frozen(self, name, None)

    @classmethod
    def _make(cls, maintype: str, subtype: str, params: ParameterMap) -> ContentType:
        ct: ContentType = _new(cls)
        _set(ct, "maintype", maintype)
        _set(ct, "subtype", subtype)
        _set(ct, "params", params)
        return ct

    @property
    def mime_type(self) -> str:
        """``"maintype/subtype"``."""
        return f"{self.maintype}/{self.subtype}"

    @property
    def charset(self) -> str | None:
        """The ``charset`` parameter, lower-cased, or ``None``."""
        cs = self.params.get("charset")
        return cs.lower() if cs is not None else None

    @property
    def boundary(self) -> str | None:
        """The ``boundary`` parameter exactly as given (case matters), or ``None``."""
        b: str | None = self.params.get("boundary")
        return b

    def get(self, name: str, default: str | None = None) -> str | None:
        """A parameter value by case-insensitive name."""
        v: str | None = self.params.get(name, default)
        return v

    def format(self, *, utf8: bool = False) -> str:
        """``type/subtype; name=value...`` on one line (see :func:`format_params`)."""
        return self.mime_type + format_params(self.params, utf8=utf8)

    def __str__(self) -> str:
        return self.format(utf8=True)

    def __repr__(self) -> str:
        return f"ContentType({self.mime_type!r}, {dict(self.params)!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ContentType):
            return NotImplemented
        return (
            self.maintype == other.maintype
            and self.subtype == other.subtype
            and self.params == other.params
        )

    def __hash__(self) -> int:
        return hash((self.maintype, self.subtype, self.params))

    def __reduce__(self) -> tuple[Any, ...]:
        return (ContentType._make, (self.maintype, self.subtype, self.params))


#: RFC 2045 section 5.2 default: what a missing Content-Type means.
TEXT_PLAIN: Final = ContentType._make("text", "plain", ParameterMap._make({"charset": "us-ascii"}))
#: RFC 2046 section 5.1.5 default inside multipart/digest.
MESSAGE_RFC822: Final = ContentType._make("message", "rfc822", EMPTY_PARAMS)


class ContentDisposition:
    """A parsed Content-Disposition (RFC 2183).

    Attributes:
        disposition: The lower-cased type: ``"inline"``, ``"attachment"`` or
            another token (RFC 2183 section 2.8: treat unknown ones as
            attachment).
        params: Decoded parameters.

    Args:
        disposition: The disposition type.
        params: Parameters as a mapping or pairs.
        **kwparams: More parameters: ``ContentDisposition("attachment", filename="a.pdf")``.
    """

    __slots__ = ("disposition", "params")

    disposition: str
    params: ParameterMap

    def __init__(
        self,
        disposition: str = "attachment",
        params: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
        **kwparams: str,
    ) -> None:
        if not is_token(disposition):
            raise ValueError(f"invalid disposition type: {disposition!r}")
        _set(self, "disposition", disposition.lower())
        _set(self, "params", _build_params(params, kwparams))

    def __setattr__(self, name: str, value: object) -> None:
        _frozen(self, name, value)

    def __delattr__(self, name: str) -> None:
        _frozen(self, name, None)

    @classmethod
    def _make(cls, disposition: str, params: ParameterMap) -> ContentDisposition:
        cd: ContentDisposition = _new(cls)
        _set(cd, "disposition", disposition)
        _set(cd, "params", params)
        return cd

    @property
    def filename(self) -> str | None:
        """The decoded ``filename`` parameter, or ``None``."""
        f: str | None = self.params.get("filename")
        return f

    def get(self, name: str, default: str | None = None) -> str | None:
        """A parameter value by case-insensitive name."""
        v: str | None = self.params.get(name, default)
        return v

    def format(self, *, utf8: bool = False) -> str:
        """``attachment; filename=...`` on one line (see :func:`format_params`)."""
        return self.disposition + format_params(self.params, utf8=utf8)

    def __str__(self) -> str:
        return self.format(utf8=True)

    def __repr__(self) -> str:
        return f"ContentDisposition({self.disposition!r}, {dict(self.params)!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ContentDisposition):
            return NotImplemented
        return self.disposition == other.disposition and self.params == other.params

    def __hash__(self) -> int:
        return hash((self.disposition, self.params))

    def __reduce__(self) -> tuple[Any, ...]:
        return (ContentDisposition._make, (self.disposition, self.params))


def _fast_content_type(text: str) -> ContentType | None:
    m = _FAST_TYPE.match(text)
    if m is None:
        return None
    pos = m.end()
    n = len(text)
    if pos == n:
        return ContentType._make(m.group(1).lower(), m.group(2).lower(), EMPTY_PARAMS)
    d: dict[str, str] = {}
    match = _FAST_PARAM.match
    while pos < n:
        p = match(text, pos)
        if p is None:
            return None
        name = p.group(1).lower()
        value = p.group(2)
        if value is None:
            value = p.group(3)
        elif "=?" in value and name in ("name", "filename"):
            return None
        if name in d:
            return None
        d[name] = value
        pos = p.end()
    return ContentType._make(m.group(1).lower(), m.group(2).lower(), ParameterMap._make(d))


def _type_token(text: str, pos: int, defects: list[Defect]) -> tuple[str | None, int]:
    pos = skip_cfws(text, pos, defects)
    m = _TOKEN_AT.match(text, pos)
    if m is None:
        return None, pos
    return m.group(), skip_cfws(text, m.end(), defects)


def parse_content_type(text: str) -> tuple[ContentType, list[Defect]]:
    """Parse a Content-Type value.

    Returns:
        ``(content_type, defects)``. An empty, missing or invalid type gives
        ``text/plain`` with ``charset=us-ascii`` (unless another charset was
        given) and an INVALID_CONTENT_TYPE defect. Never raises.
    """
    fast = _fast_content_type(text)
    if fast is not None:
        return fast, []
    return parse_content_type_slow(text)


def parse_content_type_slow(text: str) -> tuple[ContentType, list[Defect]]:
    """The full parser behind :func:`parse_content_type`."""
    defects: list[Defect] = []
    maintype, pos = _type_token(text, 0, defects)
    subtype: str | None = None
    if maintype is not None and pos < len(text) and text[pos] == "/":
        subtype, pos = _type_token(text, pos + 1, defects)
    n = len(text)
    if pos < n and text[pos] != ";" and not (subtype is not None and looks_like_param(text, pos)):
        # (a parameter right after the type, its ";" missing, is read as one:
        # parse_params records that defect)
        defects.append(
            Defect(kind=_INVALID, offset=pos, detail="unexpected text after the MIME type")
        )
        semi = text.find(";", pos)
        pos = n if semi < 0 else semi
    params = parse_params(text, pos, defects)
    if maintype is None or subtype is None:
        detail = "missing Content-Type" if not text.strip(" \t\r\n") else "invalid MIME type"
        defects.append(
            Defect(kind=_INVALID, offset=0, detail=f"{detail}: text/plain assumed (RFC 2045 5.2)")
        )
        if "charset" not in params:
            if not params:
                return TEXT_PLAIN, defects
            params = ParameterMap._make(
                {"charset": "us-ascii", **dict(params.items())}, dict(params._lang)
            )
        return ContentType._make("text", "plain", params), defects
    return ContentType._make(maintype.lower(), subtype.lower(), params), defects


def parse_content_disposition(text: str) -> tuple[ContentDisposition, list[Defect]]:
    """Parse a Content-Disposition value (RFC 2183, RFC 2231 parameters).

    Returns:
        ``(disposition, defects)``. A value with parameters but no type
        (``filename="a.pdf"``) reads as ``attachment``; an empty value gives
        ``disposition == ""``. Never raises.
    """
    defects: list[Defect] = []
    token, pos = _type_token(text, 0, defects)
    n = len(text)
    if token is not None and pos < n and text[pos] == "=":
        # No disposition type: the first token is a parameter name.
        defects.append(
            Defect(kind=_INVALID, offset=0, detail="missing disposition type, attachment assumed")
        )
        params = parse_params(text, 0, defects)
        # parse_params notes the missing ';' before the first parameter:
        # one defect for one problem.
        defects = [
            d for d in defects if d.detail != "missing ';' before parameter" or d.offset > pos
        ]
        return ContentDisposition._make("attachment", params), defects
    if pos < n and text[pos] != ";":
        defects.append(
            Defect(kind=_INVALID, offset=pos, detail="unexpected text after the disposition type")
        )
        semi = text.find(";", pos)
        pos = n if semi < 0 else semi
    params = parse_params(text, pos, defects)
    if token is None:
        if text.strip(" \t\r\n"):
            defects.append(Defect(kind=_INVALID, offset=0, detail="missing disposition type"))
        return ContentDisposition._make("attachment" if params else "", params), defects
    return ContentDisposition._make(token.lower(), params), defects
