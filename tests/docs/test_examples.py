"""Every example in README.md, docs/*.md and spine/testing/README.md runs, as a reader would run it.

* Python blocks run in a fresh interpreter with ``SPINE_API_KEY`` / ``SPINE_BASE_URL`` pointing
  at a sandbox, in a folder holding the sample files the docs name, and pass ``mypy --strict``
  (one mypy run checks them all). A fragment marked ``setup NAME`` runs after the prelude of
  that name below (the objects its prose talks about); ``pytest`` and ``conftest`` blocks run
  under pytest in a small project.
* Shell blocks run in bash against that sandbox (or ``--sandbox``); a ``server`` block is started
  (with ``--port 0`` added), must print where it listens, and must stop cleanly on SIGTERM.
* Config files load through every entry point the docs name: ``Sandbox.from_config`` and
  ``spine sandbox --config`` for a sandbox config, pytest for a ``pyproject.toml``.

Blocks that cannot run say so in the Markdown (``<!-- doc-test: skip REASON -->``) and are
listed in :data:`SKIPPED`, so a new skip is a visible change here.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from spine.testing import Sandbox

from ._markdown import CODE_LANGUAGES, KINDS, PROSE_LANGUAGES, Block, all_blocks

pytestmark = pytest.mark.slow

BLOCKS = all_blocks()

# (document, first line of the block): the only blocks that do not run, each with its reason
# in the Markdown.
SKIPPED = {
    ("README.md",
     "make demo   # a real end-to-end run through the SDK against a local Spine sandbox"),
    ("docs/cli.md", "$ spine dag 23064ec3-8844-40e8-b32f-1a9d9a69b6fd"),
}

# Sample inputs the examples upload, in the folder each example runs in.
SAMPLE_FILES = {
    "acme/q1.csv": "month,revenue\nJan,10\n",
    "data.csv": "region,revenue\nEMEA,12\nAPAC,9\n",
    "sales.csv": "month,units\nJan,10\nFeb,12\n",
    "q1-sales.csv": "month,revenue\nJan,100\nFeb,120\nMar,90\n",
}

_SANDBOX_PRELUDE = """\
import hashlib

from spine import SpineClient
from spine.testing import Sandbox

sandbox = Sandbox(run_duration=0.3).start()
data = b"region,revenue\\nEMEA,12\\n"
with SpineClient(api_key=sandbox.api_key, base_url=sandbox.url) as _client:
    run_id = _client.runs.create("Summarise the sales", files=[("data.csv", data)]).run_id
"""

# The objects a fragment's prose talks about. Each ends with the sandbox it made still running;
# EPILOGUE stops it.
PRELUDES = {
    # "sandbox": a running Sandbox; run_id: one run created with the file `data`.
    "sandbox": _SANDBOX_PRELUDE,
    # "manual": a sandbox in manual mode with two running runs, run_id and other_run_id.
    "manual": """\
from spine import SpineClient
from spine.testing import Sandbox

sandbox = Sandbox(run_duration=None).start()
with SpineClient(api_key=sandbox.api_key, base_url=sandbox.url) as _client:
    run_id = _client.runs.create("One run").run_id
    other_run_id = _client.runs.create("Another run").run_id
""",
}
EPILOGUE = "\nsandbox.stop()\n"

PYTHON = [b for b in BLOCKS if b.language == "python" and b.kind not in ("skip",)]
SCRIPTS = [b for b in PYTHON if b.kind in (None, "setup")]
SHELL = [b for b in BLOCKS if b.language in ("sh", "bash", "console") and b.kind is None]
SERVERS = [b for b in BLOCKS if b.kind == "server"]
PYTEST_PROJECTS = [b for b in BLOCKS if b.kind in ("pytest", "conftest", "pyproject")]
SANDBOX_CONFIGS = [b for b in BLOCKS if b.kind == "sandbox-config"]
JSON = [b for b in BLOCKS if b.language == "json"]
# Files whose content is a documented example (items.jsonl...), written where examples run.
DOCUMENTED_FILES = {b.argument: b.code for b in BLOCKS if b.kind == "file"}


def _ids(blocks: list[Block]) -> list[str]:
    return [b.id for b in blocks]


def _source(block: Block) -> str:
    """What runs (and is type-checked) for a Python block."""
    if block.kind == "setup":
        return PRELUDES[block.argument] + "\n" + block.code + EPILOGUE
    return block.code


# ----------------------------------------------------------------------------- the inventory


def test_every_block_says_how_it_runs() -> None:
    problems = []
    for block in BLOCKS:
        if block.language not in CODE_LANGUAGES | PROSE_LANGUAGES:
            problems.append(f"{block.id}: unknown language {block.language!r}")
        if block.kind is not None and block.kind not in KINDS:
            problems.append(f"{block.id}: unknown directive {block.kind!r}")
        if block.kind == "setup" and block.argument not in PRELUDES:
            problems.append(f"{block.id}: no prelude named {block.argument!r}")
        if block.kind == "skip" and not block.argument:
            problems.append(f"{block.id}: a skip must give its reason")
        if block.language == "toml" and block.kind not in ("pyproject", "sandbox-config", "skip"):
            problems.append(f"{block.id}: say which entry point loads this TOML")
        if block.kind is not None and block.language in PROSE_LANGUAGES:
            problems.append(f"{block.id}: a directive on a block that is not code")
        if block.kind == "file" and (block.language != "json" or not block.argument):
            problems.append(f"{block.id}: a file directive names a file, on a json block")
    assert not problems, "\n".join(problems)
    skipped = {(b.path, b.first_line) for b in BLOCKS if b.kind == "skip"}
    assert skipped == SKIPPED
    # Every example was found: the documents have this many runnable blocks.
    assert len(SCRIPTS) >= 10 and len(SHELL) >= 3 and SERVERS and SANDBOX_CONFIGS


# ----------------------------------------------------------------------------- environment


@pytest.fixture(scope="module")
def docs_sandbox() -> Iterator[Sandbox]:
    with Sandbox(run_duration=0.3) as sandbox:
        yield sandbox


def _env(sandbox: Sandbox | None) -> dict[str, str]:
    env = dict(os.environ)
    # The `spine` and `python` a reader of this checkout would have: this interpreter's.
    bindir = str(Path(sys.executable).parent)
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    for name in ("PYTEST_ADDOPTS", "SPINE_LOG"):
        env.pop(name, None)
    env["TERM"] = "dumb"
    if sandbox is not None:
        env["SPINE_API_KEY"] = sandbox.api_key
        env["SPINE_BASE_URL"] = sandbox.url
    else:
        env.pop("SPINE_API_KEY", None)
        env.pop("SPINE_BASE_URL", None)
    return env


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name, text in {**SAMPLE_FILES, **DOCUMENTED_FILES}.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    # The run ledger of the examples stays in their folder, not in the user's data folder.
    monkeypatch.setenv("SPINE_LEDGER", str(tmp_path / "ledger.sqlite3"))
    return tmp_path


def _run(argv: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=180, check=False,
        stdin=subprocess.DEVNULL,
    )


def _report(block: Block, result: subprocess.CompletedProcess[str]) -> str:
    return (f"{block.id} exited {result.returncode}\n--- code\n{block.code}\n"
            f"--- stdout\n{result.stdout[-3000:]}\n--- stderr\n{result.stderr[-3000:]}")


# ----------------------------------------------------------------------------- Python


@pytest.mark.parametrize("block", SCRIPTS, ids=_ids(SCRIPTS))
def test_python_example_runs(block: Block, docs_sandbox: Sandbox, workdir: Path) -> None:
    script = workdir / "example.py"
    script.write_text(_source(block))
    result = _run([sys.executable, str(script)], workdir, _env(docs_sandbox))
    assert result.returncode == 0, _report(block, result)


@pytest.fixture(scope="module")
def mypy_errors(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    """``mypy --strict`` over every Python block at once: errors by block id."""
    pytest.importorskip("mypy")
    folder = tmp_path_factory.mktemp("typed")
    names: dict[str, str] = {}
    for index, block in enumerate(PYTHON):
        name = f"test_doc_{index}.py" if block.kind == "pytest" else f"doc_{index}.py"
        if block.kind == "conftest":
            sub = folder / f"conftest_{index}"
            sub.mkdir()
            name = f"conftest_{index}/conftest.py"
        (folder / name).write_text(_source(block))
        names[name] = block.id
    result = _run(
        [sys.executable, "-m", "mypy", "--strict", "--show-error-codes", "--no-error-summary",
         "--cache-dir", str(folder / ".mypy_cache"), "--python-version", "3.11",
         *sorted(names)],
        folder, _env(None),
    )
    errors: dict[str, list[str]] = {block_id: [] for block_id in names.values()}
    for line in result.stdout.splitlines():
        file = line.split(":", 1)[0]
        if file in names:
            errors[names[file]].append(line)
        elif line.strip():
            errors.setdefault("<mypy>", []).append(line)
    assert result.returncode in (0, 1), result.stdout + result.stderr
    return errors


@pytest.mark.parametrize("block", PYTHON, ids=_ids(PYTHON))
def test_python_example_type_checks(block: Block, mypy_errors: dict[str, list[str]]) -> None:
    assert not mypy_errors.get("<mypy>"), "\n".join(mypy_errors["<mypy>"])
    assert mypy_errors[block.id] == [], "\n".join(mypy_errors[block.id]) + "\n" + _source(block)


_PROBE = """\
def test_probe(spine_sandbox: object) -> None:
    assert spine_sandbox is not None
"""


@pytest.mark.parametrize("block", PYTEST_PROJECTS, ids=_ids(PYTEST_PROJECTS))
def test_pytest_example_runs(block: Block, workdir: Path) -> None:
    """Test modules, a conftest and a pyproject.toml from the docs, in a pytest project of their
    own; an ini option pytest does not know is an error."""
    if block.kind == "pytest":
        (workdir / "test_example.py").write_text(block.code)
        (workdir / "pytest.ini").write_text("[pytest]\n")
    elif block.kind == "conftest":
        (workdir / "conftest.py").write_text(block.code)
        (workdir / "test_probe.py").write_text(_PROBE)
        (workdir / "pytest.ini").write_text("[pytest]\n")
    else:
        (workdir / "pyproject.toml").write_text(block.code)
        (workdir / "test_probe.py").write_text(_PROBE)
    result = _run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "-W", "error::pytest.PytestConfigWarning", str(workdir)],
        workdir, _env(None),
    )
    assert result.returncode == 0, _report(block, result)
    assert re.search(r"\b[1-9]\d* passed\b", result.stdout), _report(block, result)


@pytest.mark.parametrize("block", JSON, ids=_ids(JSON))
def test_json_example_parses(block: Block) -> None:
    """A JSON example (one document per line, as JSON Lines) is valid JSON."""
    lines = [line for line in block.code.splitlines() if line.strip()]
    assert lines
    for line in lines:
        json.loads(line)


# ----------------------------------------------------------------------------- shell


@pytest.mark.parametrize("block", SHELL, ids=_ids(SHELL))
def test_shell_example_runs(block: Block, docs_sandbox: Sandbox, workdir: Path) -> None:
    result = _run(["bash", "-euo", "pipefail", "-c", block.shell_script()], workdir,
                  _env(docs_sandbox))
    assert result.returncode == 0, _report(block, result)


def _argv(block: Block) -> list[str]:
    """A server block's one command, with ``--port 0`` added so that it never collides."""
    script = block.shell_script().replace("\\\n", " ")
    argv = shlex.split(script, comments=True)
    assert argv and argv[0] in ("spine", "python"), block.id
    return [*argv, "--port", "0"]


def _serve_and_stop(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[str, str, int]:
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return first + out, err, proc.returncode


@pytest.mark.parametrize("block", SERVERS, ids=_ids(SERVERS))
def test_server_example_starts_and_stops(block: Block, workdir: Path) -> None:
    out, err, code = _serve_and_stop(_argv(block), workdir, _env(None))
    assert out.startswith("Spine sandbox listening on http://127.0.0.1:"), out + err
    assert code == 0, out + err


# ----------------------------------------------------------------------------- config files


@pytest.mark.parametrize("block", SANDBOX_CONFIGS, ids=_ids(SANDBOX_CONFIGS))
def test_sandbox_config_loads_through_every_entry_point(block: Block, workdir: Path) -> None:
    """The guide's config file works with ``Sandbox.from_config`` and with ``spine sandbox
    --config`` alike (the same loader), and both apply it the same way."""
    config = workdir / "sandbox.toml"
    config.write_text(block.code)
    with Sandbox.from_config(config, port=0) as sandbox:
        assert sandbox.url.startswith("http://")
        loaded = [repr(f) for f in sandbox.faults]
    argv = ["spine", "sandbox", "--config", str(config), "--port", "0"]
    out, err, code = _serve_and_stop(argv, workdir, _env(None))
    assert out.startswith("Spine sandbox listening on http://127.0.0.1:"), out + err
    assert code == 0, out + err
    assert loaded  # the documented file has faults; both entry points read them
