"""Seeded fake people, words and trace headers for the benchmark corpus.

Everything here is built by hand or with the stdlib, never with mimekit: the corpus
must measure mimekit, so it cannot be shaped by mimekit's own idea of a message.
Strings use "\\n" line endings; the corpus converts whole files to CRLF where wanted.
"""

from __future__ import annotations

import base64
import random
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime

__all__ = [
    "LATIN1_WORDS",
    "Person",
    "dkim_signature",
    "encode_words",
    "fold",
    "format_address",
    "message_id",
    "person",
    "random_date",
    "received_chain",
    "sentence",
    "subject_line",
]


def _words(text: str) -> list[str]:
    """Whitespace-separated words: keeps the vocabularies below compact and readable."""
    return text.split()


ASCII_FIRST = _words(
    "Alice Bob Carol David Emma Frank Grace Henry Irene James Karen Liam Maria Nathan Olivia "
    "Peter Quinn Rachel Samuel Tina Umar Victor Wendy Xavier Yusuf Zara"
)
ASCII_LAST = _words(
    "Smith Johnson Brown Taylor Anderson Thomas Jackson White Harris Martin Thompson Garcia "
    "Clark Lewis Walker Young King O'Neil Patel Nguyen Kim Singh"
)
# Real mailboxes are full of names outside ASCII; these force RFC 2047 in headers.
INTL_FIRST = _words(
    "José Zoë Jürgen François Søren Łukasz Åsa Dvořák Ingrid Дмитрий Γιώργος 太郎 Mößbauer "
    "Renée Çağla Nguyễn Ólafur"
)
INTL_LAST = _words(
    "Müller Núñez Østergaard Błaszczykowski Lefèvre Šťastný Иванова Παπαδόπουλος 田中 Gößmann "
    "Ångström Özdemir Trần Herrón"
)
DOMAINS = _words(
    "example.com example.org example.net mail.example.co.uk corp.example.de lists.example.org "
    "university.example.edu example.fr shop.example.io gmail.example outlook.example "
    "example.jp"
)
WORDS = _words(
    "the of and to in is it for on that with as be at by this from or have an not are we you "
    "your our will can all about meeting report project budget review draft schedule update "
    "invoice contract proposal release server build deploy patch issue quarter team customer "
    "deadline agenda notes slides attached please thanks regards question answer follow next "
    "week monday friday tomorrow today summary results numbers approval feedback change "
    "request version document link access account travel hotel flight conference office lunch "
    "design test data backup migration"
)
# Words that only exist in 8-bit Latin-1 mail from old mailing-list clients.
LATIN1_WORDS = _words(
    "café déjà vu Größe niño façade über señor crème brûlée naïve garçon Ærø smörgåsbord "
    "Straße à propos rôle fiancée coöperate jalapeño ½ £20 §3 ©"
)
INTL_SUBJECT = [
    "Grüße aus München",
    "Réunion de l'équipe",
    "Счёт за ноябрь",
    "会議の議事録",
    "Προσφορά έργου",
    "Ñandú informe año",
    "Zażółć gęślą jaźń",
    "Fußball am Sonntag",
    "Café crème à 10h",
    "Обновление сервера",
    "Årsrapport för 2024",
]
SUBJECT_PREFIXES = ["", "", "", "Re: ", "Re: ", "RE: ", "Fwd: ", "FW: ", "AW: ", "Re: Re: "]


class Person:
    """A display name and an address; ``intl`` is True when the name needs RFC 2047."""

    __slots__ = ("addr", "intl", "name")

    def __init__(self, name: str, addr: str) -> None:
        self.name = name
        self.addr = addr
        self.intl = not name.isascii()


def person(rng: random.Random, intl: bool = False) -> Person:
    first = rng.choice(INTL_FIRST if intl and rng.random() < 0.7 else ASCII_FIRST)
    last = rng.choice(INTL_LAST if intl else ASCII_LAST)
    local_first = first.encode("ascii", "ignore").decode().lower() or "user"
    local_last = last.encode("ascii", "ignore").decode().lower().replace("'", "") or "x"
    style = rng.randrange(4)
    if style == 0:
        local = f"{local_first}.{local_last}"
    elif style == 1:
        local = f"{local_first[0]}{local_last}"
    elif style == 2:
        local = f"{local_first}{rng.randrange(1, 999)}"
    else:
        local = f"{local_first}_{local_last}+{rng.choice(['news', 'work', 'list'])}"
    return Person(f"{first} {last}", f"{local}@{rng.choice(DOMAINS)}")


def encode_words(rng: random.Random, text: str) -> list[str]:
    """RFC 2047 encoded-words for ``text``, each at most 75 characters.

    The charset and the B/Q choice vary, as they do between real clients.
    """
    charset = "utf-8"
    try:
        text.encode("iso-8859-1")
        if rng.random() < 0.4:
            charset = "iso-8859-1"
    except UnicodeEncodeError:
        pass
    mode = rng.choice("BQ")
    words: list[str] = []
    chunk = ""
    for ch in text:
        # Grow a chunk character by character so no multi-byte sequence is split
        # across two encoded-words (RFC 2047 section 5 forbids that).
        if len(_one_word(chunk + ch, charset, mode)) > 75:
            words.append(_one_word(chunk, charset, mode))
            chunk = ""
        chunk += ch
    if chunk:
        words.append(_one_word(chunk, charset, mode))
    return words


def _one_word(text: str, charset: str, mode: str) -> str:
    raw = text.encode(charset)
    if mode == "B":
        payload = base64.b64encode(raw).decode("ascii")
    else:
        out = []
        for byte in raw:
            c = chr(byte)
            if c == " ":
                out.append("_")
            elif c.isascii() and c.isalnum():
                out.append(c)
            else:
                out.append(f"={byte:02X}")
        payload = "".join(out)
    return f"=?{charset}?{mode}?{payload}?="


def fold(name: str, tokens: list[str], sep: str = " ", width: int = 78) -> str:
    """``Name: tok sep tok ...`` folded at token boundaries, the way most MUAs fold."""
    lines: list[str] = []
    line = f"{name}:"
    for i, tok in enumerate(tokens):
        piece = tok + (sep.rstrip() if i < len(tokens) - 1 and sep.strip() else "")
        if len(line) + 1 + len(piece) > width and line.strip() != f"{name}:":
            lines.append(line)
            line = " " + piece
        else:
            line += " " + piece
    lines.append(line)
    return "\n".join(lines) + "\n"


def format_address(rng: random.Random, p: Person) -> str:
    if p.intl:
        return " ".join(encode_words(rng, p.name)) + f" <{p.addr}>"
    if "'" in p.name or rng.random() < 0.3:
        return f'"{p.name}" <{p.addr}>'
    if rng.random() < 0.1:
        return p.addr
    return f"{p.name} <{p.addr}>"


def random_date(rng: random.Random) -> datetime:
    start = datetime(2022, 1, 1, tzinfo=UTC)
    moment = start + timedelta(seconds=rng.randrange(3 * 365 * 86400))
    offset = rng.choice([0, 0, 60, 120, -300, -240, -480, 330, 540, 600, -180])
    return moment.astimezone(timezone(timedelta(minutes=offset)))


def message_id(rng: random.Random, domain: str) -> str:
    style = rng.randrange(3)
    if style == 0:
        return f"<{rng.getrandbits(64):016x}.{rng.getrandbits(32):08x}@{domain}>"
    if style == 1:
        left = base64.urlsafe_b64encode(rng.randbytes(27)).decode()
        return f"<CA+{left}@mail.{domain}>"
    return f"<{rng.getrandbits(48):X}{rng.randrange(10**6):06d}.JavaMail.app@{domain}>"


def sentence(rng: random.Random, words: list[str] | None = None) -> str:
    vocab = words or WORDS
    n = rng.randint(5, 18)
    text = " ".join(rng.choice(vocab) for _ in range(n))
    return text[0].upper() + text[1:] + rng.choice([".", ".", ".", "?", "!"])


def subject_line(rng: random.Random, intl: bool) -> str:
    prefix = rng.choice(SUBJECT_PREFIXES)
    if intl:
        return prefix + rng.choice(INTL_SUBJECT) + rng.choice(["", " \u2013 " + sentence(rng)[:30]])
    n = rng.randint(2, 12)
    words = " ".join(rng.choice(WORDS) for _ in range(n))
    return prefix + words[0].upper() + words[1:]


def _host(rng: random.Random) -> tuple[str, str]:
    name = rng.choice(["mail", "mx", "smtp", "relay", "out", "mta", "edge"])
    host = f"{name}{rng.randrange(1, 40)}.{rng.choice(DOMAINS)}"
    ip = (
        f"{rng.choice([192, 198, 203, 10])}.{rng.randrange(256)}.{rng.randrange(256)}."
        f"{rng.randrange(1, 255)}"
    )
    return host, ip


def received_chain(rng: random.Random, when: datetime, rcpt: str, hops: int) -> str:
    """``hops`` Received fields, newest first, in Postfix/Exchange/Gmail styles."""
    fields: list[str] = []
    moment = when + timedelta(seconds=rng.randrange(2, 40) * hops)
    for _ in range(hops):
        src, src_ip = _host(rng)
        dst, _ = _host(rng)
        queue_id = base64.b32encode(rng.randbytes(10)).decode().rstrip("=")
        stamp = format_datetime(moment)
        style = rng.randrange(3)
        if style == 0:
            first = f"Received: from {src} ({src} [{src_ip}])"
            if len(first) > 78:  # MTAs fold before the comment once the line gets long
                first = f"Received: from {src}\n\t({src} [{src_ip}])"
            fields.append(
                f"{first}\n"
                f"\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits))\n"
                f"\t(No client certificate requested)\n"
                f"\tby {dst} (Postfix) with ESMTPS id {queue_id}\n"
                f"\tfor <{rcpt}>; {stamp} (UTC)\n"
            )
        elif style == 1:
            fields.append(
                f"Received: from {src} ({src_ip}) by\n"
                f" {dst} ({rng.randrange(10**8):x}) with Microsoft SMTP Server\n"
                f" (version=TLS1_2, cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) id\n"
                f" 15.20.{rng.randrange(9000)}.{rng.randrange(99)}; {stamp}\n"
            )
        else:
            fields.append(
                f"Received: by {rng.randrange(2000, 9999)}:{rng.getrandbits(16):x}:"
                f"{rng.getrandbits(16):x}::{rng.getrandbits(8):x} with SMTP id "
                f"{queue_id[:12].lower()};\n        {stamp}\n"
            )
        moment -= timedelta(seconds=rng.randrange(1, 30))
    return "".join(fields)


def dkim_signature(rng: random.Random, domain: str, header_names: list[str]) -> str:
    """A DKIM-Signature field shaped like a real one (the signature itself is random)."""
    bh = base64.b64encode(rng.randbytes(32)).decode()
    b = base64.b64encode(rng.randbytes(256)).decode()
    b_lines = "\n\t ".join(b[i : i + 70] for i in range(0, len(b), 70))
    selector = rng.choice(["selector1", "google", "s1", "default", f"k{rng.randrange(9)}"])
    h = ":".join(header_names)
    return (
        f"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;\n"
        f"\td={domain}; s={selector};\n"
        f"\tt={rng.randrange(1_600_000_000, 1_750_000_000)}; h={h};\n"
        f"\tbh={bh};\n"
        f"\tb={b_lines}\n"
    )
