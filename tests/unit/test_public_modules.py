"""The public alias modules, and that the light modules stay light at import time."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import spine._enums
import spine._exceptions
import spine._models
import spine.enums
import spine.exceptions
import spine.models

SPINE_DIR = Path(spine._enums.__file__).parent


@pytest.mark.parametrize(
    ("public", "private"),
    [
        (spine.enums, spine._enums),
        (spine.exceptions, spine._exceptions),
        (spine.models, spine._models),
    ],
)
def test_aliases_re_export_the_same_objects(public: object, private: object) -> None:
    names = public.__all__  # type: ignore[attr-defined]
    assert len(set(names)) == len(names)  # the order is checked by ruff (RUF022)
    for name in names:
        assert getattr(public, name) is getattr(private, name), name


def test_documented_imports() -> None:
    from spine.enums import TERMINAL_STATUSES, RunStatus
    from spine.exceptions import NotFoundError, SpineAPIError
    from spine.models import GetRunResponse

    assert RunStatus.FAILED in TERMINAL_STATUSES
    assert issubclass(NotFoundError, SpineAPIError)
    assert GetRunResponse.__module__ == "spine._models"


def _defined_in(modules: tuple[object, ...], base: type) -> set[str]:
    """The public classes (subclasses of ``base``) that ``modules`` define themselves."""
    return {
        name
        for module in modules
        for name, value in vars(module).items()
        if isinstance(value, type)
        and issubclass(value, base)
        and value.__module__ == module.__name__  # type: ignore[attr-defined]
        and not name.startswith("_")
    }


def test_public_exceptions_cover_the_tree() -> None:
    # RedactedError only stands in for a library's exception in a chain of causes (its text
    # may hold a secret); nobody catches it, so it is not exported.
    expected = _defined_in((spine._exceptions,), BaseException) - {"RedactedError"}
    assert len(expected) >= 16
    assert set(spine.exceptions.__all__) == expected


def test_public_models_cover_every_model() -> None:
    import pydantic

    import spine._canvas_models
    import spine._webhooks

    modules = (spine._models, spine._canvas_models, spine._webhooks)
    expected = _defined_in(modules, pydantic.BaseModel)
    assert len(expected) >= 13
    assert set(spine.models.__all__) == expected


# Import the modules without spine/__init__.py (which may pull in the clients) and report which
# heavy libraries they loaded.
_PROBE = """
import importlib, json, sys, types
pkg = types.ModuleType("spine")
pkg.__path__ = [{path!r}]
sys.modules["spine"] = pkg
for name in {modules!r}:
    importlib.import_module(name)
print(json.dumps(sorted(m for m in ("httpx", "tenacity", "pydantic") if m in sys.modules)))
"""


@pytest.mark.parametrize(
    ("modules", "allowed"),
    [
        (["spine._enums", "spine._exceptions", "spine._log"], set()),
        (["spine._retry"], set()),
        (["spine._models", "spine.models", "spine.enums", "spine.exceptions"], {"pydantic"}),
        (["spine._poller", "spine._webhooks", "spine._files"], {"pydantic"}),
    ],
)
def test_modules_import_light(modules: list[str], allowed: set[str]) -> None:
    code = _PROBE.format(path=str(SPINE_DIR), modules=modules)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    loaded = set(json.loads(out.stdout.strip().splitlines()[-1]))
    assert loaded <= allowed, f"{modules} imported {loaded - allowed}"


def test_type_checkers_see_the_public_names_and_nothing_else(tmp_path: Path) -> None:
    """``mypy --strict`` (what CI has) reads the public names through every route, with their
    real types, and a star import binds nothing but them (not ``TYPE_CHECKING``, not the
    table)."""
    pytest.importorskip("mypy")
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import spine\n"
        "from spine import NotFoundError, CanvasDAG\n"
        "from spine.exceptions import *\n"
        "from spine.models import *\n"
        "reveal_type(spine.GetRunResponse)\n"
        "reveal_type(SpineError)\n"
        "reveal_type(WebhookEvent)\n"
        "reveal_type(NotFoundError)\n"
        "reveal_type(CanvasDAG)\n"
        "reveal_type(TYPE_CHECKING)\n"
        "reveal_type(_PUBLIC)\n"
        "reveal_type(spine.PUBLIC)\n"
    )
    out = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-error-summary", "--cache-dir",
         str(tmp_path / ".mypy_cache"), str(probe)],
        capture_output=True, text=True, timeout=300, check=False, cwd=tmp_path,
    ).stdout
    lines = [line.split(": ", 1)[1] for line in out.splitlines() if ": " in line]
    assert 'note: Revealed type is "def' in "\n".join(lines[:2])
    expected = (
        ("GetRunResponse", "spine._models"),
        ("SpineError", "spine._exceptions"),
        ("WebhookEvent", "spine._webhooks"),
        ("NotFoundError", "spine._exceptions"),
        ("CanvasDAG", "spine._canvas_models"),
    )
    for name, module in expected:
        assert any(f"-> {module}.{name}\"" in line for line in lines), (name, out)
    assert 'error: Name "TYPE_CHECKING" is not defined  [name-defined]' in out, out
    assert 'error: Name "_PUBLIC" is not defined  [name-defined]' in out, out
    assert 'Module "spine" does not explicitly export attribute "PUBLIC"' in out, out
