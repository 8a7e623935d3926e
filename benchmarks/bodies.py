"""Seeded body content for the benchmark corpus: prose, HTML and binary attachments.

Bodies are returned already transfer-encoded (quoted-printable or base64, done with the
stdlib) with "\\n" line endings, so the corpus only has to stack them into MIME parts.
"""

from __future__ import annotations

import base64
import math
import quopri
import random
import textwrap

from benchmarks.fakedata import INTL_SUBJECT, LATIN1_WORDS, WORDS, Person, sentence

__all__ = [
    "attachment_payload",
    "base64_lines",
    "html_body",
    "latin1_list_body",
    "log_uniform",
    "plain_text",
    "qp",
]

# Byte signatures at the start of each fake file type, so sniffers see a plausible
# header; the rest is random, which base64 encodes at the same cost as real content.
_MAGIC = {
    "pdf": (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "application/pdf"),
    "jpg": (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01", "image/jpeg"),
    "png": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "image/png"),
    "docx": (
        b"PK\x03\x04\x14\x00\x06\x00",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ),
    "zip": (b"PK\x03\x04\x14\x00\x00\x00", "application/zip"),
}
FILE_STEMS = [
    "report",
    "invoice_2024-11",
    "Scan0042",
    "IMG_20240612_183011",
    "presentation",
    "contract-signed",
    "photo",
    "budget Q3",
    "Lebenslauf",
    "résumé",
    "отчёт",
    "契約書",
]


def log_uniform(rng: random.Random, low: int, high: int) -> int:
    """A size between ``low`` and ``high`` with most values near the low end, like mail."""
    return int(math.exp(rng.uniform(math.log(low), math.log(high))))


def paragraphs(rng: random.Random, count: int, words: list[str] | None = None) -> list[str]:
    return [
        textwrap.fill(" ".join(sentence(rng, words) for _ in range(rng.randint(1, 6))), 72)
        for _ in range(count)
    ]


def plain_text(rng: random.Random, sender: Person, intl: bool, size_hint: int) -> str:
    """A short letter: greeting, prose, maybe a quoted reply, and a signature."""
    paras = [f"Hi {sender.name.split()[0]},"] if rng.random() < 0.7 else []
    body_paras = max(1, size_hint // 300)
    paras += paragraphs(rng, body_paras)
    if intl:
        paras.insert(1, rng.choice(INTL_SUBJECT) + " — " + sentence(rng))
    if rng.random() < 0.35:
        quoted = paragraphs(rng, rng.randint(1, 5))
        paras.append("On Tue, someone wrote:\n> " + "\n> ".join("\n".join(quoted).split("\n")))
    paras.append(f"-- \n{sender.name}\n{rng.choice(['Sent from my phone', 'Head of Ops', ''])}")
    return "\n\n".join(paras) + "\n"


def html_body(rng: random.Random, text: str) -> str:
    """The HTML twin of ``text`` in the verbose style mail clients produce."""
    paras = [
        p.replace("&", "&amp;").replace("<", "&lt;").replace("\n", " ") for p in text.split("\n\n")
    ]
    style = 'style="font-family:Calibri,Arial,sans-serif;font-size:11pt;color:#1f1f1f"'
    inner = "\n".join(f"<p {style}>{p}</p>" for p in paras)
    return (
        "<!DOCTYPE html>\n<html><head>\n"
        '<meta http-equiv="Content-Type" content="text/html; charset=utf-8">\n'
        "<style>p{margin:0 0 1em 0}</style></head>\n"
        f'<body>\n<div dir="ltr">\n{inner}\n</div>\n'
        f"<!-- {rng.getrandbits(64):x} -->\n</body></html>\n"
    )


def qp(text: str, charset: str = "utf-8") -> str:
    """Quoted-printable with soft breaks at 76 columns (stdlib ``quopri``)."""
    return quopri.encodestring(text.encode(charset)).decode("ascii")


def base64_lines(data: bytes) -> str:
    """MIME base64: 76-character lines (stdlib ``base64.encodebytes``)."""
    return base64.encodebytes(data).decode("ascii")


def attachment_payload(
    rng: random.Random, size: int, kind: str | None = None
) -> tuple[str, str, bytes]:
    """(filename, content type, raw bytes) of a fake file of ``size`` bytes."""
    ext = kind or rng.choice(["pdf", "pdf", "jpg", "jpg", "png", "docx", "zip"])
    magic, ctype = _MAGIC[ext]
    data = magic + rng.randbytes(max(0, size - len(magic)))
    return f"{rng.choice(FILE_STEMS)}.{ext}", ctype, data


def latin1_list_body(rng: random.Random, list_name: str) -> bytes:
    """An 8-bit ISO-8859-1 list post with a Mailman footer, as raw bytes.

    Old clients sent this without any charset parameter; the bytes are not UTF-8, so a
    reader has to guess (and a serializer must not "fix" them).
    """
    vocab = WORDS + LATIN1_WORDS * 3
    paras = paragraphs(rng, rng.randint(1, 6), vocab)
    if rng.random() < 0.5:
        quoted = paragraphs(rng, rng.randint(1, 3), vocab)
        paras.insert(0, "> " + "\n> ".join("\n".join(quoted).split("\n")))
    footer = (
        "_______________________________________________\n"
        f"{list_name} mailing list\n{list_name}@lists.example.org\n"
        f"https://lists.example.org/mailman/listinfo/{list_name}\n"
    )
    text = "\n\n".join(paras) + "\n\n" + footer
    return text.encode("iso-8859-1", "replace")
