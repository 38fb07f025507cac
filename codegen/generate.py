"""Regenerate ``generated/_spine_openapi`` from ``openapi.yaml``, or check that it is current.

    python codegen/generate.py generate   # regenerate into a fresh directory and swap it in
    python codegen/generate.py check      # regenerate into a temporary directory and diff

Before the generator runs, ``generate`` also rewrites what repeats the spec's vocabularies
(``codegen/derive.py``): the ``blocks`` pattern in ``openapi.yaml`` and the enum members in
``spine/_enums.py``; ``check`` fails when either is stale.

The generator and its formatter must be exactly the versions pinned in
``codegen/requirements.txt`` (``make generate`` installs them); the script refuses to run with
any other version, because a different generator writes different code. Beside the output it
records ``generated/MANIFEST.json``: the spec's SHA-256, the config's SHA-256 and the tool
versions, so a reader can tell what the committed code was made from.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import derive

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "openapi.yaml"
CONFIG = ROOT / "codegen" / "config.yaml"
#: Templates that replace the generator's own of the same name (see codegen/templates/README.md).
TEMPLATES = ROOT / "codegen" / "templates"
REQUIREMENTS = ROOT / "codegen" / "requirements.txt"
OUT_DIR = ROOT / "generated"
PACKAGE = "_spine_openapi"
MANIFEST = "MANIFEST.json"
FIX_COMMAND = "make generate"


def _pins() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in REQUIREMENTS.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            pins[name.strip()] = version.strip()
    return pins


def _check_tool_versions(pins: dict[str, str]) -> None:
    wrong = []
    for name, wanted in pins.items():
        try:
            have = metadata.version(name)
        except metadata.PackageNotFoundError:
            have = "not installed"
        if have != wanted:
            wrong.append(f"{name}: need {wanted}, have {have}")
    if wrong:
        sys.exit(
            "codegen: the pinned tools are not installed in this environment:\n  "
            + "\n  ".join(wrong)
            + f"\nRun `{FIX_COMMAND}` (it installs them), or pip install -r {REQUIREMENTS}."
        )


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _manifest(pins: dict[str, str]) -> str:
    data = {
        "package": PACKAGE,
        "spec": SPEC.name,
        "spec_sha256": _sha256(SPEC),
        "config_sha256": _sha256(CONFIG),
        "templates_sha256": {
            p.name: _sha256(p) for p in sorted(TEMPLATES.glob("*.jinja"))
        },
        "generator": f"openapi-python-client=={pins['openapi-python-client']}",
        "formatter": f"ruff=={pins['ruff']}",
        "command": "openapi-python-client generate --meta none"
        " --custom-template-path codegen/templates",
    }
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def _generate_into(target: Path) -> None:
    """Run the generator so that ``target`` becomes the package directory."""
    env = dict(os.environ)
    # The post hooks call `ruff`: use the one installed beside this interpreter.
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    cmd = [
        sys.executable,
        "-m",
        "openapi_python_client",
        "generate",
        "--path",
        str(SPEC),
        "--config",
        str(CONFIG),
        "--meta",
        "none",
        "--custom-template-path",
        str(TEMPLATES),
        "--output-path",
        str(target),
    ]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    output = proc.stdout + proc.stderr
    if proc.returncode != 0 or not (target / "__init__.py").is_file():
        sys.exit(f"codegen: the generator failed:\n{output}")
    if "Warning" in output or "Error" in output:
        # Any warning means a piece of the spec was skipped: that is a defect in the spec.
        sys.exit(f"codegen: the generator reported problems:\n{output}")
    for cache in [*target.rglob("__pycache__"), *target.rglob(".ruff_cache")]:
        shutil.rmtree(cache)


def _tree(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def _build(workdir: Path, pins: dict[str, str]) -> Path:
    """Generate a complete ``generated/`` tree (package + manifest) under ``workdir``."""
    out = workdir / "generated"
    out.mkdir()
    _generate_into(out / PACKAGE)
    (out / MANIFEST).write_text(_manifest(pins))
    return out


def _derived() -> dict[Path, tuple[str, str]]:
    try:
        return derive.derived_files()
    except derive.DeriveError as exc:
        sys.exit(f"codegen: {exc}")


def generate() -> int:
    pins = _pins()
    _check_tool_versions(pins)
    for path, (old, new) in _derived().items():
        if old != new:
            path.write_text(new, encoding="utf-8")
            print(f"codegen: rewrote the derived parts of {path.relative_to(ROOT)}")
    with tempfile.TemporaryDirectory(prefix="spine-codegen-") as tmp:
        fresh = _build(Path(tmp), pins)
        staged = ROOT / ".generated.new"
        if staged.exists():
            shutil.rmtree(staged)
        shutil.copytree(fresh, staged)
    old = ROOT / ".generated.old"
    if old.exists():
        shutil.rmtree(old)
    if OUT_DIR.exists():
        OUT_DIR.rename(old)
    staged.rename(OUT_DIR)
    if old.exists():
        shutil.rmtree(old)
    print(f"codegen: regenerated {OUT_DIR.relative_to(ROOT)}/ from {SPEC.name}")
    return 0


def check() -> int:
    pins = _pins()
    _check_tool_versions(pins)
    stale: list[str] = []
    for path, (old, new) in _derived().items():
        if old != new:
            name = path.relative_to(ROOT).as_posix()
            diff = difflib.unified_diff(
                old.splitlines(keepends=True),
                new.splitlines(keepends=True),
                f"committed/{name}",
                f"derived/{name}",
            )
            sys.stdout.write("".join(list(diff)[:60]))
            stale.append(name)
    if stale:
        print(
            f"\ncodegen: {', '.join(stale)} no longer match the vocabularies in {SPEC.name}.\n"
            f"Fix: run `{FIX_COMMAND}` and commit the result."
        )
        return 1
    with tempfile.TemporaryDirectory(prefix="spine-codegen-") as tmp:
        fresh = _tree(_build(Path(tmp), pins))
    committed = _tree(OUT_DIR) if OUT_DIR.is_dir() else {}
    if fresh == committed:
        print(f"codegen: generated/ is exactly what the generator makes from {SPEC.name}")
        return 0
    lines: list[str] = []
    for name in sorted(set(fresh) | set(committed)):
        old, new = committed.get(name), fresh.get(name)
        if old == new:
            continue
        if old is None:
            lines.append(f"only in a fresh generation: generated/{name}\n")
        elif new is None:
            lines.append(f"stale, not made by the generator: generated/{name}\n")
        else:
            lines.extend(
                difflib.unified_diff(
                    old.decode(errors="replace").splitlines(keepends=True),
                    new.decode(errors="replace").splitlines(keepends=True),
                    f"committed/generated/{name}",
                    f"fresh/generated/{name}",
                )
            )
    shown = lines[:200]
    sys.stdout.write("".join(shown))
    if len(lines) > len(shown):
        print(f"... {len(lines) - len(shown)} more diff lines")
    print(
        f"\ncodegen: generated/ is NOT what the generator makes from {SPEC.name}.\n"
        f"Fix: run `{FIX_COMMAND}` and commit the result (never edit generated/ by hand)."
    )
    return 1


def main(argv: list[str]) -> int:
    if argv[1:] == ["generate"]:
        return generate()
    if argv[1:] == ["check"]:
        return check()
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
