"""``make demo`` (examples/demo.py) tells one consistent story: its figures agree with each
other, names are whole words, and nothing in a sandbox run points at the real service."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROMPT = "Create a Q1 performance report with charts from the attached sales data"


@pytest.fixture(scope="module")
def demo_output(tmp_path_factory: pytest.TempPathFactory) -> str:
    out = tmp_path_factory.mktemp("demo")
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "demo.py"), "--run-duration", "0.6",
         "--out", str(out)],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def _section(text: str, start: str) -> list[str]:
    """The indented lines right after the line that starts with ``start``."""
    lines = text.splitlines()
    index = next(i for i, line in enumerate(lines) if line.startswith(start))
    body = []
    for line in lines[index + 1:]:
        if not line.startswith("  "):
            break
        body.append(line)
    return body


def test_progress_ends_where_the_task_tree_is(demo_output: str) -> None:
    progress = [tuple(map(int, m)) for m in re.findall(r"progress: (\d+)/(\d+) tasks",
                                                        demo_output)]
    assert len(progress) >= 2
    assert all(done <= total for done, total in progress)
    assert [d for d, _ in progress] == sorted(d for d, _ in progress)  # never goes back
    summary = re.search(r"task tree: (\d+) tasks under (\d+) root tasks, (\d+) completed"
                        r" \((\d+) root tasks completed, (\d+) not\)", demo_output)
    assert summary is not None, demo_output
    total, roots, completed, roots_done, roots_not = map(int, summary.groups())
    tree = _section(demo_output, "task tree:")
    assert len(tree) == total
    assert sum(1 for line in tree if line.startswith("  - ")) == roots == roots_done + roots_not
    assert sum(1 for line in tree if "[completed]" in line) == completed
    assert progress[-1] == (completed, total)  # the last figures shown are the tree's
    assert "run completed" in demo_output and completed == total


def test_canvas_figures_agree(demo_output: str) -> None:
    header = re.search(r"canvas '.*': (\d+) blocks, (\d+) edges", demo_output)
    assert header is not None
    blocks, edges = map(int, header.groups())
    body = _section(demo_output, header.group(0))
    assert sum(1 for line in body if line.startswith("  [")) == blocks
    assert sum(1 for line in body if " -> " in line) == edges


def test_artifacts_listed_saved_and_named_in_the_output_agree(demo_output: str) -> None:
    saved = re.findall(r"^  \w+\s+(\S+) \((\d+) bytes\)$", demo_output, re.M)
    assert saved
    final = demo_output.split("--- final output", 1)[1].split("-" * 67, 1)[0]
    for name, size in saved:
        assert f"- {name}" in final
        assert int(size) > 0


def test_names_are_whole_words(demo_output: str) -> None:
    words = set(re.findall(r"[A-Za-z0-9]+", PROMPT))
    canvas = re.search(r"canvas '(.*)': \d+ blocks", demo_output)
    assert canvas is not None
    for word in re.findall(r"[A-Za-z0-9]+", canvas.group(1)):
        assert word in words, f"{word!r} of {canvas.group(1)!r} is not a word of the prompt"
    assert canvas.group(1).rstrip("…").split()[-1] not in ("from", "with", "the", "of")
    for name, _ in re.findall(r"^  \w+\s+(\S+) \((\d+) bytes\)$", demo_output, re.M):
        stem = name.rsplit(".", 1)[0].split("_", 1)[1]  # "Report_<title words>"
        for word in stem.split("_"):
            assert word in words, f"{word!r} of {name!r} is cut"


def test_nothing_points_at_the_real_service(demo_output: str) -> None:
    assert "getspine.ai" not in demo_output
    assert re.search(r"http://127\.0\.0\.1:\d+/v1/canvas/[0-9a-f-]+/dag", demo_output)
