"""Mail stores (layer 3): Maildir++ and mbox, built on the message tree.

* :class:`Maildir`: one file per message (``tmp/ new/ cur/``), atomic
  delivery, flags in the file name, Maildir++ folders; shared safely with
  Dovecot, Python's ``mailbox`` and other programs.
* :class:`Mbox`: one file of messages; reads mboxrd, mboxo and mboxcl2,
  writes mboxrd; dot-lock plus fcntl locking.

Both read messages lazily, in bounded memory, as :func:`mimekit.parse_file`
does, and accept a :class:`~mimekit.Message`, bytes or a binary file in
``add()``.
"""

from ._locking import LockTimeoutError
from ._maildir import Maildir
from ._mbox import Mbox

__all__ = ["LockTimeoutError", "Maildir", "Mbox"]
