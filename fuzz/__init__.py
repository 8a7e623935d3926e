"""Fuzzing harnesses for mimekit: ``python -m fuzz TARGET --seconds N``."""
