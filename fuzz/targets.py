"""The fuzz targets, by name (``python -m fuzz --list`` shows them).

A target's ``run`` takes bytes and checks mimekit's invariants: it raises
``AssertionError`` when an invariant breaks, and any other exception is a
crash (parsers never raise on input; protocol cores raise only the
documented ``RemoteProtocolError`` on a client's receive path, and a server
core never raises on input at all).
"""

from __future__ import annotations

from ._codecs import CODEC_SEEDS, CODEC_TARGETS
from ._common import corpus_messages
from ._engine import Target
from ._fields import FIELD_SEEDS, FIELD_TARGETS, generate_field
from ._imap import IMAP_TARGETS
from ._messages import edit, generate_message, parse
from ._pop3 import POP3_TARGETS
from ._smtp import SMTP_TARGETS

__all__ = ["TARGETS"]


def _message_seeds() -> list[bytes]:
    return list(corpus_messages())


def _field_seeds() -> list[bytes]:
    return list(FIELD_SEEDS)


def _codec_seeds() -> list[bytes]:
    return list(CODEC_SEEDS) + [m for m in corpus_messages() if b"=ybegin" in m
                                or b"\nbegin " in m][:20]


_targets = [
    Target("parse", parse, _message_seeds, generate_message, gen_share=0.2),
    Target("edit", edit, _message_seeds, generate_message, gen_share=0.2),
    *(Target(name, fn, _field_seeds, generate_field, max_len=1 << 13)
      for name, fn in FIELD_TARGETS.items()),
    *(Target(name, fn, _codec_seeds, gen, gen_share=0.4)
      for name, (fn, gen) in CODEC_TARGETS.items()),
    *SMTP_TARGETS, *POP3_TARGETS, *IMAP_TARGETS,
]

#: Every target, by name, in the order ``all`` runs them.
TARGETS: dict[str, Target] = {t.name: t for t in _targets}
