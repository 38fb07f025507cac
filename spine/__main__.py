"""``python -m spine``: the ``spine`` command line (see ``spine --help``)."""

from __future__ import annotations

import sys

from spine.cli import main

if __name__ == "__main__":
    sys.exit(main())
