"""Server benchmarks: mimekit's servers against real peers, on loopback.

- ``smtp.py``: messages/s into ``mimekit serve`` against the aiosmtpd sink and Postfix.
- ``pop3.py``: RETR throughput of ``mimekit serve`` against Dovecot.

Each is a ``--only`` suite of ``python -m benchmarks`` (not part of ``--quick`` unless
named) and skips a peer that is not installed (see ``../shared/peers``).
"""
