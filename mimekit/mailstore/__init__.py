"""Mail stores (layer 3): Maildir++ and mbox, built on the message tree.

Work in progress: filled in by the mail-store work of issue 4.
"""

__all__: list[str] = []
