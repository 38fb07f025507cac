"""Loading the modules behind ``spine``'s public names (``spine.__getattr__``).

The first name a process uses from :mod:`spine` usually loads httpx, pydantic and the response
models: about 32,000 objects the cyclic garbage collector tracks, almost all of which live as
long as the process. While they are made, the collector walks the young ones over and over
(about 70 young and 7 middle collections, 9 to 14 ms of CPU on the benchmark machine: some 6 %
of a first ``runs.get`` from process start, ``make bench``) and frees a few hundred.

So a load that brings in httpx or pydantic (in practice the first) runs with the collector
paused, and what it made is then filed with the old objects: ``gc.freeze()`` followed at once by
``gc.unfreeze()`` moves every tracked object into the oldest generation without walking it
(CPython 3.11 to 3.13). The collector is switched back on however the import ends. The one
effect a program can see: cyclic garbage made before and during that load, not yet collected,
is freed by the next full collection instead of a young one. Nothing is lost, and
``gc.collect()`` frees it as always.

This is done only when nobody else can be touching the collector, and skipped otherwise:
the collector is on, the process froze nothing itself (``unfreeze`` would release it), no other
Python thread runs (one could switch the collector off, or freeze, during the load), the
interpreter keeps generations (CPython 3.11 to 3.13 with the GIL: a free-threaded build walks the
heap to freeze, and 3.14's incremental collector files objects differently), and httpx or
pydantic is not loaded yet. Once both are, every name loads with a plain import.
"""

from __future__ import annotations

import gc
import importlib
import sys
from types import ModuleType

__all__ = ["load"]

def _collector_is_ours() -> bool:
    if sys.version_info >= (3, 14) or sys.implementation.name != "cpython":
        return False
    gil_enabled = getattr(sys, "_is_gil_enabled", None)  # 3.13: False on a free-threaded build
    if gil_enabled is not None and not gil_enabled():
        return False
    # Every thread with a Python state, those started with ``_thread`` included (which
    # ``threading.active_count()`` does not see).
    alone = len(sys._current_frames()) == 1
    return alone and gc.isenabled() and gc.get_freeze_count() == 0


def load(name: str) -> ModuleType:
    """``importlib.import_module(name)``, with the collector paused while it loads httpx or
    pydantic, as the module documentation says."""
    modules = sys.modules
    if name in modules or ("httpx" in modules and "pydantic" in modules):
        return importlib.import_module(name)
    if not _collector_is_ours():
        return importlib.import_module(name)
    gc.disable()
    try:
        return importlib.import_module(name)
    finally:
        gc.freeze()
        gc.unfreeze()
        gc.enable()
