"""What files this process has open, for tests that prove the SDK closes what it opened."""

from __future__ import annotations

import os
from pathlib import Path


def open_paths() -> list[str]:
    """The target of every open descriptor of this process (Linux ``/proc``; empty elsewhere,
    so a check against it cannot fail there: such tests skip off Linux)."""
    fds = Path("/proc/self/fd")
    if not fds.is_dir():
        return []
    paths = []
    for fd in fds.iterdir():
        try:
            paths.append(os.readlink(fd))
        except OSError:  # closed since the listing (the listing's own descriptor)
            continue
    return paths
