"""Transfer and header encodings: the lowest layer of mimekit.

Everything here works on bytes or ``str`` and never raises on malformed input:
problems are returned as :class:`~mimekit.Defect` records next to a
best-effort result. Caller mistakes (wrong types, impossible arguments) raise
``TypeError`` or ``ValueError`` at once.

* Charsets: :func:`lookup_charset`, :func:`decode_bytes`,
  :func:`decode_header_bytes`.
* RFC 2047 encoded words: :func:`decode_encoded_words`, :func:`encode_words`,
  :func:`needs_encoding`.
* Base64 (RFC 2045 section 6.8): :func:`decode_base64`,
  :class:`Base64Decoder`, :func:`encode_base64`.
* Quoted-printable (RFC 2045 section 6.7): :func:`decode_qp`,
  :class:`QPDecoder`, :func:`encode_qp`.
* uuencode (the ``x-uuencode`` transfer encoding): :func:`decode_uu`,
  :class:`UUDecoder`; uuencoded files inside text: :func:`find_uu`,
  :class:`UUBlock`.
* yEnc (files inside text, yEnc 1.3): :func:`find_yenc`, :class:`YEncBlock`,
  :func:`decode_yenc`, :func:`join_yenc` (multipart files),
  :class:`YEncJoinError`.
* IMAP modified UTF-7 mailbox names (RFC 3501 section 5.1.3):
  :func:`encode_imap_utf7`, :func:`decode_imap_utf7`.
"""

from ._base64 import Base64Decoder, decode_base64, encode_base64
from ._charset import decode_bytes, lookup_charset
from ._header_bytes import decode_header_bytes
from ._qp import QPDecoder, decode_qp, encode_qp
from ._rfc2047 import decode_encoded_words, encode_words, needs_encoding
from ._utf7 import decode_imap_utf7, encode_imap_utf7
from ._uu import UUBlock, UUDecoder, decode_uu, find_uu
from ._yenc import YEncBlock, YEncJoinError, decode_yenc, find_yenc, join_yenc

__all__ = [
    "UUBlock",
    "UUDecoder",
    "YEncBlock",
    "YEncJoinError",
    "decode_uu",
    "decode_yenc",
    "find_uu",
    "find_yenc",
    "join_yenc",
    "Base64Decoder",
    "QPDecoder",
    "decode_base64",
    "decode_bytes",
    "decode_encoded_words",
    "decode_imap_utf7",
    "decode_header_bytes",
    "decode_qp",
    "encode_base64",
    "encode_imap_utf7",
    "encode_qp",
    "encode_words",
    "lookup_charset",
    "needs_encoding",
]
