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

    try:
        value = getattr(importlib.import_module(module), "main" if name == "serve" else name)
    except AttributeError as exc:
        # Leaving this hook, an AttributeError would become "cannot import name ..." in a
        # `from spine.testing import ...` and hide the real failure (say, an enum member the
        # sandbox names that the spec no longer has).
        raise _load_failure(name, module, exc) from exc
    globals()[name] = value
    return value


def _load_failure(name: str, module: str, exc: AttributeError) -> ImportError:
    """An ImportError that says what failed inside ``module`` and where (its innermost line in
    the spine package, rather than the enum machinery's lookup)."""
    import traceback
    from pathlib import Path

    package = Path(__file__).resolve().parent.parent
    ours = [
        frame for frame in traceback.extract_tb(exc.__traceback__)
        if Path(frame.filename).resolve().is_relative_to(package)
        and Path(frame.filename).resolve() != Path(__file__).resolve()
    ]  # fmt: skip
    at = f" at {ours[-1].filename}:{ours[-1].lineno}" if ours else ""
    return ImportError(
        f"spine.testing.{name} could not be loaded: AttributeError: {exc}{at} "
        f"(while importing {module})",
        name=module,
    )


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
