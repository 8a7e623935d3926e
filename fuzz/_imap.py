"""IMAP targets: the server core fed command streams, the client core fed
response streams, and FETCH data computed from hostile messages.

``imap-server``: :class:`ServerDriver` answers as an adapter does: a ``+``
(or a refusal) for each announced literal, untagged data and a tagged
status for each command (an outcome the table has), challenges for
AUTHENTICATE, ``+`` and DONE for IDLE, BYE for LOGOUT. It runs the
server-side argument parsers an adapter runs (sequence sets, SEARCH
criteria, FETCH sections, mailbox names; only their documented errors), and
checks: no exception, only commands the state allows, the state moves as
the table says, the same events for any chunking.

``imap-client``: :class:`ClientDriver` pipelines commands its state allows
(literals sent after each ``+``), answers challenges, ends IDLE, reads
responses (only ``RemoteProtocolError`` may come out) and types every FETCH
response (``fetch_result``: ENVELOPE, BODYSTRUCTURE, INTERNALDATE...) and
response code (APPENDUID, COPYUID). The generator runs it against a server
core that sends typed data responses, checking that both ends agree.

``imap-fetch``: a message (the corpus, mutated) as an APPEND would store it:
the server computes ENVELOPE, BODYSTRUCTURE, BODY and sections, writes them
in a FETCH response; the client core reads it back and its parsers must
understand every structure our own server wrote.
"""

from __future__ import annotations

from ._common import corpus_messages
from ._engine import Target
from ._imap_client import _client_seeds, pair, run_client
from ._imap_fetch import run_fetch
from ._imap_server import _server_seeds, generate_commands, run_server

__all__ = ["IMAP_TARGETS"]

_TOKENS = (b"{5}\r\n", b"{0+}\r\n", b"~{1}\r\n", b"* ", b"+ ", b"OK ", b"NO ", b"BAD ", b"BYE ",
           b"NIL", b"(", b")", b"[", b"]", b"\\Seen", b"FETCH ", b"BODY[]", b"UID ", b"1:*",
           b"\"", b"A0001 ", b"A0002 ", b"DONE\r\n", b"[CAPABILITY IMAP4rev1 LITERAL+]")

IMAP_TARGETS = [
    Target("imap-server", run_server, _server_seeds, generate_commands, tokens=_TOKENS,
           gen_share=0.5, max_len=1 << 15),
    Target("imap-client", run_client, _client_seeds, pair, tokens=_TOKENS, gen_share=0.5,
           max_len=1 << 15),
    Target("imap-fetch", run_fetch, lambda: list(corpus_messages()), None, gen_share=0.0),
]
