"""``python -m spine.cli``: the ``spine`` command line."""

import sys

from spine.cli._main import main

sys.exit(main())
