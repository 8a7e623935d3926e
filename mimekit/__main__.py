"""``python -m mimekit`` is the ``mimekit`` command."""

from .cli import main

raise SystemExit(main())
