"""``python -m rightswatch``: the same as the ``rightswatch`` command."""

from __future__ import annotations

from rightswatch.cli import main

main()
