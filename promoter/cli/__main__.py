"""``python -m promoter.cli``: the ``promoter`` command."""

from promoter.cli import main

main()
