"""Benchmarks of mimekit against the stdlib ``email`` package; see README.md.

Run ``python -m benchmarks`` (or ``--quick``) from the repository root.
"""
