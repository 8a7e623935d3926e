"""Server benchmarks (planned, not written yet).

The layout they will follow, so they slot into ``python -m benchmarks``:

- ``servers/smtp.py``: mimekit's asyncio SMTP server against aiosmtpd, both on loopback,
  driven by one client; messages/s and latency for DATA and BDAT.
- ``servers/imap.py``: mimekit's IMAP server against Dovecot (see ``../shared/peers``),
  for FETCH of ENVELOPE/BODYSTRUCTURE/BODY[] over a Maildir filled from ``corpus.py``.

Each module should expose ``run(args, results) -> None`` and be added to ``SUITES`` in
``benchmarks/__main__.py``; like the RSS suite, it should skip with a note when its peer
is not installed.
"""
