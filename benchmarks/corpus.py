"""A deterministic, realistic e-mail corpus, generated at run time.

Nothing here imports mimekit: messages are assembled from strings and stdlib encoders,
so the benchmark measures mimekit instead of being shaped by it. The corpus is written
to a directory (a temp dir by default, never committed) and read back as bytes, so each
library parses exactly the same input.

Proportions follow a typical inbox: mostly small text mails, a few big attachments that
dominate the byte count.
"""

from __future__ import annotations

import base64
import json
import random
import statistics
import urllib.parse
from dataclasses import dataclass, field
from email.utils import format_datetime
from pathlib import Path

from benchmarks import bodies, fakedata
from benchmarks.fakedata import Person

__all__ = ["KINDS", "Corpus", "Entry", "generate", "load"]

#: Message kinds and their share of the corpus.
KINDS: dict[str, float] = {
    "plain": 0.38,  # short text mail, long Received chain, DKIM
    "alternative": 0.27,  # text + html, quoted-printable
    "attachments": 0.12,  # multipart/mixed with base64 files, 20 KB - 2 MB each
    "forward": 0.08,  # message/rfc822 inside multipart/mixed
    "list_latin1": 0.15,  # mailing-list post, unlabeled 8-bit Latin-1
}
CRLF_SHARE = 0.4  # the rest use bare LF, like Maildir/mbox files on Unix
INTL_SHARE = 0.25  # RFC 2047 subjects and display names
MANY_RCPT_SHARE = 0.1  # long folded To/Cc lists
GENERATOR_VERSION = 1  # bump when output changes, so cached corpora are rebuilt


@dataclass(frozen=True, slots=True)
class Entry:
    name: str
    kind: str
    flags: tuple[str, ...]
    size: int


@dataclass(slots=True)
class Corpus:
    directory: Path
    entries: list[Entry]
    messages: list[bytes] = field(default_factory=list)

    @property
    def total_bytes(self) -> int:
        return sum(e.size for e in self.entries)

    def summary(self) -> dict[str, object]:
        sizes = sorted(e.size for e in self.entries)
        by_kind = {k: sum(1 for e in self.entries if e.kind == k) for k in KINDS}
        flags = ("crlf", "rfc2047", "many_rcpts", "raw8bit_header")
        return {
            "messages": len(self.entries),
            "total_mb": round(self.total_bytes / 1e6, 2),
            "by_kind": by_kind,
            "mb_by_kind": {
                k: round(sum(e.size for e in self.entries if e.kind == k) / 1e6, 2) for k in KINDS
            },
            "flags": {f: sum(1 for e in self.entries if f in e.flags) for f in flags},
            "size_min": sizes[0] if sizes else 0,
            "size_median": int(statistics.median(sizes)) if sizes else 0,
            "size_max": sizes[-1] if sizes else 0,
        }


def _kind_plan(n: int, rng: random.Random) -> list[str]:
    """Exact counts per kind (at least one of each when n allows), in shuffled order."""
    counts = {k: max(1 if n >= len(KINDS) else 0, round(n * w)) for k, w in KINDS.items()}
    # Absorb rounding drift in the most common kind so the total is exactly n.
    counts["plain"] += n - sum(counts.values())
    plan = [k for k, c in counts.items() for _ in range(max(0, c))][:n]
    rng.shuffle(plan)
    return plan


def generate(directory: Path, n: int = 300, seed: int = 1) -> Corpus:
    """Write ``n`` messages into ``directory`` (reused when already generated there)."""
    directory.mkdir(parents=True, exist_ok=True)
    manifest = directory / "manifest.json"
    key = {"version": GENERATOR_VERSION, "n": n, "seed": seed}
    if manifest.exists():
        data = json.loads(manifest.read_text())
        if data.get("key") == key:
            return Corpus(
                directory, [Entry(e[0], e[1], tuple(e[2]), e[3]) for e in data["entries"]]
            )
    entries: list[Entry] = []
    for i, kind in enumerate(_kind_plan(n, random.Random(seed))):
        # One RNG per message: a message does not change when another kind's code does.
        rng = random.Random(f"{seed}:{i}:{kind}")
        raw, flags = build_message(rng, kind)
        name = f"{i:04d}-{kind}.eml"
        (directory / name).write_bytes(raw)
        entries.append(Entry(name, kind, flags, len(raw)))
    manifest.write_text(
        json.dumps(
            {"key": key, "entries": [[e.name, e.kind, list(e.flags), e.size] for e in entries]}
        )
    )
    return Corpus(directory, entries)


def load(corpus: Corpus) -> Corpus:
    corpus.messages = [(corpus.directory / e.name).read_bytes() for e in corpus.entries]
    return corpus


# --------------------------------------------------------------------------- messages


def build_message(rng: random.Random, kind: str) -> tuple[bytes, tuple[str, ...]]:
    flags: list[str] = []
    crlf = rng.random() < CRLF_SHARE
    intl = kind != "list_latin1" and rng.random() < INTL_SHARE
    many = rng.random() < MANY_RCPT_SHARE
    flags += ["crlf"] * crlf + ["rfc2047"] * intl + ["many_rcpts"] * many
    sender = fakedata.person(rng, intl)
    if kind == "list_latin1":
        raw, raw8 = _list_message(rng, sender, many)
        flags += ["raw8bit_header"] * raw8
    else:
        content = {
            "plain": _plain_entity,
            "alternative": _alternative_entity,
            "attachments": _mixed_entity,
            "forward": _forward_entity,
        }[kind](rng, sender, intl)
        raw = (_top_headers(rng, sender, intl, many, hops=rng.randint(3, 12)) + content).encode(
            "utf-8"
        )
    if crlf:
        raw = raw.replace(b"\n", b"\r\n")
    return raw, tuple(flags)


def _recipients(rng: random.Random, intl: bool, many: bool) -> tuple[list[str], list[str]]:
    n_to = rng.randint(12, 60) if many else rng.choice([1, 1, 1, 2, 3])
    n_cc = rng.randint(5, 30) if many else rng.choice([0, 0, 0, 1, 2])
    pick = [fakedata.person(rng, intl and rng.random() < 0.4) for _ in range(n_to + n_cc)]
    addrs = [fakedata.format_address(rng, p) for p in pick]
    return addrs[:n_to], addrs[n_to:]


def _top_headers(
    rng: random.Random, sender: Person, intl: bool, many: bool, hops: int, *, trace: bool = True
) -> str:
    """The header block of a delivered message, minus its Content-* fields."""
    to, cc = _recipients(rng, intl, many)
    when = fakedata.random_date(rng)
    domain = sender.addr.split("@")[1]
    rcpt = to[0].rsplit("<", 1)[-1].rstrip(">")
    subject = fakedata.subject_line(rng, intl)
    sub_tokens = fakedata.encode_words(rng, subject) if intl else subject.split(" ")
    out = []
    if trace:
        out.append(f"Return-Path: <{sender.addr}>\nDelivered-To: {rcpt}\n")
        out.append(fakedata.received_chain(rng, when, rcpt, hops))
        out.append(
            f"Authentication-Results: mx.example.org;\n"
            f"       dkim=pass header.i=@{domain} header.s=s1\n"
            f"       header.b=Ab{rng.getrandbits(24):x};\n"
            f"       spf=pass (example.org: domain of {sender.addr} designates\n"
            f"       203.0.113.7 as permitted sender) smtp.mailfrom={sender.addr};\n"
            f"       dmarc=pass (p=REJECT sp=REJECT dis=NONE) header.from={domain}\n"
        )
        signed = ["from", "to", "cc", "subject", "date", "message-id", "mime-version"]
        out.append(fakedata.dkim_signature(rng, domain, signed))
        if rng.random() < 0.4:  # a second signature, from the sending provider
            out.append(fakedata.dkim_signature(rng, "gmail.example", signed[:5]))
    out.append("MIME-Version: 1.0\n")
    out.append(f"From: {fakedata.format_address(rng, sender)}\n")
    out.append(f"Date: {format_datetime(when)}\n")
    out.append(f"Message-ID: {fakedata.message_id(rng, domain)}\n")
    if rng.random() < 0.3:
        ref = fakedata.message_id(rng, "example.net")
        out.append(f"In-Reply-To: {ref}\nReferences: {ref}\n")
    out.append(fakedata.fold("Subject", sub_tokens))
    out.append(fakedata.fold("To", to, sep=","))
    if cc:
        out.append(fakedata.fold("Cc", cc, sep=","))
    extra = rng.randrange(3)
    if extra == 0:
        out.append(
            f"Thread-Index: {base64.b64encode(rng.randbytes(22)).decode()}\n"
            f"X-MS-Has-Attach: \nX-MS-TNEF-Correlator: \n"
        )
    elif extra == 1:
        out.append("User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Thunderbird/128.3\n")
    else:
        out.append(f"X-Mailer: Apple Mail (2.{rng.randrange(3000, 3800)})\n")
    return "".join(out)


def _boundary(rng: random.Random) -> str:
    style = rng.randrange(4)
    if style == 0:
        return f"{rng.getrandbits(96):024x}"  # Gmail
    if style == 1:
        return f"_000_{rng.getrandbits(80):X}EXCH_"  # Outlook
    if style == 2:
        return f"------------{rng.getrandbits(64):016X}"  # Thunderbird
    return f"----=_Part_{rng.randrange(10**6)}_{rng.randrange(10**9)}.{rng.randrange(10**13)}"


def _multipart(rng: random.Random, subtype: str, parts: list[str], extra: str = "") -> str:
    b = _boundary(rng)
    preamble = "This is a multi-part message in MIME format.\n" if rng.random() < 0.4 else ""
    body = preamble + "".join(f"--{b}\n{p}\n" for p in parts) + f"--{b}--\n"
    return f'Content-Type: multipart/{subtype};{extra}\n boundary="{b}"\n\n{body}'


def _text_part(rng: random.Random, text: str, subtype: str = "plain") -> str:
    if text.isascii() and rng.random() < 0.5:
        return (
            f"Content-Type: text/{subtype}; charset=us-ascii\n"
            f"Content-Transfer-Encoding: 7bit\n\n{text}"
        )
    return (
        f'Content-Type: text/{subtype}; charset="utf-8"\n'
        f"Content-Transfer-Encoding: quoted-printable\n\n{bodies.qp(text)}"
    )


def _plain_entity(rng: random.Random, sender: Person, intl: bool) -> str:
    text = bodies.plain_text(rng, sender, intl, bodies.log_uniform(rng, 150, 8000))
    if not text.isascii() and rng.random() < 0.5:  # many clients just send 8-bit UTF-8
        return (
            f"Content-Type: text/plain; charset=UTF-8; format=flowed\n"
            f"Content-Transfer-Encoding: 8bit\n\n{text}"
        )
    return _text_part(rng, text)


def _alternative_entity(rng: random.Random, sender: Person, intl: bool) -> str:
    text = bodies.plain_text(rng, sender, intl, bodies.log_uniform(rng, 300, 12000))
    alt = _multipart(
        rng,
        "alternative",
        [_text_part(rng, text), _text_part(rng, bodies.html_body(rng, text), "html")],
    )
    if rng.random() > 0.2:
        return alt
    # Some HTML mails carry an inline logo: multipart/related around the alternative.
    name, ctype, data = bodies.attachment_payload(rng, bodies.log_uniform(rng, 2000, 40000), "png")
    cid = f"image001.png@01D{rng.getrandbits(40):X}"
    img = (
        f'Content-Type: {ctype}; name="{name}"\nContent-ID: <{cid}>\n'
        f'Content-Disposition: inline; filename="{name}"\n'
        f"Content-Transfer-Encoding: base64\n\n{bodies.base64_lines(data)}"
    )
    return _multipart(rng, "related", [alt, img], ' type="multipart/alternative";')


def _filename_params(rng: random.Random, name: str) -> tuple[str, str]:
    """(Content-Type name param, Content-Disposition filename param) as clients write them."""
    if name.isascii():
        return f'name="{name}"', f'filename="{name}"'
    encoded = urllib.parse.quote(name.encode("utf-8"), safe="")
    if rng.random() < 0.5:  # RFC 2231, the standard way
        return f"name*=utf-8''{encoded}", f"filename*=utf-8''{encoded}"
    word = " ".join(fakedata.encode_words(rng, name))  # RFC 2047 in a quoted param: Outlook
    return f'name="{word}"', f'filename="{word}"'


def _attachment(rng: random.Random, low: int, high: int) -> str:
    name, ctype, data = bodies.attachment_payload(rng, bodies.log_uniform(rng, low, high))
    ct_param, cd_param = _filename_params(rng, name)
    size = f"; size={len(data)}" if rng.random() < 0.3 else ""
    return (
        f"Content-Type: {ctype};\n {ct_param}\n"
        f"Content-Disposition: attachment;\n {cd_param}{size}\n"
        f"Content-Transfer-Encoding: base64\n\n{bodies.base64_lines(data)}"
    )


def _mixed_entity(rng: random.Random, sender: Person, intl: bool) -> str:
    first = (_alternative_entity if rng.random() < 0.6 else _plain_entity)(rng, sender, intl)
    count = rng.choices([1, 2, 3, 4], weights=[60, 25, 10, 5])[0]
    files = [_attachment(rng, 20_000, 2_000_000) for _ in range(count)]
    return _multipart(rng, "mixed", [first, *files])


def _forward_entity(rng: random.Random, sender: Person, intl: bool) -> str:
    note = bodies.plain_text(rng, sender, intl, bodies.log_uniform(rng, 100, 800))
    inner_sender = fakedata.person(rng, intl)
    inner_body = (_mixed_small if rng.random() < 0.3 else _alternative_entity)(
        rng, inner_sender, intl
    )
    inner = (
        _top_headers(
            rng, inner_sender, intl, False, hops=rng.randint(1, 4), trace=rng.random() < 0.5
        )
        + inner_body
    )
    wrapped = (
        f'Content-Type: message/rfc822; name="Forwarded message.eml"\n'
        f"Content-Disposition: {rng.choice(['inline', 'attachment'])}\n\n{inner}"
    )
    return _multipart(rng, "mixed", [_text_part(rng, note), wrapped])


def _mixed_small(rng: random.Random, sender: Person, intl: bool) -> str:
    return _multipart(
        rng, "mixed", [_plain_entity(rng, sender, intl), _attachment(rng, 20_000, 200_000)]
    )


def _list_message(rng: random.Random, sender: Person, many: bool) -> tuple[bytes, bool]:
    """A mailing-list post in unlabeled 8-bit Latin-1 (no charset, 8bit CTE)."""
    lst = rng.choice(["python-list", "debian-user-french", "linux-kernel", "gentoo-dev"])
    head = _top_headers(rng, sender, False, many, hops=rng.randint(4, 10))
    head = head.replace("Subject: ", f"Subject: [{lst}] ", 1)
    if rng.random() < 0.5:  # the list tag pushes a subject past 78 columns; Mailman refolds
        start = head.index("Subject: ")
        end = head.index("\nTo:", start) + 1
        tokens = head[start + 9 : end].replace("\n ", " ").split()
        head = head[:start] + fakedata.fold("Subject", tokens) + head[end:]
    raw8 = rng.random() < 0.25
    list_head = (
        f"Sender: {lst}-bounces@lists.example.org\nPrecedence: list\n"
        f"List-Id: {lst.replace('-', ' ').title()} <{lst}.lists.example.org>\n"
        f"List-Unsubscribe: <https://lists.example.org/mailman/options/{lst}>,\n"
        f" <mailto:{lst}-request@lists.example.org?subject=unsubscribe>\n"
        f"List-Archive: <https://lists.example.org/pipermail/{lst}/>\n"
        f"List-Post: <mailto:{lst}@lists.example.org>\n"
        f"X-Mailman-Version: 2.1.{rng.randrange(10, 39)}\n"
    )
    ctype = rng.choice(
        ["Content-Type: text/plain\n", "Content-Type: text/plain; format=flowed\n", ""]
    )
    header_bytes = (head + list_head + ctype + "Content-Transfer-Encoding: 8bit\n\n").encode()
    if raw8:
        # Old clients put raw Latin-1 into headers too: an 8-bit Organization field.
        header_bytes = header_bytes.replace(
            b"MIME-Version: 1.0\n",
            b"MIME-Version: 1.0\nOrganization: Soci\xe9t\xe9 G\xe9n\xe9rale d'\xc9tudes\n",
            1,
        )
    return header_bytes + bodies.latin1_list_body(rng, lst), raw8
