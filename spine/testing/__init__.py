"""``spine.testing``: a local server that behaves like the Spine API on the wire.

Spine runs cost money and take minutes to hours; the sandbox runs the whole flow offline in
seconds. Start one from Python::

    from spine.testing import Sandbox

    with Sandbox() as sandbox:
        client = spine.SpineClient(api_key=sandbox.api_key, base_url=sandbox.url)
        ...

from pytest (the ``spine_sandbox``, ``spine_client`` and ``async_spine_client`` fixtures are
registered automatically), or from the command line: ``spine sandbox --port 8765`` (or
``python -m spine.testing``). See ``spine/testing/README.md`` for the full guide.

Importing this package is cheap: the server is only imported when first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from spine.testing._server._faults import Fault, FaultList, RequestRecord
    from spine.testing._server._main import main as serve
    from spine.testing._server._sandbox import ManualClock, Sandbox, UploadedFile

__all__ = [
    "Fault",
    "FaultList",
    "ManualClock",
    "RequestRecord",
    "Sandbox",
    "UploadedFile",
    "serve",
]

_LAZY = {
    "Sandbox": "spine.testing._server._sandbox",
    "ManualClock": "spine.testing._server._sandbox",
    "UploadedFile": "spine.testing._server._sandbox",
    "Fault": "spine.testing._server._faults",
    "FaultList": "spine.testing._server._faults",
    "RequestRecord": "spine.testing._server._faults",
    "serve": "spine.testing._server._main",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'spine.testing' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), "main" if name == "serve" else name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
