"""The live progress bar, seen through a real pseudo-terminal (stderr on a pty, stdout a pipe)."""

from __future__ import annotations

import fcntl
import json
import os
import re
import select
import struct
import subprocess
import sys
import termios
import time

import pytest

from .conftest import KEY, child_env, spine_command

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pty")

COLUMNS = 100
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def run_on_pty(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """Run spine with stderr on a pseudo-terminal of COLUMNS columns; (code, stdout, tty)."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, COLUMNS, 0, 0))
    proc = subprocess.Popen(
        [*spine_command(), *args],
        env=child_env({"TERM": "xterm-256color", **(env or {})}),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=slave,
    )
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed its end
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    os.close(master)
    assert proc.stdout is not None
    out = proc.stdout.read().decode()
    proc.wait(timeout=20)
    tty = b"".join(chunks).decode("utf-8", errors="replace")
    assert KEY not in tty and KEY not in out
    return proc.returncode, out, tty


def test_progress_bar_on_a_terminal() -> None:
    code, out, tty = run_on_pty(
        "run", "Bar chart", "--sandbox", "--sandbox-duration", "2.5", "--poll-interval", "0.2"
    )
    assert code == 0, tty
    # redrawn in place: carriage return + erase line, many times
    assert tty.count("\r\x1b[2K") > 5
    frames = [ANSI.sub("", f) for f in tty.split("\r") if "tasks" in f]
    assert frames, tty
    assert any("\u2588" in f for f in frames) and any("\u2591" in f for f in frames)
    assert all(re.search(r"running .*\d+/\d+ tasks  \d+:\d\d$", f) for f in frames), frames
    # the spinner turns between polls
    assert len({f[0] for f in frames}) > 3
    # never wider than the terminal (a wrapped line would break the redraw)
    assert max(len(f.rstrip("\n")) for f in frames) < COLUMNS
    # the bar goes away and the summary follows on a clean line
    tail = tty[tty.rindex("\r\x1b[2K") :]
    assert re.search(r"Run [0-9a-f-]+ completed in 0:0\d", tail)
    assert re.search(r"Canvas: [0-9a-f-]+ \(a sandbox canvas: not on the web app\)", tty)
    # the result on stdout has no terminal codes
    assert out.startswith("# Bar chart") and "\x1b" not in out


def test_json_with_a_terminal_keeps_stdout_clean() -> None:
    code, out, tty = run_on_pty(
        "run", "J", "--sandbox", "--sandbox-duration", "1", "--poll-interval", "0.2", "--json"
    )
    assert code == 0, tty
    assert json.loads(out)["status"] == "completed"
    assert "tasks" in tty  # progress still shown, on the terminal


def test_dumb_terminal_gets_plain_lines() -> None:
    code, _, tty = run_on_pty(
        "run", "Plain", "--sandbox", "--sandbox-duration", "1", env={"TERM": "dumb"}
    )
    assert code == 0, tty
    assert "\x1b[2K" not in tty
    assert "] running: " in tty


def test_quiet_on_a_terminal_shows_nothing_but_errors() -> None:
    code, out, tty = run_on_pty(
        "run", "Q [sandbox:failed]", "--sandbox", "--sandbox-duration", "0.5", "-q"
    )
    assert code == 4
    assert out == ""
    lines = [ln for ln in tty.replace("\r", "").splitlines() if ln.strip()]
    assert (
        len(lines) == 1 and lines[0].startswith("spine run: error: Run ") and "failed" in lines[0]
    )
