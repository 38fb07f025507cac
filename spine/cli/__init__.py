"""The ``spine`` command line: ``spine --help``.

Layout: :mod:`._main` parses arguments and turns errors into one line and an exit status
(:mod:`._errors`); :mod:`._commands` runs a subcommand on the public SDK API; :mod:`._render`
draws progress bars, trees and graphs. ``spine --help`` imports only the standard library.
"""

from spine.cli._main import main

__all__ = ["main"]
