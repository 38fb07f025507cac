"""The shape of the package: no import cycles, one bridge to the generated client, private
internals of other libraries only in ``spine/_transport/``, and one list of public names."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import spine
from spine._public import PUBLIC

SPINE = Path(spine.__file__).parent


def _modules() -> dict[str, Path]:
    out = {}
    for path in SPINE.rglob("*.py"):
        rel = path.relative_to(SPINE.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(path: Path, name: str, known: set[str]) -> set[str]:
    """Every spine module ``name`` imports at run time, function-local imports included (an
    import under ``if TYPE_CHECKING:`` is not one)."""
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for orelse in child.orelse:
                    visit(orelse)
                continue
            if isinstance(child, ast.Import):
                found.update(a.name for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    parent = package.split(".")
                    parent = parent[: len(parent) - child.level + 1]
                    base = ".".join([*parent, base] if base else parent)
                found.add(base)
                found.update(f"{base}.{a.name}" for a in child.names)
            visit(child)

    visit(tree)
    return {m for m in found if m in known and m != name}


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    return {name: _imports(path, name, known) for name, path in modules.items()}


def test_no_import_cycles() -> None:
    graph = _graph()
    # Importing spine.x.y runs spine/__init__ and spine/x/__init__: those edges are not choices
    # of the importer, so a package's __init__ is left out as a target of its own sub-modules.
    for name, deps in graph.items():
        graph[name] = {d for d in deps if not name.startswith(d + ".")}
    cycles = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def walk(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for dep in sorted(graph[node]):
            if state.get(dep) == 1:
                cycles.append([*stack[stack.index(dep) :], dep])
            elif dep not in state:
                walk(dep)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            walk(node)
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_the_cycle_check_can_fail(tmp_path: Path) -> None:
    """The walker sees function-local imports and skips TYPE_CHECKING ones."""
    (tmp_path / "a.py").write_text("def f():\n    import spine.b\n")
    (tmp_path / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import spine.a\n"
    )
    known = {"spine.a", "spine.b"}
    assert _imports(tmp_path / "a.py", "spine.a", known) == {"spine.b"}
    assert _imports(tmp_path / "b.py", "spine.b", known) == set()


def test_only_operations_imports_the_generated_client() -> None:
    users = sorted(
        name
        for name, path in _modules().items()
        if re.search(r"^\s*(from|import) _spine_openapi", path.read_text(), re.M)
    )
    assert users == ["spine._operations"]


# Private attributes of httpx/httpcore objects: `._transport`, `._pool`, `._network_backend`...
_PRIVATE_USE = re.compile(r"\b(_transport|_pool|_network_backend|_mounts|_request)\b\s*[,)\"']")


def test_private_internals_of_other_libraries_only_in_the_transport_package() -> None:
    offenders = []
    for name, path in _modules().items():
        if name.startswith(("spine._transport", "spine.testing")):
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if _PRIVATE_USE.search(line) and "getattr" in line:
                offenders.append(f"{path.name}:{number}: {line.strip()}")
    assert not offenders


def test_the_public_names_are_listed_once() -> None:
    """``spine/_public.py`` is the list; the TYPE_CHECKING imports of ``spine/__init__.py`` and
    the imports of the alias modules must name exactly the same things."""
    expected = {(module, name) for module, names in PUBLIC.items() for name in names}

    def imports_of(alias: str, module: str) -> set[tuple[str, str]]:
        tree = ast.parse((SPINE / f"{alias}.py").read_text())
        return {
            (module, a.name)
            for node in tree.body
            if isinstance(node, ast.ImportFrom) and node.module == module
            for a in node.names
        }

    # The alias modules write their names out (``from spine._exceptions import X as X``) ...
    aliases = {"spine.exceptions": "spine._exceptions", "spine.models": "spine._models"}
    for alias, module in aliases.items():
        assert imports_of(alias.split(".")[1], module) == {
            (module, name) for name in PUBLIC[module]
        }, alias
    # ... and spine/__init__.py names the rest, star-importing the alias modules.
    tree = ast.parse((SPINE / "__init__.py").read_text())
    static: set[tuple[str, str]] = set()
    for block in tree.body:
        if not (isinstance(block, ast.If) and _is_type_checking(block)):
            continue
        for node in block.body:
            assert isinstance(node, ast.ImportFrom) and node.module, ast.dump(node)
            if [a.name for a in node.names] == ["*"]:
                module = aliases[node.module]
                static |= imports_of(node.module.split(".")[1], module)
            else:
                static |= {(node.module, a.name) for a in node.names}
    assert static == expected
    assert sorted(spine.__all__) == sorted([*(n for _, n in expected), "__version__"])


@pytest.mark.parametrize("module", ["spine.exceptions", "spine.models"])
def test_aliases_list_what_the_table_lists(module: str) -> None:
    import importlib

    alias = importlib.import_module(module)
    assert sorted(alias.__all__) == sorted(PUBLIC[f"spine._{module.split('.')[1]}"])
