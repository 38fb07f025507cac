"""The ``spine.testing`` facade loads the server lazily; a failure inside the server's modules
must reach the user as it is, not as "cannot import name 'ManualClock' from 'spine.testing'"."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import spine

PACKAGE = Path(spine.__file__).resolve().parent


def _copy_with(tmp_path: Path, relative: str, extra_line: str) -> Path:
    """A copy of the spine package whose ``relative`` module ends with ``extra_line``."""
    copy = tmp_path / "spine"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    target = copy / relative
    target.write_text(target.read_text(encoding="utf-8") + f"\n{extra_line}\n", encoding="utf-8")
    return target


def _import(tmp_path: Path, statement: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    return subprocess.run(
        [sys.executable, "-c", f"import spine; assert spine.__file__.startswith({str(tmp_path)!r})"
                               f"; {statement}"],
        env=env, capture_output=True, text=True, check=False, cwd=tmp_path,
    )  # fmt: skip


def test_an_attribute_error_inside_the_sandbox_is_reported_with_its_cause(
    tmp_path: Path,
) -> None:
    """The case of a block type removed from the spec while the sandbox still named its enum
    member: the AttributeError and its line, not a misleading ImportError about ManualClock."""
    target = _copy_with(
        tmp_path, "testing/_server/_runs.py", "_STALE = TaskType.NO_SUCH_MEMBER"
    )
    line = len(target.read_text(encoding="utf-8").splitlines())
    result = _import(tmp_path, "from spine.testing import ManualClock")
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError: spine.testing.ManualClock could not be loaded: "
                           "AttributeError: NO_SUCH_MEMBER at "), result.stderr  # fmt: skip
    assert f"_runs.py:{line} (while importing spine.testing._server._sandbox)" in last
    assert "The above exception was the direct cause" in result.stderr  # the cause is chained
    assert "cannot import name" not in result.stderr


def test_other_errors_inside_the_sandbox_pass_through_unchanged(tmp_path: Path) -> None:
    _copy_with(tmp_path, "testing/_server/_faults.py", "import no_such_module_for_spine")
    result = _import(tmp_path, "from spine.testing import Fault")
    assert result.stderr.strip().splitlines()[-1] == (
        "ModuleNotFoundError: No module named 'no_such_module_for_spine'"
    )


def test_an_unknown_name_is_still_an_attribute_error() -> None:
    import spine.testing

    assert not hasattr(spine.testing, "NoSuchThing")
    assert spine.testing.ManualClock.__name__ == "ManualClock"
