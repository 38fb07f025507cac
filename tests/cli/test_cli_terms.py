"""Errors said in the command line's terms: options and environment variables, never Python
arguments; option and config-file errors name the option or the file's key; advice about keys
fits the API the command talks to."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from spine.cli._errors import CLI_TERMS, cli_terms
from spine.testing import Sandbox

from .conftest import KEY, child_env, run_spine, spine_command

RUN_ID = "550e8400-e29b-41d4-a716-446655440000"
PYTHON_WORDS = ("base_url", "api_key argument", "allow_http", "wait()", "refresh()")


def test_the_table_leaves_no_python_words() -> None:
    for python, _shell in CLI_TERMS:
        said = cli_terms(f"Something went wrong. {python}.")
        assert not any(word in said for word in PYTHON_WORDS), said


def test_a_refused_connection_names_the_option() -> None:
    result = run_spine("status", RUN_ID, "--base-url", "http://127.0.0.1:9",
                       env={"SPINE_API_KEY": KEY})
    assert result.code == 8, result.stderr
    assert "--base-url" in result.stderr and "SPINE_BASE_URL" in result.stderr
    assert not any(word in result.stderr for word in PYTHON_WORDS), result.stderr


def test_a_refused_key_names_the_variable(env: dict[str, str]) -> None:
    result = run_spine("status", RUN_ID, env={**env, "SPINE_API_KEY": "sk_spine_wrong_0123456"})
    assert result.code == 6, result.stderr
    assert "SPINE_API_KEY environment variable" in result.stderr
    assert "api_key argument" not in result.stderr


@pytest.mark.parametrize("command", [("status", RUN_ID), ("runs", "resume")])
def test_a_missing_key_for_a_sandbox_does_not_point_to_the_platform(
    command: tuple[str, ...], sandbox: Sandbox, tmp_path: Path
) -> None:
    extra = ("--ledger", str(tmp_path / "l.db")) if command[0] == "runs" else ()
    result = run_spine(*command, *extra, env={"SPINE_BASE_URL": sandbox.url})
    assert result.code == 6, result.stderr
    assert "platform.getspine.ai" not in result.stderr, result.stderr
    assert sandbox.url in result.stderr and "prints its key" in result.stderr
    real = run_spine(*command, *extra)
    assert real.code == 6 and "platform.getspine.ai/keys" in real.stderr


@pytest.mark.parametrize(
    ("value", "said"),
    [("-1", "'-1'"), ("abc", "'abc'"), ("inf", "'inf'")],
)
def test_sandbox_run_duration_errors_name_the_option(value: str, said: str) -> None:
    result = run_spine("sandbox", "--run-duration", value)
    assert result.code == 2, result.stderr
    assert result.stderr.startswith("usage:") or "spine sandbox: error:" in result.stderr
    assert f"--run-duration must be a number of seconds >= 0, or 'manual', got {said}" in (
        result.stderr), result.stderr
    assert "could not convert" not in result.stderr and "None for manual" not in result.stderr


@pytest.mark.parametrize("value", ['"abc"', '"3"', "-2", "true"])
def test_sandbox_config_run_duration_errors_name_the_file_and_key(
    value: str, tmp_path: Path
) -> None:
    config = tmp_path / "sandbox.toml"
    config.write_text(f"run_duration = {value}\n")
    result = run_spine("sandbox", "--config", str(config))
    assert result.code == 2, result.stderr
    assert f"{config}: run_duration" in result.stderr, result.stderr
    assert "could not convert" not in result.stderr


def test_sandbox_banner_exports_the_url_and_the_key() -> None:
    proc = subprocess.Popen([*spine_command(), "sandbox", "--port", "0"], env=child_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("Press Ctrl-C"):
                break
    finally:
        proc.terminate()
        proc.communicate(timeout=20)
    banner = "".join(lines)
    url = lines[0].split()[-1]
    assert f"export SPINE_BASE_URL={url} SPINE_API_KEY=sk_spine_sandbox" in banner, banner


def test_sandbox_port_in_use_says_which_command() -> None:
    with Sandbox() as box:
        result = run_spine("sandbox", "--port", str(box.port))
    assert result.code == 1
    assert result.stderr.startswith("spine sandbox: error: cannot serve on"), result.stderr


def test_contract_check_without_its_packages_names_them() -> None:
    code = (
        "import sys; sys.modules['jsonschema'] = None; sys.modules['yaml'] = None\n"
        "from spine.cli import main\n"
        "sys.exit(main(['contract-check', '--sandbox']))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], env=child_env(), capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 1, result.stderr
    assert "pip install 'jsonschema>=4.20' 'PyYAML>=6'" in result.stderr, result.stderr
    assert "spine-python[contract]" not in result.stderr


def test_contract_check_on_a_sandbox_does_not_speak_of_credits(env: dict[str, str]) -> None:
    result = run_spine("contract-check", env=env)
    assert result.code == 2, result.stderr
    assert "--allow-create" in result.stderr and "credits" not in result.stderr
