"""The official ``spine-sdk`` in a virtualenv of its own (``.bench/official``).

Both SDKs import as ``spine``, so they cannot share an interpreter. The official venv gets
``spine-sdk==0.2.0`` plus the exact versions of httpx, httpcore, h11, pydantic and their
helpers that this SDK runs with in the nox venv: the two SDKs are then compared on the same
HTTP stack and the same validator, and raw httpx (measured in the nox venv) is a fair baseline
for both. The venv is reused while its pins are unchanged.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from importlib import metadata

from benchmarks._common import BENCH_DIR, SCRATCH, child_env, log

OFFICIAL = "spine-sdk==0.2.0"
#: Shared dependencies pinned to the versions installed next to this SDK.
SHARED = (
    "httpx",
    "httpcore",
    "h11",
    "anyio",
    "sniffio",
    "idna",
    "certifi",
    "pydantic",
    "pydantic-core",
    "annotated-types",
    "typing-extensions",
    "typing-inspection",
)
VENV = BENCH_DIR / "official"


def requirements() -> list[str]:
    pins = [OFFICIAL]
    for name in SHARED:
        try:
            pins.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            continue
    return pins


def ensure_official_python() -> str:
    """The official venv's interpreter, creating or refreshing the venv when needed."""
    python = VENV / "bin" / "python"
    marker = VENV / "bench-requirements.txt"
    wanted = "\n".join(requirements()) + "\n"
    if python.exists() and marker.exists() and marker.read_text() == wanted:
        return str(python)
    log(f"creating {VENV.relative_to(BENCH_DIR.parent)} with {OFFICIAL} (one-time setup)")
    shutil.rmtree(VENV, ignore_errors=True)
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    SCRATCH.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True, timeout=300)
    pip = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         *requirements()],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
        env=child_env(),
    )
    if pip.returncode != 0:
        raise RuntimeError(f"pip install into {VENV} failed:\n{pip.stdout}\n{pip.stderr}")
    check = subprocess.run(
        [str(python), "-P", "-c",
         "import spine, importlib.metadata as m; print(m.version('spine-sdk'), spine.__file__)"],
        cwd=SCRATCH,
        env=child_env(),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    log(f"official SDK ready: spine-sdk {check.stdout.strip()}")
    marker.write_text(wanted)
    return str(python)
