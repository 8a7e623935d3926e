"""Peak memory of parsing one big message and streaming its attachment to disk.

Each library runs in a fresh interpreter and reports its own whole-process peak RSS
(``ru_maxrss``), so the figure includes the interpreter and the library's imports:
what a user would see in ``top``.

A trap this module avoids: Linux carries a process's ``maxrss`` across ``execve`` from
the memory image being replaced. ``subprocess`` forks (vfork) from the benchmark
parent, which may hold a large corpus, so a child exec'd straight from it would inherit
the parent's peak. The child is therefore started through a tiny launcher interpreter;
the launcher's small image is what the child inherits. ``VmHWM`` (per memory image,
Linux only) is reported as a cross-check.

Run as ``python -m benchmarks.rss child LIBRARY IN OUT NAME`` (internal).
"""

from __future__ import annotations

import base64
import hashlib
import importlib
import json
import random
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["BigMessage", "RssResult", "measure", "write_big_message"]

ROOT = Path(__file__).resolve().parent.parent
BIG_NAME = "site-backup-2024.zip"
RSS_LIBRARIES = ("baseline", "mimekit", "stdlib-compat32", "stdlib-default")
# The launcher creates a new process from a small image (see the module docstring).
_LAUNCHER = "import subprocess, sys; sys.exit(subprocess.run(sys.argv[1:]).returncode)"
_CHUNK = 57 * 16 * 1024  # 57 raw bytes = one 76-character base64 line


@dataclass(frozen=True, slots=True)
class BigMessage:
    path: Path
    size: int
    attachment_size: int
    attachment_sha256: str


@dataclass(slots=True)
class RssResult:
    library: str
    peak_rss_kib: int | None = None
    vmhwm_kib: int | None = None
    seconds: float | None = None
    output_ok: bool | None = None
    error: str = ""


def write_big_message(path: Path, attachment_bytes: int, seed: int = 7) -> BigMessage:
    """Stream a CRLF message with one big base64 attachment (plus small parts) to ``path``.

    Written chunk by chunk so the parent never holds the message (or copies of it).
    """
    rng = random.Random(seed)
    digest = hashlib.sha256()
    b = f"----=_Part_{rng.getrandbits(64):x}"
    small_jpg = base64.encodebytes(b"\xff\xd8\xff\xe0" + rng.randbytes(150_000))
    small_pdf = base64.encodebytes(b"%PDF-1.7\n" + rng.randbytes(300_000))
    text = b"Hello,\n\nthe backup of the web site is attached, with the photos.\n\n-- \nOps\n"
    head = (
        "Return-Path: <ops@example.com>\n"
        "Received: from mail.example.com (mail.example.com [203.0.113.9])\n"
        "\tby mx.example.org (Postfix) with ESMTPS id 4AbCdEf\n"
        "\tfor <archive@example.org>; Tue, 26 Nov 2024 14:51:03 +0000 (UTC)\n"
        "MIME-Version: 1.0\nFrom: Ops Team <ops@example.com>\n"
        "To: Archive <archive@example.org>, =?utf-8?q?J=C3=BCrgen?= <j@example.org>\n"
        "Date: Tue, 26 Nov 2024 14:50:00 +0000\nMessage-ID: <big.1@example.com>\n"
        "Subject: =?utf-8?q?Sicherung_der_Webseite_=E2=80=93_November?=\n"
        f'Content-Type: multipart/mixed; boundary="{b}"\n\n'
        f"--{b}\nContent-Type: text/plain; charset=utf-8\n\n"
    ).encode() + text
    parts = [
        head,
        f'\n--{b}\nContent-Type: image/jpeg; name="photo.jpg"\n'
        f"Content-Transfer-Encoding: base64\n"
        f'Content-Disposition: attachment; filename="photo.jpg"\n\n'.encode()
        + small_jpg,
        f'\n--{b}\nContent-Type: application/zip; name="{BIG_NAME}"\n'
        f"Content-Transfer-Encoding: base64\n"
        f'Content-Disposition: attachment; filename="{BIG_NAME}"\n\n'.encode(),
    ]
    tail = (
        (
            f'\n--{b}\nContent-Type: application/pdf; name="notes.pdf"\n'
            f"Content-Transfer-Encoding: base64\n\n"
        ).encode()
        + small_pdf
        + f"\n--{b}--\n".encode()
    )
    with path.open("wb") as f:
        for piece in parts:
            f.write(piece.replace(b"\n", b"\r\n"))
        left = attachment_bytes
        while left > 0:
            raw = rng.randbytes(min(_CHUNK, left))
            left -= len(raw)
            digest.update(raw)
            f.write(base64.encodebytes(raw).replace(b"\n", b"\r\n"))
        f.write(tail.replace(b"\n", b"\r\n"))
    return BigMessage(path, path.stat().st_size, attachment_bytes, digest.hexdigest())


def measure(big: BigMessage, libraries: list[str], workdir: Path) -> list[RssResult]:
    """Run each library's child in a fresh process; verify what it wrote."""
    results = []
    for lib in libraries:
        out = workdir / f"out-{lib}.bin"
        cmd = [
            sys.executable,
            "-c",
            _LAUNCHER,
            sys.executable,
            "-m",
            "benchmarks.rss",
            "child",
            lib,
            str(big.path),
            str(out),
            BIG_NAME,
        ]
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
        res = RssResult(lib)
        try:
            data = json.loads(proc.stdout.strip().splitlines()[-1])
        except (IndexError, ValueError):
            res.error = (proc.stderr.strip().splitlines() or [f"exit {proc.returncode}"])[-1]
            results.append(res)
            continue
        res.peak_rss_kib = data["maxrss_kib"]
        res.vmhwm_kib = data.get("vmhwm_kib")
        res.seconds = data["seconds"]
        res.error = data.get("error", "")
        if lib != "baseline" and not res.error:
            res.output_ok = out.exists() and _sha256(out) == big.attachment_sha256
        out.unlink(missing_ok=True)
        results.append(res)
    return results


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


# ------------------------------------------------------------------ child process


def _child_mimekit(path: str, out: str, name: str) -> None:
    # Imported by name so type checkers do not pin the benchmark to a mimekit version.
    mimekit: Any = importlib.import_module("mimekit")
    m: Any = mimekit.parse_file(path)
    # parse_file may hold a file or mmap open: close it the way the API offers.
    entered = m.__enter__() if hasattr(m, "__enter__") else m
    try:
        _ = (
            entered.subject,
            list(entered.from_.mailboxes),
            list(entered.to.mailboxes),
            entered.date,
            entered.message_id,
        )
        part = next(p for p in entered.walk() if p.filename == name)
        if hasattr(part, "save"):
            part.save(out)
        else:
            with open(out, "wb") as f:
                for chunk in part.iter_bytes():
                    f.write(chunk)
    finally:
        if hasattr(m, "__exit__"):
            m.__exit__(None, None, None)
        elif hasattr(m, "close"):
            m.close()


def _child_stdlib(path: str, out: str, name: str, policy_name: str) -> None:
    import email
    import email.policy
    from email.utils import getaddresses, parsedate_to_datetime

    policy = email.policy.default if policy_name == "default" else email.policy.compat32
    with open(path, "rb") as f:
        msg = email.message_from_binary_file(f, policy=policy)
    _ = (
        str(msg["Subject"]),
        getaddresses([str(msg["From"]), str(msg["To"])]),
        parsedate_to_datetime(str(msg["Date"])),
        str(msg["Message-ID"]),
    )
    part = next(p for p in msg.walk() if p.get_filename() == name)
    data = part.get_payload(decode=True)
    assert isinstance(data, bytes)
    with open(out, "wb") as f:
        f.write(data)


def _vmhwm_kib() -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def _child(lib: str, path: str, out: str, name: str) -> None:
    start = time.perf_counter()
    error = ""
    try:
        if lib == "mimekit":
            _child_mimekit(path, out, name)
        elif lib.startswith("stdlib-"):
            _child_stdlib(path, out, name, lib.removeprefix("stdlib-"))
    except Exception as exc:  # reported to the parent as data, not a traceback
        error = repr(exc)
    seconds = time.perf_counter() - start
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if sys.platform == "darwin":  # macOS reports bytes, Linux KiB
        maxrss //= 1024
    print(
        json.dumps(
            {"maxrss_kib": maxrss, "vmhwm_kib": _vmhwm_kib(), "seconds": seconds, "error": error}
        )
    )


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "child":
        _child(*sys.argv[2:6])
    else:
        sys.exit("usage: python -m benchmarks.rss child LIBRARY IN OUT NAME")
