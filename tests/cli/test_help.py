"""``spine --help`` is fast because ``spine.cli`` imports nothing heavy; main() in-process."""

from __future__ import annotations

import subprocess
import sys

import pytest

from spine.cli._main import EXIT_CODES, build_parser, main

from .conftest import child_env, run_spine, spine_command

HEAVY = ("httpx", "pydantic", "_spine_openapi", "tenacity", "spine._client", "spine._models")


def test_help_imports_nothing_heavy() -> None:
    code = (
        "import sys, spine.cli._main as c; c.build_parser().format_help();"
        f"print([m for m in {HEAVY!r} if m in sys.modules])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=child_env()
    ).stdout
    assert out.strip() == "[]"


def test_help_text() -> None:
    result = run_spine("--help")
    assert result.code == 0
    for command in ("run", "status", "wait", "download", "dag", "tasks", "sandbox"):
        assert f"    {command} " in result.stdout
    assert "SPINE_API_KEY" in result.stdout and "SPINE_BASE_URL" in result.stdout
    for code in EXIT_CODES:
        assert f"\n  {code:<4} " in result.stdout


def test_no_command_prints_help_and_exits_2() -> None:
    result = run_spine()
    assert result.code == 2
    assert result.stdout.startswith("usage: spine")


def test_version() -> None:
    from spine import __version__

    result = run_spine("--version")
    assert (result.code, result.stdout) == (0, f"spine {__version__}\n")


def test_main_in_process(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    assert "exit codes:" in capsys.readouterr().out
    assert main(["run"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "spine run: error:" in err


def test_parser_defaults() -> None:
    args = build_parser().parse_args(["run", "hello"])
    assert args.wait is True and args.timeout == 900.0 and args.download is None
    assert args.template is None and args.block == [] and args.file == []
    assert build_parser().parse_args(["run", "x", "--timeout", "none"]).timeout is None
    assert build_parser().parse_args(["dag", "c"]).format == "tree"


def test_python_dash_m_spine() -> None:
    for module in ("spine", "spine.cli"):
        result = subprocess.run(
            [sys.executable, "-m", module, "status", ".."],
            capture_output=True,
            text=True,
            env=child_env({"SPINE_API_KEY": "sk_spine_x"}),
            check=False,
        )
        assert result.returncode == 2, result.stderr  # one set of classes, however started
    assert spine_command()
