"""Where the corpus messages are, for the tests that walk them."""

from __future__ import annotations

from pathlib import Path

from conftest import CORPUS, SHARED_CORPUS

_NOT_MESSAGES = {".md", ".json", ".xml", ".pub", ".bind9", ".tinydns", ".jpg", ".pem"}


def all_files() -> list[Path]:
    """Every file of the copied corpus plus the shared-only extras.

    The round-trip property holds for *any* bytes, so every file is used,
    messages or not (expected-output files make good odd inputs too).
    """
    files = sorted(p for p in CORPUS.rglob("*") if p.is_file())
    if SHARED_CORPUS.is_dir():
        copied = {p.relative_to(CORPUS) for p in files}
        files += sorted(p for p in SHARED_CORPUS.rglob("*")
                        if p.is_file() and p.relative_to(SHARED_CORPUS) not in copied)
    return files


def message_files() -> list[Path]:
    """The files that are messages (inputs, not expectations or licenses)."""
    return [p for p in all_files()
            if p.suffix.lower() not in _NOT_MESSAGES
            and "LICENSE" not in p.name and p.name not in ("COPYING", "README.txt")
            and "_decoded_" not in p.name and not p.name.endswith((".out", "-summary.txt"))]


def corpus_id(path: Path) -> str:
    for root in (CORPUS, SHARED_CORPUS):
        try:
            return str(path.relative_to(root))
        except ValueError:
            continue
    return str(path)
