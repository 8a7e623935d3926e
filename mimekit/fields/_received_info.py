"""What the pieces of a Received field mean: IPs, TCP-info, protocols, TLS.

Helpers for :mod:`._received`. RFC 5321 section 4.4 gives the TCP-info
comment as::

    TCP-info        = address-literal / ( Domain FWS address-literal )
    address-literal = "[" ( IPv4-address-literal /
                      IPv6-address-literal /
                      General-address-literal ) "]"
    IPv6-address-literal  = "IPv6:" IPv6-addr

and RFC 3848 registers the ``WITH`` protocol names (``ESMTPA``,
``ESMTPS``, ``ESMTPSA``, ``LMTPA``...); RFC 6531 adds the ``UTF8`` ones.
The rest is what MTAs write in practice, each form with its origin below.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from typing import Final

__all__ = [
    "PROTOCOL_WORD",
    "Comment",
    "TcpInfo",
    "address_literal",
    "find_tls",
    "host_token",
    "id_token",
    "normalize_ip",
    "normalize_protocol",
    "path_token",
    "read_tcp_info",
    "word_token",
]

# Token kinds, the same numbers as in _received (kept here to avoid a cycle).
_WORD, _LIT, _ANGLE, _PUNCT = 0, 1, 2, 7

#: The depth-1 items of one comment: ``(kind, text)``.
Comment = list[tuple[int, str]]

#: A WITH protocol word, for the fast-path pattern.
PROTOCOL_WORD: Final = r"[A-Za-z0-9\-]+"

# An IPv4 address with a port: "1.2.3.4:25" (XMail, ecelerity) or
# "1.2.3.4.25" (Exim 3's sender_fullhost).
_IPV4_PORT = re.compile(r"((?:[0-9]{1,3}\.){3}[0-9]{1,3})[:.][0-9]{1,5}")


# A canonical dotted IPv4 address (no leading zeros), the common case,
# recognised without the cost of ipaddress.
_IPV4 = re.compile(
    r"(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}"
    r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
)
# What an address with an optional port can be made of; anything else is
# refused before ipaddress is asked.
_IP_CHARS = re.compile(r"[0-9A-Fa-f:.]{2,45}")


@functools.lru_cache(maxsize=1024)
def normalize_ip(text: str) -> str | None:
    """The IP address in ``text`` in :mod:`ipaddress` form, else ``None``.

    Accepts what appears in address literals and TCP-info: an ``IPv6:``
    prefix (RFC 5321), a zone suffix (``fe80::1%6``, dropped), a port
    (``1.2.3.4:25``, ``1.2.3.4.25``, dropped). IPv4-mapped IPv6 is written
    ``::ffff:1.2.3.4`` on every Python version.
    """
    s = text.strip(" \t")
    if s[:5].lower() == "ipv6:":
        s = s[5:]
    if "%" in s:
        s = s.split("%", 1)[0]
    if _IPV4.fullmatch(s) is not None:
        return s
    if _IP_CHARS.fullmatch(s) is None:
        return None
    try:
        ip: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(s)
    except ValueError:
        m = _IPV4_PORT.fullmatch(s)
        if m is None:
            return None
        try:
            ip = ipaddress.ip_address(m.group(1))
        except ValueError:
            return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return f"::ffff:{ip.ipv4_mapped}"
    return str(ip)


class TcpInfo:
    """What the comments after the FROM domain say about the client."""

    __slots__ = ("helo", "ident", "ip", "iprev")

    def __init__(self) -> None:
        self.ip: str | None = None
        self.iprev: str | None = None
        self.helo: str | None = None
        self.ident: str | None = None


_HOSTNAME = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_\-]*)(?:\.[A-Za-z0-9_\-]+)*\.?")
_HELO_WORDS: Final = frozenset({"helo", "ehlo", "lhlo"})
# Words MTAs put where a reverse name would be, meaning "there is none" or
# something else entirely (Postfix "unknown", sendmail "may be forged",
# CommuniGate "verified", Exchange "RDNS failed"...).
_NOT_NAMES: Final = frozenset(
    {
        "unknown",
        "unverified",
        "verified",
        "softdnserr",
        "authenticated",
        "may",
        "helo",
        "ehlo",
        "lhlo",
        "ident",
        "from",
        "using",
        "account",
        "no",
    }
)


def _is_name(text: str) -> bool:
    return (
        len(text) <= 255
        and _HOSTNAME.fullmatch(text) is not None
        and text.lower() not in _NOT_NAMES
        and normalize_ip(text) is None
        and any(c.isalpha() for c in text)
    )


def read_tcp_info(items: Comment, tcp: TcpInfo) -> None:
    """Read one comment of the FROM clause into ``tcp`` (first value wins).

    The forms, by origin:

    * ``(rev [ip])``, ``(rev. [ip])``, ``(rev[ip])``, ``(<rev>[ip])``,
      ``([ip])``, ``(ip)``, ``(ip:port)``, ``([ip]:port)``: RFC 5321
      TCP-info as Postfix, sendmail, Exchange, XMail and ecelerity write
      it. ``unknown``, ``unverified``... are not reverse names; a name alone
      (``(host.example)``) counts only when it has a dot.
    * ``(HELO x)``, ``(EHLO x)``, ``(LHLO x)``: qmail, qpsmtpd, Cyrus;
      ``(helo=x)``, ``(helo=x ident=u)``: Exim; ``(account a HELO x)``:
      CommuniGate.
    * ``(user@ip)``, ``(user@[ip])``, ``(IDENT:user@host [ip])``,
      ``(user@host)``: the ident (RFC 1413) or authenticated user with the
      client address (qmail, sendmail).
    """
    n = len(items)
    used: set[int] = set()
    for i, (kind, text) in enumerate(items):
        if kind != _WORD:
            continue
        low = text.lower()
        if low in _HELO_WORDS or low == "ident":
            j = i + 1
            if j < n and items[j] == (_PUNCT, "="):
                j += 1
            elif low == "ident":
                continue
            if j < n and items[j][0] in (_WORD, _LIT) and items[j][1].lower() not in _NOT_NAMES:
                value = items[j][1]
                if low == "ident":
                    tcp.ident = tcp.ident or value or None
                else:
                    if items[j][0] == _LIT:
                        value = normalize_ip(value) or value
                    tcp.helo = tcp.helo or value or None
                used.add(j)
        elif low.startswith("ident:") and len(text) > 6:
            tcp.ident = tcp.ident or text[6:]
            used.add(i)
    ident_ip: str | None = None
    if n and items[0][0] == _WORD and "@" in items[0][1] and 0 not in used:
        local, _, host = items[0][1].rpartition("@")
        used.add(0)
        if not host:
            if local:
                tcp.ident = tcp.ident or local  # "(user@[1.2.3.4])"
        else:
            ident_ip = normalize_ip(host)
            if ident_ip is not None:
                tcp.ident = tcp.ident or local or None
            else:
                tcp.ident = tcp.ident or items[0][1]
    if tcp.ip is None:
        if ident_ip is not None:
            tcp.ip = ident_ip
        else:
            for i, (kind, text) in enumerate(items):
                if i not in used and kind in (_WORD, _LIT):
                    ip = normalize_ip(text)
                    if ip is not None:
                        tcp.ip = ip
                        break
    if tcp.iprev is None and n and 0 not in used and items[0][0] in (_WORD, _ANGLE):
        name = items[0][1]
        if _is_name(name):
            if n == 1:
                if "." in name.rstrip("."):
                    tcp.iprev = name
            elif items[1][0] == _LIT or (items[1][0] == _WORD and normalize_ip(items[1][1])):
                tcp.iprev = name


# --- protocols ---------------------------------------------------------------

_PROTOCOLS: Final = frozenset(
    {
        # RFC 5321, RFC 3848
        "SMTP",
        "ESMTP",
        "ESMTPA",
        "ESMTPS",
        "ESMTPSA",
        "LMTP",
        "LMTPA",
        "LMTPS",
        "LMTPSA",
        # RFC 6531
        "UTF8SMTP",
        "UTF8SMTPA",
        "UTF8SMTPS",
        "UTF8SMTPSA",
        "UTF8LMTP",
        "UTF8LMTPA",
        "UTF8LMTPS",
        "UTF8LMTPSA",
        # Not SMTP hand-offs, but registered or universally written.
        "HTTP",
        "HTTPS",
        "IMAP",
        "POP3",
        "MMS",
        "LOCAL",
    }
)
_PROTOCOL_ALIASES: Final = {
    "SMTPD": "SMTP",  # smap, Novell
    "SMTPSVC": "SMTP",  # "Microsoft SMTPSVC(6.0.3790.0)"
    "BSMTP": "SMTP",  # batched SMTP (Exim local-bsmtp, rsmtp)
    "ESMTP-TLS": "ESMTPS",  # CommuniGate Pro
    "ESMTPTLS": "ESMTPS",
    "HTTPREST": "HTTP",  # Gmail API
    "HTTPU": "HTTP",
}
_PROTOCOL_SPLIT = re.compile(r"[/\s]+")


def normalize_protocol(words: list[str]) -> str | None:
    """The registered protocol name in the WITH clause words, else ``None``.

    The first word (or ``/``-separated part: ``ESMTP/TLS/cipher``) that is a
    registered name, case-insensitively, after Exim's ``local-`` prefix is
    removed and the vendor spellings in ``_PROTOCOL_ALIASES`` are mapped.
    """
    for word in words:
        for part in _PROTOCOL_SPLIT.split(word):
            name = part.upper()
            if name.startswith("LOCAL-"):
                name = name[6:]
            name = _PROTOCOL_ALIASES.get(name, name)
            if name in _PROTOCOLS:
                return name
    return None


# --- TLS ------------------------------------------------------------------

# "TLSv1.3", "TLS1_2", "TLS-1.0", "TLSv1" (= 1.0), "SSLv3", "DTLSv1.2".
_TLS_VERSION = re.compile(r"(D?TLS|SSL)[-_]?v?([0-9])(?:[._]([0-9]))?", re.IGNORECASE)
# A cipher suite name: IANA (TLS_...) or OpenSSL (ECDHE-RSA-...) spelling,
# starting with a key exchange, authentication or bulk cipher name.
_CIPHER = re.compile(
    r"(?:TLS|SSL|ECDHE|ECDH|DHE|EDH|ADH|AECDH|RSA|PSK|SRP|AES|DES|RC4|CAMELLIA|CHACHA20"
    r"|KRB5|IDEA|SEED|ARIA|GOST|EXP)[A-Z0-9_\-]*"
)
_TLS_SPLIT = re.compile(r"[:/,\s]+")
_CIPHER_KEYS: Final = frozenset({"cipher", "tls_cipher", "tls", "cipher:"})


def _tls_version(part: str) -> str | None:
    m = _TLS_VERSION.fullmatch(part)
    if m is None:
        return None
    family, major, minor = m.group(1).upper(), m.group(2), m.group(3) or "0"
    if family == "SSL":
        return f"SSLv{major}"
    if major != "1":
        return None
    return f"{family}v1.{minor}"


_DIGIT = re.compile(r"[0-9]")


def _is_cipher(part: str, explicit: bool) -> bool:
    if len(part) <= 6 or ("_" not in part and "-" not in part):
        return False
    if not explicit and part != part.upper():
        return False
    return _CIPHER.fullmatch(part.upper()) is not None


def find_tls(tokens: list[tuple[int, str, int, int]]) -> tuple[str | None, str | None]:
    """Find the TLS version and cipher suite in comment and WITH tokens.

    Forms, by origin: Postfix ``(using TLSv1.3 with cipher X (256/256
    bits))``; sendmail and Gmail ``(version=TLSv1.2 cipher=X bits=256)``;
    Exchange ``(version=TLS1_2, cipher=X)``; Exim 4 ``(TLS1.3) tls X``,
    ``(TLS-1.0:X:256)``, ``(tls_cipher TLS-1.0:X:32)``; Exim 3 ``(Cipher
    TLSv1:X:168)``; Courier ``(TLS: TLSv1/SSLv3, 168bits, X)``;
    ``ESMTP/TLS/X``. A value after ``cipher``/``tls`` wins over a bare
    cipher-shaped word (upper case, ``_`` or ``-``, a digit); Gmail's
    ``cipher=OTHER`` names no cipher.

    Returns:
        ``(version, cipher)``, each ``None`` when absent.
    """
    version: str | None = None
    bare: str | None = None
    named: str | None = None
    expect = False
    for kind, text, _start, _depth in tokens:
        if kind == _PUNCT and text == "=":
            continue
        if kind not in (_WORD, _LIT):
            expect = False
            continue
        if _DIGIT.search(text) is None:
            # Versions and cipher suites all contain a digit.
            expect = text.lower() in _CIPHER_KEYS
            continue
        for part in _TLS_SPLIT.split(text):
            if _DIGIT.search(part) is None:
                continue
            found = _tls_version(part)
            if found is not None:
                version = version or found
            elif expect and named is None and _is_cipher(part, True):
                named = part
            elif bare is None and _is_cipher(part, False):
                bare = part
        expect = False
    return version, named or bare


# --- writing -----------------------------------------------------------------
# What Received.format writes must come back through _received's tokenizer
# as one value each.

# What ends a word for the tokenizer (its _NEXT): whitespace, the specials it
# reads as punctuation, quotes and backslashes.
_BAD_TOKEN = re.compile(r"[\s()<>;\"\\\[\],=]")
_ANGLE_TOKEN = re.compile(r"[^<>\s()\[\]]+")


def word_token(value: str) -> str:
    """A clause value written as one word."""
    if not value or _BAD_TOKEN.search(value) is not None:
        raise ValueError(f"not a single Received token: {value!r}")
    return value


def id_token(value: str) -> str:
    """An ID or VIA value: a word, else in angle brackets (``id <a=b>``,
    RFC 5321's msg-id form), which the reader takes whole."""
    if value and _BAD_TOKEN.search(value) is None:
        return value
    return path_token(value)


def path_token(value: str) -> str:
    """``<value>``: a FOR path, or an ID that is no word ("=" and "," are
    fine inside the brackets: SRS and VERP addresses hold them)."""
    if _ANGLE_TOKEN.fullmatch(value) is None:
        raise ValueError(f"not a single Received token: {value!r}")
    return f"<{value}>"


def address_literal(ip: str) -> str:
    """An IP as an RFC 5321 address-literal (``[1.2.3.4]``, ``[IPv6:...]``)."""
    addr = normalize_ip(ip)
    if addr is None:
        raise ValueError(f"not an IP address: {ip!r}")
    return f"[IPv6:{addr}]" if ":" in addr else f"[{addr}]"


def host_token(value: str) -> str:
    """A domain, or an IP written as an RFC 5321 address-literal."""
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return word_token(value)
    return address_literal(value)
