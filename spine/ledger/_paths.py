"""Where the ledger lives: ``ledger=`` argument, then ``SPINE_LEDGER``, then the default file.

The default is ``runs.sqlite3`` in the user's data directory for ``spine``, as platformdirs
names it: ``~/.local/share/spine`` on Linux (``$XDG_DATA_HOME/spine`` when set),
``~/Library/Application Support/spine`` on macOS, ``%LOCALAPPDATA%\\spine`` on Windows.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from spine.ledger._store import Ledger

__all__ = ["ENV_VAR", "OFF", "default_path", "open_ledger", "resolve_path"]

ENV_VAR = "SPINE_LEDGER"
OFF = "off"
FILENAME = "runs.sqlite3"


def default_path() -> Path:
    """The default ledger file (see the module docstring)."""
    import platformdirs

    return Path(platformdirs.user_data_dir("spine", appauthor=False)) / FILENAME


def resolve_path(ledger: str | os.PathLike[str] | None = None) -> Path | None:
    """The ledger file to use, or None when recording is turned off.

    ``ledger`` wins, then the ``SPINE_LEDGER`` environment variable, then :func:`default_path`.
    The value ``off`` (any case) turns the ledger off; ``~`` is expanded."""
    value: str | None = os.fspath(ledger) if ledger is not None else None
    if value is None or not value.strip():
        env = os.environ.get(ENV_VAR, "")
        value = env if env.strip() else None
    if value is None:
        return default_path()
    if value.strip().lower() == OFF:
        return None
    return Path(os.path.expanduser(value.strip()))


def open_ledger(
    ledger: Ledger | str | os.PathLike[str] | None = None,
    *,
    store_prompts: bool | None = None,
) -> Ledger | None:
    """The :class:`~spine.ledger.Ledger` to record into, or None when it is ``off``.

    ``ledger`` may be a ``Ledger`` (returned as is), a path, ``"off"``, or None (then
    ``SPINE_LEDGER``, then the default file). ``store_prompts`` defaults to True unless
    ``SPINE_LEDGER_PROMPTS=off``. Raises :class:`~spine.ledger.LedgerError` when the file
    cannot be used."""
    from spine.ledger._store import Ledger

    if isinstance(ledger, Ledger):
        return ledger
    path = resolve_path(ledger)
    if path is None:
        return None
    if store_prompts is None:
        store_prompts = os.environ.get("SPINE_LEDGER_PROMPTS", "").strip().lower() != OFF
    return Ledger(path, store_prompts=store_prompts)
