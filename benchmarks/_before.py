"""This SDK as it was at another commit, in a virtualenv of its own (``.bench/before``).

``python -m benchmarks --before REF`` measures the figures that support it (``threads``,
``first``) for that commit too, in the same run as the current tree, so that a change is judged
against the machine's state at the same moment rather than against a number from another day.
The commit's tree is exported with ``git archive`` and installed with its ``sandbox`` extra
next to the same pinned httpx/pydantic stack as the other venvs; the venv is reused while the
commit and the pins stay the same.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
from io import BytesIO

from benchmarks._common import BENCH_DIR, ROOT, SCRATCH, child_env, log
from benchmarks._official import SHARED

VENV = BENCH_DIR / "before"


def _commit(ref: str) -> str:
    out = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--verify", f"{ref}^{{commit}}"],
        capture_output=True, text=True, check=True, timeout=60,
    )
    return out.stdout.strip()


def ensure_before_python(ref: str) -> str:
    """The "before" venv's interpreter for commit ``ref``, built when needed."""
    from importlib import metadata

    commit = _commit(ref)
    pins = []
    for name in SHARED:
        try:
            pins.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            continue
    wanted = "\n".join([commit, *pins]) + "\n"
    python = VENV / "bin" / "python"
    marker = VENV / "bench-before.txt"
    if python.exists() and marker.exists() and marker.read_text() == wanted:
        return str(python)
    log(f"creating {VENV.relative_to(ROOT)} with this SDK at {ref} ({commit[:10]})")
    shutil.rmtree(VENV, ignore_errors=True)
    source = BENCH_DIR / "before-src"
    shutil.rmtree(source, ignore_errors=True)
    source.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", commit],
        capture_output=True, check=True, timeout=120,
    )
    with tarfile.open(fileobj=BytesIO(archive.stdout)) as tar:
        tar.extractall(source, filter="data")
    SCRATCH.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True, timeout=300)
    pip = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         f"{source}[sandbox]", *pins],
        capture_output=True, text=True, check=False, timeout=900, env=child_env(),
    )
    if pip.returncode != 0:
        raise RuntimeError(f"pip install into {VENV} failed:\n{pip.stdout}\n{pip.stderr}")
    marker.write_text(wanted)
    return str(python)
