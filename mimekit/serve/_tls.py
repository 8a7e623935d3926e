"""TLS for ``mimekit serve``: a self-signed certificate made once, or yours.

The standard library cannot make certificates, and mimekit's only runtime
dependency is chardet, so the pair is made with the ``openssl`` command line
tool (present wherever Python's ``ssl`` module is built against OpenSSL on a
Unix system) rather than with the ``cryptography`` package. It is an EC P-256
key and a certificate for the host name, ``localhost`` and ``127.0.0.1``,
valid ten years, written to ``DIR/tls/`` with the key readable only by its
owner. ``--tls-cert``/``--tls-key`` replace it with a real pair.
"""

from __future__ import annotations

import os
import shutil
import ssl
import subprocess
from pathlib import Path

__all__ = ["ensure_self_signed", "server_context"]


def ensure_self_signed(directory: Path, hostname: str) -> tuple[Path, Path]:
    """Return ``(cert, key)`` in ``directory``, making them on first use.

    Raises:
        RuntimeError: the ``openssl`` tool is missing (pass a certificate and
            key instead) or failed.
    """
    cert, key = directory / "cert.pem", directory / "key.pem"
    if cert.exists() and key.exists():
        return cert, key
    openssl = shutil.which("openssl")
    if openssl is None:
        raise RuntimeError("cannot make a self-signed certificate: the 'openssl' tool is not "
                           "installed; pass --tls-cert and --tls-key")
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    names = dict.fromkeys([hostname, "localhost"])
    san = ",".join([*(f"DNS:{n}" for n in names), "IP:127.0.0.1", "IP:::1"])
    tmp_key, tmp_cert = directory / ".key.pem.tmp", directory / ".cert.pem.tmp"
    old_umask = os.umask(0o077)
    try:
        proc = subprocess.run(
            [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-nodes", "-days", "3650", "-subj", f"/CN={hostname}", "-addext",
             f"subjectAltName={san}", "-keyout", str(tmp_key), "-out", str(tmp_cert)],
            capture_output=True, text=True, check=False)
    finally:
        os.umask(old_umask)
    if proc.returncode != 0:
        raise RuntimeError(f"openssl failed to make a certificate: {proc.stderr.strip()}")
    os.replace(tmp_key, key)
    os.replace(tmp_cert, cert)
    return cert, key


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    """A server-side TLS context (TLS 1.2 or newer) for the pair."""
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(str(cert), str(key))
    return ctx
