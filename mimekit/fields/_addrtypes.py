"""The typed values of address fields: :class:`Mailbox`, :class:`Group`, :class:`AddressList`.

RFC 5322 section 3.4::

    address         =   mailbox / group
    mailbox         =   name-addr / addr-spec
    name-addr       =   [display-name] angle-addr
    angle-addr      =   [CFWS] "<" addr-spec ">" [CFWS] / obs-angle-addr
    group           =   display-name ":" [group-list] ";" [CFWS]
    address-list    =   (address *("," address)) / obs-addr-list
    addr-spec       =   local-part "@" domain

All three types are immutable and hashable. Parsed values are built through
private constructors that skip validation (the parser has already checked
them); the public constructors validate, because a value a program builds
ends up in a header it writes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, NoReturn

from ._encode import MAX_RUN, check_injection, format_phrase, unsafe_pattern
from ._idna import IDNAError, to_ascii, to_unicode
from ._lexer import (
    AT,
    DOMAIN_LITERAL,
    QUOTED,
    WORD,
    is_dot_atom,
    quote_string,
    tokenize,
)

__all__ = ["AddressList", "Group", "Mailbox", "make_mailbox"]

_new = object.__new__
_set = object.__setattr__


def _frozen(self: object, name: str, value: object) -> NoReturn:
    raise AttributeError(f"{type(self).__name__} is immutable")


# RFC 5322 section 3.4.1 domain-literal as it may be *written*: dtext
# (printable ASCII but "[", "]" and "\\"; RFC 6532 adds non-ASCII) with WSP
# as FWS. Quoted pairs and controls are obs-dtext, which section 4 forbids
# generating; a "\\" or "]" inside would also end or escape the literal and
# change how the rest of the field reads. One character class: no backtracking.
_DOMAIN_LITERAL = re.compile(r"\[[\t !-Z^-~\xa0-\U0010ffff]*\]")
# Characters never written raw in an address, whatever the mode: an addr-spec
# cannot hold encoded words (RFC 2047 section 5), so where a display name
# would be encoded the address is refused. C0 controls other than tab and DEL
# would be obs-qtext/obs-dtext (RFC 5322 section 4: MUST NOT generate); C1,
# U+2028 and U+2029 are line breaks to some readers (str.splitlines()).
_UNSAFE_IN_ADDRESS = unsafe_pattern(True)
# The non-ASCII part of that set: the only part a *parsed* local part may hold
# and still be written (a parsed obs-qtext control is written back as read).
_UNSAFE_NON_ASCII = re.compile(r"[\x80-\x9f\u2028\u2029\ud800-\udfff]")


def _refuse_unsafe(value: str, what: str, pattern: re.Pattern[str] = _UNSAFE_IN_ADDRESS) -> None:
    m = pattern.search(value)
    if m is not None:
        raise ValueError(
            f"{what} {value!r} contains U+{ord(m.group()):04X} at index {m.start()}: control "
            "characters and line separators cannot be written in an address"
        )


def _escape(m: re.Match[str]) -> str:
    return f"\\u{ord(m.group()):04x}"


def _check_local_part(local: str) -> None:
    """Refuse a local part given through the API that cannot be written safely."""
    check_injection(local, "local part")
    if not local:
        raise ValueError("empty local part")
    _refuse_unsafe(local, "local part")


def _check_domain(domain: str) -> None:
    """Refuse a domain given through the API that would not read back or not as given.

    Raises:
        ValueError: not a dot-atom or a writable domain literal, or a
            non-ASCII name without a valid IDNA2008 form (RFC 5890-5893).
    """
    check_injection(domain, "domain")
    _refuse_unsafe(domain, "domain")
    if domain.startswith("["):
        if _DOMAIN_LITERAL.fullmatch(domain) is None:
            raise ValueError(
                f"invalid domain literal {domain!r}: only printable characters other than "
                "'[', ']' and '\\' may appear between the brackets (RFC 5322 dtext)"
            )
        return
    if not is_dot_atom(domain):
        raise ValueError(f"invalid domain: {domain!r}")
    if not domain.isascii():
        to_ascii(domain)  # IDNAError (a ValueError) when there is no IDNA2008 form


def _split_addr_spec(addr_spec: str) -> tuple[str, str]:
    """Split a strict RFC 5322 ``addr-spec`` (no CFWS, no obsolete forms).

    ABNF (RFC 5322 section 3.4.1, RFC 6532 section 3.2 for UTF-8)::

        addr-spec       =   local-part "@" domain
        local-part      =   dot-atom / quoted-string
        domain          =   dot-atom / domain-literal

    Raises:
        ValueError: ``addr_spec`` is not exactly that.
    """
    check_injection(addr_spec, "address")
    toks = tokenize(addr_spec)
    if (
        len(toks) != 3
        or toks[1][0] != AT
        or any(t[3] or t[4] for t in toks)
        or toks[0][0] not in (WORD, QUOTED)
        or toks[2][0] not in (WORD, DOMAIN_LITERAL)
    ):
        raise ValueError(f"not a valid addr-spec: {addr_spec!r}")
    local = toks[0][1]
    domain = toks[2][1]
    if toks[0][0] == WORD and not is_dot_atom(local):
        raise ValueError(f"invalid local part in {addr_spec!r}")
    if not local:
        raise ValueError(f"empty local part in {addr_spec!r}")
    if toks[2][0] == WORD and not is_dot_atom(domain):
        raise ValueError(f"invalid domain in {addr_spec!r}")
    _check_local_part(local)
    _check_domain(domain)
    return local, domain


def _join_addr_spec(local: str, domain: str) -> str:
    """``local@domain`` with the local part quoted only when it must be."""
    if not is_dot_atom(local):
        local = quote_string(local)
    return f"{local}@{domain}" if domain else local


class Mailbox:
    """One mailbox: an optional display name and an address.

    Attributes:
        name: The decoded display name, ``""`` when there is none.
        local_part: The local part, unquoted (``"john doe"`` for
            ``"john doe"@example.com``).
        domain: The domain as on the wire (ASCII or punycode kept; a domain
            literal keeps its brackets). ``""`` only for a parsed address that
            had no domain (a defect was recorded).
        route: The obsolete source route (``<@a,@b:user@host>`` gives
            ``("a", "b")``), kept for inspection but never written back.

    Two mailboxes are equal when name, local part and domain are equal (the
    route is transport history, not identity).

    Args:
        name: The display name (``None`` means none).
        addr_spec: ``local@domain``, validated strictly (RFC 5322 section
            3.4.1; UTF-8 allowed per RFC 6532).
        local_part: Alternatively, the unquoted local part ...
        domain: ... and the domain.

    Raises:
        ValueError: an invalid address, or neither/both forms given. Refused
            too: control characters (obsolete syntax, RFC 5322 section 4:
            not to be generated) and C1 controls, U+2028 and U+2029 in the
            address (an addr-spec cannot be encoded); a domain literal with
            ``[``, ``]``, ``\\`` or controls inside; a non-ASCII domain
            without a valid IDNA2008 form (RFC 5890-5893: ``faß.de`` is
            written ``xn--fa-hia.de``, never ``fass.de``; ``paypal\u3002com``
            is refused, not remapped to ``paypal.com``).
        HeaderInjectionError: CR, LF or NUL anywhere.
    """

    __slots__ = ("_addr_spec", "domain", "local_part", "name", "route")

    name: str
    local_part: str
    domain: str
    route: tuple[str, ...]
    _addr_spec: str

    def __init__(
        self,
        name: str | None = "",
        addr_spec: str | None = None,
        *,
        local_part: str | None = None,
        domain: str | None = None,
    ) -> None:
        name = name or ""
        if not isinstance(name, str):
            raise TypeError(f"name must be str, not {type(name).__name__}")
        check_injection(name, "display name")
        if addr_spec is not None:
            if local_part is not None or domain is not None:
                raise ValueError("give either addr_spec or local_part and domain")
            local_part, domain = _split_addr_spec(addr_spec)
        else:
            if local_part is None or domain is None:
                raise ValueError("an address is required (addr_spec or local_part and domain)")
            _check_local_part(local_part)
            _check_domain(domain)
        _set(self, "name", name)
        _set(self, "local_part", local_part)
        _set(self, "domain", domain)
        _set(self, "route", ())
        _set(self, "_addr_spec", _join_addr_spec(local_part, domain))

    def __setattr__(self, name: str, value: object) -> None:
        _frozen(self, name, value)

    def __delattr__(self, name: str) -> None:
        _frozen(self, name, None)

    @property
    def addr_spec(self) -> str:
        """``local@domain``; the local part quoted only if it is not a dot-atom."""
        return self._addr_spec

    @property
    def domain_unicode(self) -> str:
        """The domain for display: valid IDNA2008 A-labels (``xn--``) decoded (RFC 5891).

        A label that is not the A-label of a valid U-label keeps its ``xn--``
        form, so a look-alike (``xn--paypalcom-bk3h`` decodes to
        ``paypal\u3002com``) is never shown as one. Never raises.
        """
        return to_unicode(self.domain)

    @property
    def domain_ascii(self) -> str:
        """The domain as written in 7-bit mode: IDNA2008 A-labels (RFC 5891).

        An ASCII domain is returned unchanged.

        Raises:
            ValueError: (:class:`UnicodeError`) the domain has no valid
                IDNA2008 form, or is a non-ASCII domain literal.
        """
        d = self.domain
        if d.isascii():
            return d
        if d.startswith("["):
            # IDNA is for names; it would mangle a literal.
            raise IDNAError(f"non-ASCII domain literal {d!r} needs utf8=True")
        return to_ascii(d)

    def format(self, *, utf8: bool = False) -> str:
        """The mailbox as header text: ``Name <local@domain>`` or ``local@domain``.

        Args:
            utf8: Write non-ASCII raw (RFC 6532, for SMTPUTF8) instead of
                RFC 2047 encoded words and IDNA A-labels.

        Raises:
            ValueError: a non-ASCII local part without ``utf8`` (it cannot
                be encoded: RFC 2047 section 5 forbids encoded words in an
                addr-spec), a non-ASCII domain without a valid IDNA2008 form
                (never rewritten into another domain, see
                :func:`mimekit.fields._idna.to_ascii`), a control character
                or line separator in the address (an addr-spec cannot be
                encoded), or an address too long to fold.
        """
        addr = self._format_addr(utf8)
        if not self.name:
            # A lone quoted string reads back as a display name without an
            # address; in angle brackets it stays a (domainless) address.
            return f"<{addr}>" if not self.domain and addr.startswith('"') else addr
        return f"{format_phrase(self.name, utf8=utf8)} <{addr}>"

    def _format_addr(self, utf8: bool) -> str:
        local, domain = self.local_part, self.domain
        check_injection(local, "local part")
        check_injection(domain, "domain")
        # Parsed values skip the constructor's checks; what cannot be written
        # raw is refused here (an addr-spec has no encoded form).
        _refuse_unsafe(local, "local part", _UNSAFE_NON_ASCII)
        _refuse_unsafe(domain, "domain")
        if not utf8:
            if not local.isascii():
                raise ValueError(
                    f"non-ASCII local part {local!r} needs utf8=True (SMTPUTF8, RFC 6531)"
                )
            if not domain.isascii():
                try:
                    domain = self.domain_ascii
                except IDNAError as exc:
                    raise ValueError(f"cannot write the domain in 7-bit mode: {exc}") from None
                if not is_dot_atom(domain):
                    # Defensive: to_ascii keeps ASCII labels as given, and a
                    # parsed domain is made of words; never write a broken one.
                    raise ValueError(f"domain {self.domain!r} has no valid IDNA form")
        addr = _join_addr_spec(local, domain)
        if max(len(part) for part in addr.split(" ")) > MAX_RUN:
            raise ValueError(f"address too long to fold: {addr[:40]!r}...")
        return addr

    def __str__(self) -> str:
        if not (self.name or self.domain):
            return _UNSAFE_IN_ADDRESS.sub(_escape, self.local_part)
        try:
            # A parsed quoted local part may keep C0 controls (obs-qtext,
            # written back as read): never raw on a terminal.
            return _UNSAFE_IN_ADDRESS.sub(_escape, self.format(utf8=True))
        except ValueError:
            # Display only (printing a parsed message must work): an address
            # format() refuses is shown with its unsafe characters escaped,
            # never raw (a U+2028 would start a new line in a terminal/log).
            addr = _UNSAFE_IN_ADDRESS.sub(_escape, self._addr_spec)
            name = _UNSAFE_IN_ADDRESS.sub(_escape, self.name)
            return f"{name} <{addr}>" if name else addr

    def __repr__(self) -> str:
        return f"Mailbox({self.name!r}, {self._addr_spec!r})"

    def __eq__(self, other: object) -> bool:
        if type(other) is not Mailbox:
            return NotImplemented
        return (
            self.local_part == other.local_part
            and self.domain == other.domain
            and self.name == other.name
        )

    def __hash__(self) -> int:
        return hash((self.name, self.local_part, self.domain))

    def __reduce__(self) -> tuple[Any, ...]:
        return (make_mailbox, (self.name, self.local_part, self.domain, self.route))


def make_mailbox(name: str, local_part: str, domain: str, route: tuple[str, ...] = ()) -> Mailbox:
    """Build a :class:`Mailbox` from parsed parts, without validation (internal)."""
    m: Mailbox = _new(Mailbox)
    _set(m, "name", name)
    _set(m, "local_part", local_part)
    _set(m, "domain", domain)
    _set(m, "route", route)
    _set(m, "_addr_spec", _join_addr_spec(local_part, domain))
    return m


def make_simple_mailbox(name: str, local_part: str, domain: str) -> Mailbox:
    """Like :func:`make_mailbox` for a dot-atom local part (the fast path)."""
    m: Mailbox = _new(Mailbox)
    _set(m, "name", name)
    _set(m, "local_part", local_part)
    _set(m, "domain", domain)
    _set(m, "route", ())
    _set(m, "_addr_spec", local_part + "@" + domain)
    return m


class Group:
    """A named group of mailboxes (``Friends: a@x, b@y;``), RFC 5322 section 3.4.

    Attributes:
        name: The decoded display name of the group.
        mailboxes: The members, possibly none (``undisclosed-recipients:;``).
    """

    __slots__ = ("mailboxes", "name")

    name: str
    mailboxes: tuple[Mailbox, ...]

    def __init__(self, name: str, mailboxes: Iterable[Mailbox] = ()) -> None:
        if not isinstance(name, str):
            raise TypeError(f"name must be str, not {type(name).__name__}")
        check_injection(name, "group name")
        members = tuple(mailboxes)
        for m in members:
            if not isinstance(m, Mailbox):
                raise TypeError(f"group members must be Mailbox, not {type(m).__name__}")
        _set(self, "name", name)
        _set(self, "mailboxes", members)

    def __setattr__(self, name: str, value: object) -> None:
        _frozen(self, name, value)

    def __delattr__(self, name: str) -> None:
        _frozen(self, name, None)

    @classmethod
    def _make(cls, name: str, mailboxes: tuple[Mailbox, ...]) -> Group:
        g: Group = _new(cls)
        _set(g, "name", name)
        _set(g, "mailboxes", mailboxes)
        return g

    def format(self, *, utf8: bool = False) -> str:
        """``Name: a@x, b@y;`` (``Name:;`` when empty); see :meth:`Mailbox.format`."""
        members = ", ".join(m.format(utf8=utf8) for m in self.mailboxes)
        name = format_phrase(self.name, utf8=utf8)
        return f"{name}: {members};" if members else f"{name}:;"

    def __str__(self) -> str:
        # Display only: members as Mailbox.__str__ shows them (never raising).
        members = ", ".join(str(m) for m in self.mailboxes)
        name = format_phrase(self.name, utf8=True)
        return f"{name}: {members};" if members else f"{name}:;"

    def __repr__(self) -> str:
        return f"Group({self.name!r}, {list(self.mailboxes)!r})"

    def __eq__(self, other: object) -> bool:
        if type(other) is not Group:
            return NotImplemented
        return self.name == other.name and self.mailboxes == other.mailboxes

    def __hash__(self) -> int:
        return hash((self.name, self.mailboxes))

    def __reduce__(self) -> tuple[Any, ...]:
        return (Group._make, (self.name, self.mailboxes))


class AddressList(tuple[Mailbox | Group, ...]):
    """The value of an address field: an immutable sequence of :class:`Mailbox` and :class:`Group`.

    An absent header gives an empty list (falsy). :attr:`mailboxes`
    flattens the groups.
    """

    __slots__ = ()

    def __new__(cls, items: Iterable[Mailbox | Group] = ()) -> AddressList:
        if items == () and cls is AddressList:
            return _EMPTY  # the value of every absent address header
        seq = tuple(items)
        for item in seq:
            if not isinstance(item, (Mailbox, Group)):
                raise TypeError(
                    f"AddressList items must be Mailbox or Group, not {type(item).__name__}"
                )
        return tuple.__new__(cls, seq)

    @property
    def mailboxes(self) -> tuple[Mailbox, ...]:
        """Every mailbox, group members included, in order."""
        out: list[Mailbox] = []
        for item in self:
            if type(item) is Mailbox:
                out.append(item)
            else:
                out.extend(item.mailboxes)  # type: ignore[union-attr]
        return tuple(out)

    @property
    def addr_specs(self) -> tuple[str, ...]:
        """The ``addr_spec`` of every mailbox (see :attr:`mailboxes`)."""
        return tuple(m.addr_spec for m in self.mailboxes)

    def format(self, *, utf8: bool = False) -> str:
        """The list as header text, items separated by ``", "``."""
        return ", ".join(item.format(utf8=utf8) for item in self)

    def __str__(self) -> str:
        return ", ".join(str(item) for item in self)

    def __repr__(self) -> str:
        return f"AddressList({list(self)!r})"


_EMPTY: AddressList = tuple.__new__(AddressList, ())


def make_address_list(items: list[Mailbox | Group]) -> AddressList:
    """Build an :class:`AddressList` without type checks (internal)."""
    return tuple.__new__(AddressList, items)
