"""``mimekit serve``: a whole local mail system (SMTP in, queue out, Maildir).

The I/O-adapter layer: it may import every other layer.
"""

from ._app import MailSystem, ServeOptions, serve
from ._users import UserDB

__all__ = ["MailSystem", "ServeOptions", "UserDB", "serve"]
