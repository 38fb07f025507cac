"""The public surface: what `spine` exports, that it matches the documented names, and that no
class of the generated low-level client leaks into it."""

from __future__ import annotations

import inspect
import subprocess
import sys
import typing
from typing import Any

import spine

DOCUMENTED = {
    "SpineClient", "AsyncSpineClient", "RunHandle", "AsyncRunHandle", "RetryPolicy", "Template",
    "BlockType", "RunStatus", "SpineError", "SpineConnectionError", "SpineTimeoutError",
    "SpineAPIError", "BadRequestError", "AuthenticationError", "NotFoundError", "RateLimitError",
    "ServerError", "WebhookSignatureError", "CanvasDAG", "CanvasEdge", "CanvasNode",
    "CreateRunResponse", "GetRunResponse", "RunArtifact", "RunError", "RunMetadata",
    "RunProgress", "RunResult", "TaskNode", "TaskTree", "WebhookEvent", "__version__",
}  # fmt: skip


def test_all_is_sorted_and_complete() -> None:
    assert spine.__all__ == sorted(spine.__all__)
    assert set(spine.__all__) == set(spine._EXPORTS) | {"__version__"}
    assert set(spine.__all__) >= DOCUMENTED
    for name in spine.__all__:
        assert getattr(spine, name) is not None


def _types_in(annotation: Any) -> list[Any]:
    found = [annotation]
    for arg in typing.get_args(annotation):
        found.extend(_types_in(arg))
    return found


def test_no_generated_class_leaks_into_a_public_signature() -> None:
    leaks: list[str] = []
    for name in spine.__all__:
        obj = getattr(spine, name)
        if not inspect.isclass(obj):
            continue
        members = [("__init__", obj.__init__)] + [
            (n, m) for n, m in inspect.getmembers(obj) if not n.startswith("_") and callable(m)
        ]
        for member_name, member in members:
            try:
                hints = typing.get_type_hints(member)
            except (TypeError, NameError):
                continue
            for hint in hints.values():
                for t in _types_in(hint):
                    if getattr(t, "__module__", "").startswith("_spine_openapi"):
                        leaks.append(f"{name}.{member_name}: {t}")
        if hasattr(obj, "model_fields"):
            for field_name, field in obj.model_fields.items():
                for t in _types_in(field.annotation):
                    if getattr(t, "__module__", "").startswith("_spine_openapi"):
                        leaks.append(f"{name}.{field_name}: {t}")
    assert leaks == []


def test_client_surfaces_are_twins() -> None:
    """Every public method of the sync client's resources exists on the async client's."""
    sync = spine.SpineClient(api_key="sk_spine_x")
    asyn = spine.AsyncSpineClient(api_key="sk_spine_x")
    for resource in ("runs", "canvas", "webhooks"):
        s, a = getattr(sync, resource), getattr(asyn, resource)
        s_methods = {n for n in dir(s) if not n.startswith("_")}
        a_methods = {n for n in dir(a) if not n.startswith("_")}
        assert s_methods == a_methods, resource
        for n in s_methods:
            assert inspect.signature(getattr(s, n)).parameters.keys() == (
                inspect.signature(getattr(a, n)).parameters.keys()
            )
    sync.close()


def test_import_spine_loads_nothing_heavy() -> None:
    heavy = "('httpx', 'pydantic', 'tenacity', '_spine_openapi')"
    code = f"import sys, spine; print(','.join(m for m in {heavy} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
