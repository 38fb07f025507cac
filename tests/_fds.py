"""What files this process has open, for tests that prove the SDK closes what it opened."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def open_paths() -> list[str]:
    """The target of every open descriptor of this process (Linux ``/proc``). Elsewhere the
    calling test is skipped at this point: a check against an empty list could not fail."""
    fds = Path("/proc/self/fd")
    if not fds.is_dir():
        pytest.skip("cannot list this process's open files here (no /proc/self/fd)")
    paths = []
    for fd in fds.iterdir():
        try:
            paths.append(os.readlink(fd))
        except OSError:  # closed since the listing (the listing's own descriptor)
            continue
    return paths
