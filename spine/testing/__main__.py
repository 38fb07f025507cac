"""``python -m spine.testing``: serve a sandbox from the shell (the same as ``spine sandbox``)."""

from __future__ import annotations

import sys

from spine.testing._server._main import main

if __name__ == "__main__":
    sys.exit(main())
