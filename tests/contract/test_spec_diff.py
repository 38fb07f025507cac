"""codegen/spec_diff.py: one test per rule, the version gate, and `make spec-diff` end to end
in a throwaway git repository."""

from __future__ import annotations

import copy
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ._spec import ROOT

sys.path.insert(0, str(ROOT / "codegen"))
import derive
import spec_diff as sd


def _base() -> dict[str, Any]:
    ok = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}}
    return {
        "openapi": "3.1.0",
        "paths": {
            "/v1/thing/{id}": {
                "get": {
                    "operationId": "get_thing",
                    "parameters": [
                        {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
                    ],
                    "responses": {"200": ok, "404": {"description": "missing"}},
                }
            },
            "/v1/thing": {
                "post": {
                    "operationId": "make_thing",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "multipart/form-data": {
                                "schema": {"$ref": "#/components/schemas/Req"}
                            }
                        },
                    },
                    "responses": {"200": ok},
                }
            },
        },
        "components": {
            "schemas": {
                "Thing": {
                    "type": "object",
                    "required": ["id", "count"],
                    "properties": {
                        "id": {"type": "string", "description": "The id."},
                        "count": {"type": "integer", "minimum": 0},
                        "note": {"type": ["string", "null"]},
                        "state": {"$ref": "#/components/schemas/State"},
                        "kind": {"$ref": "#/components/schemas/OpenKind"},
                        "phase": {"$ref": "#/components/schemas/OpenPhase"},
                    },
                },
                "State": {"type": "string", "enum": ["on", "off"]},
                "Kind": {"type": "string", "enum": ["a", "b"]},
                "OpenKind": {"anyOf": [{"$ref": "#/components/schemas/Kind"}, {"type": "string"}]},
                "Phase": {"type": "string", "enum": ["open", "shut"]},
                "OpenPhase": {
                    "x-spine-closed-in-docs": True,
                    "anyOf": [{"$ref": "#/components/schemas/Phase"}, {"type": "string"}],
                },
                "Mode": {"type": "string", "enum": ["fast", "slow"]},
                "Req": {
                    "type": "object",
                    "required": ["prompt"],
                    "properties": {
                        "prompt": {"type": "string", "maxLength": 100},
                        "mode": {"$ref": "#/components/schemas/Mode"},
                        "tag": {"type": "string"},
                    },
                },
            }
        },
    }


def _diff(edit: Callable[[dict[str, Any]], None]) -> list[tuple[str, str, str]]:
    old = _base()
    new = copy.deepcopy(old)
    edit(new)
    return [(c.kind, c.where, c.what) for c in sd.diff_specs(old, new)]


def _schemas(spec: dict[str, Any]) -> dict[str, Any]:
    return spec["components"]["schemas"]  # type: ignore[no-any-return]


B, C, D = sd.BREAKING, sd.COMPATIBLE, sd.DOCS


def test_no_change_is_no_change() -> None:
    assert _diff(lambda s: None) == []


def test_removed_operation_is_breaking_and_added_is_compatible() -> None:
    def edit(s: dict[str, Any]) -> None:
        s["paths"]["/v1/thing/{id}/cancel"] = {"post": {"operationId": "cancel", "responses": {}}}
        del s["paths"]["/v1/thing"]

    assert _diff(edit) == [
        (B, "POST /v1/thing", "operation make_thing removed"),
        (C, "POST /v1/thing/{id}/cancel", "new operation cancel"),
    ]


def test_renamed_operation_is_breaking() -> None:
    def edit(s: dict[str, Any]) -> None:
        s["paths"]["/v1/thing"]["post"]["operationId"] = "create_thing"

    assert _diff(edit) == [
        (B, "POST /v1/thing", "operation renamed from 'make_thing' to 'create_thing'")
    ]


def test_removed_response_field_is_breaking() -> None:
    assert _diff(lambda s: _schemas(s)["Thing"]["properties"].pop("note")) == [
        (B, "Thing.note", "field removed")
    ]


def test_renamed_response_field_is_breaking_and_named() -> None:
    def edit(s: dict[str, Any]) -> None:
        props = _schemas(s)["Thing"]["properties"]
        props["noteText"] = props.pop("note")

    assert _diff(edit) == [
        (B, "Thing.note", "field renamed to 'noteText': code and models using 'note' break")
    ]


def test_added_response_field_is_compatible() -> None:
    def edit(s: dict[str, Any]) -> None:
        _schemas(s)["Thing"]["properties"]["extra"] = {"type": "string"}

    assert _diff(edit) == [(C, "Thing.extra", "new response field")]


def test_type_change_is_breaking() -> None:
    def edit(s: dict[str, Any]) -> None:
        _schemas(s)["Thing"]["properties"]["count"]["type"] = "number"

    assert _diff(edit) == [(B, "Thing.count", "type changed from integer to number")]


def test_optional_request_field_made_required_is_breaking() -> None:
    assert _diff(lambda s: _schemas(s)["Req"]["required"].append("tag")) == [
        (B, "Req.tag", "optional field made required (requests without it fail)")
    ]


def test_new_required_request_field_is_breaking_new_optional_is_compatible() -> None:
    def edit(s: dict[str, Any]) -> None:
        _schemas(s)["Req"]["properties"]["colour"] = {"type": "string"}
        _schemas(s)["Req"]["properties"]["size"] = {"type": "integer"}
        _schemas(s)["Req"]["required"].append("size")

    assert _diff(edit) == [
        (C, "Req.colour", "new optional request field"),
        (B, "Req.size", "new required request field"),
    ]


def test_response_field_made_optional_is_breaking_made_required_compatible() -> None:
    def edit(s: dict[str, Any]) -> None:
        _schemas(s)["Thing"]["required"] = ["id", "note"]

    assert _diff(edit) == [
        (B, "Thing.count", "required field made optional (models requiring it break)"),
        (C, "Thing.note", "optional field made required"),
    ]


def test_nullability_of_a_response_field_is_breaking_both_ways() -> None:
    def edit(s: dict[str, Any]) -> None:
        _schemas(s)["Thing"]["properties"]["id"]["type"] = ["string", "null"]
        _schemas(s)["Thing"]["properties"]["note"]["type"] = "string"

    assert _diff(edit) == [
        (B, "Thing.id", "may now be null (code and models reading it must accept null)"),
        (B, "Thing.note", "may no longer be null (a narrowed type)"),
    ]


def test_enum_value_removed_is_breaking() -> None:
    assert _diff(lambda s: _schemas(s)["Mode"]["enum"].remove("slow")) == [
        (B, "Mode", "enum value 'slow' was removed")
    ]


def test_new_value_of_an_open_set_or_a_request_set_is_compatible() -> None:
    def edit(s: dict[str, Any]) -> None:
        _schemas(s)["Kind"]["enum"].append("c")
        _schemas(s)["Mode"]["enum"].append("medium")

    assert _diff(edit) == [
        (C, "Kind", "new value 'c' (an open set)"),
        (C, "Mode", "new value 'medium' (the SDK only sends it)"),
    ]


def test_new_value_of_a_set_closed_in_the_docs_is_breaking_though_parsed_as_open() -> None:
    """A run status, say: the SDK parses an unknown one, but whether it ends a run is a
    decision the differ must not call compatible."""
    assert sd.open_sets(_base()) == {"Kind"} and sd.closed_in_docs(_base()) == {"Phase"}
    assert _diff(lambda s: _schemas(s)["Phase"]["enum"].append("ajar")) == [
        (B, "Phase", "new value 'ajar' of a set the docs give as closed (x-spine-closed-in-docs): "
                     "the SDK parses it as a string, but what it means must be decided before "
                     "release"),
    ]  # fmt: skip


def test_a_string_narrowed_to_a_set_is_one_change_not_one_per_value() -> None:
    def inline(s: dict[str, Any]) -> None:
        _schemas(s)["Thing"]["properties"]["id"]["enum"] = ["idle", "running", "done", "error"]

    def named(s: dict[str, Any]) -> None:
        _schemas(s)["Thing"]["properties"]["id"] = {"$ref": "#/components/schemas/State"}

    def opened(s: dict[str, Any]) -> None:
        _schemas(s)["Thing"]["properties"]["id"] = {"$ref": "#/components/schemas/OpenKind"}

    def widened(s: dict[str, Any]) -> None:
        _schemas(s)["Thing"]["properties"]["state"] = {"type": "string"}

    assert _diff(inline) == [
        (B, "Thing.id", "narrowed from string to a closed set of 4 values: [idle, running, done, "
                        "error] (models must follow: an enum, or an open-set parser)"),
    ]  # fmt: skip
    assert [c for c in _diff(named) if c[0] != D] == [
        (B, "Thing.id", "narrowed from string to a closed set (State) of 2 values: [on, off] "
                        "(models must follow: an enum, or an open-set parser)"),
    ]  # fmt: skip
    assert [c for c in _diff(opened) if c[0] != D] == [
        (C, "Thing.id", "a string that now lists 2 known values (OpenKind): [a, b] (an open set: "
                        "any other string is still accepted)"),
    ]  # fmt: skip
    assert _diff(widened) == [
        (B, "Thing.state", "widened from a closed set (State) of 2 values to any string (models "
                           "typed with the set refuse other values)"),
    ]  # fmt: skip


def test_new_value_of_a_closed_set_the_sdk_reads_is_breaking() -> None:
    assert _diff(lambda s: _schemas(s)["State"]["enum"].append("paused")) == [
        (B, "State", "new value 'paused' of a closed set the SDK reads (it would refuse it)")
    ]


def test_request_bounds_tighter_breaking_looser_compatible_response_bounds_breaking() -> None:
    def tighter(s: dict[str, Any]) -> None:
        _schemas(s)["Req"]["properties"]["prompt"]["maxLength"] = 50

    def looser(s: dict[str, Any]) -> None:
        _schemas(s)["Req"]["properties"]["prompt"]["maxLength"] = 500

    def response(s: dict[str, Any]) -> None:
        del _schemas(s)["Thing"]["properties"]["count"]["minimum"]

    assert _diff(tighter) == [
        (B, "Req.prompt", "maxLength changed from 100 to 50 (tighter: some requests now fail)")
    ]
    assert _diff(looser) == [(C, "Req.prompt", "maxLength changed from 100 to 500 (looser)")]
    assert _diff(response) == [
        (B, "Thing.count", "minimum changed from 0 to none (a response bound: models follow it)")
    ]


def test_parameters() -> None:
    def edit(s: dict[str, Any]) -> None:
        op = s["paths"]["/v1/thing"]["post"]
        op["parameters"] = [
            {"name": "Idempotency-Key", "in": "header", "schema": {"type": "string"}},
            {"name": "X-Tenant", "in": "header", "required": True, "schema": {"type": "string"}},
        ]
        s["paths"]["/v1/thing/{id}"]["get"]["parameters"] = []

    assert _diff(edit) == [
        (B, "GET /v1/thing/{id} path parameter id", "parameter removed"),
        (C, "POST /v1/thing header parameter Idempotency-Key", "new optional parameter"),
        (B, "POST /v1/thing header parameter X-Tenant", "new required parameter"),
    ]


def test_request_media_types() -> None:
    def edit(s: dict[str, Any]) -> None:
        content = s["paths"]["/v1/thing"]["post"]["requestBody"]["content"]
        content["application/x-www-form-urlencoded"] = content.pop("multipart/form-data")

    assert _diff(edit) == [
        (B, "POST /v1/thing request", "multipart/form-data body no longer accepted"),
        (C, "POST /v1/thing request", "application/x-www-form-urlencoded body also accepted"),
    ]


def test_response_statuses() -> None:
    def edit(s: dict[str, Any]) -> None:
        responses = s["paths"]["/v1/thing/{id}"]["get"]["responses"]
        responses["429"] = {"description": "slow down"}
        del responses["404"]
        del s["paths"]["/v1/thing"]["post"]["responses"]["200"]

    assert _diff(edit) == [
        (C, "GET /v1/thing/{id} 404", "error status no longer documented"),
        (C, "GET /v1/thing/{id} 429", "new response status"),
        (B, "POST /v1/thing 200", "success response removed"),
    ]


def test_descriptions_and_extensions_are_documentation() -> None:
    def edit(s: dict[str, Any]) -> None:
        _schemas(s)["Thing"]["properties"]["id"]["description"] = "The thing's id."
        _schemas(s)["Thing"]["properties"]["id"]["x-spine-documented"] = False

    assert _diff(edit) == [(D, "Thing.id", "description, x-spine-documented changed")]


def test_the_derived_blocks_pattern_follows_new_block_types() -> None:
    def with_blocks(values: list[str]) -> dict[str, Any]:
        spec = _base()
        _schemas(spec)["BlockType"] = {
            "type": "string", "enum": values, "x-enum-varnames": [v.upper() for v in values],
        }  # fmt: skip
        _schemas(spec)["Req"]["properties"]["blocks"] = {
            "type": "string", "pattern": derive.blocks_pattern(values),
        }  # fmt: skip
        return spec

    grown = sd.diff_specs(with_blocks(["a-block"]), with_blocks(["a-block", "b-block"]))
    assert [(c.kind, c.where, c.what) for c in grown] == [
        (C, "Req.blocks", "pattern follows the new block types"),
        (C, "BlockType", "new value 'b-block' (no operation uses it)"),
        (D, "BlockType", "x-enum-varnames changed"),
    ]
    other = with_blocks(["a-block"])
    _schemas(other)["Req"]["properties"]["blocks"]["pattern"] = "^x$"
    assert [(c.kind, c.what) for c in sd.diff_specs(with_blocks(["a-block"]), other)] == [
        (B, "pattern changed (requests it accepted may now be refused)")
    ]


# ----------------------------------------------------------------------------- the gate

V = '__version__ = "{}"\n'
BREAK = [sd.Change(B, "Thing.note", "field removed")]


def test_the_gate_passes_without_a_breaking_change() -> None:
    assert sd.gate([sd.Change(C, "x", "y")], V.format("0.1.0"), V.format("0.1.0"), "") == (
        True, "no breaking change.",
    )  # fmt: skip


def test_a_breaking_change_needs_a_minor_bump_while_0x() -> None:
    ok, said = sd.gate(BREAK, V.format("0.1.0"), V.format("0.1.1"), "")
    assert not ok
    assert said == (
        '1 breaking change(s) and the version is still 0.1.1 (base: 0.1.0). Fix: set '
        '__version__ = "0.2.0" in spine/_version.py, and add to CHANGELOG.md under "## [0.2.0]" '
        "(### Changed or ### Removed):\n    - `Thing.note`: field removed."
    )


def test_a_breaking_change_needs_a_major_bump_from_1x() -> None:
    ok, said = sd.gate(BREAK, V.format("1.4.2"), V.format("1.5.0"), "")
    assert not ok and 'set __version__ = "2.0.0"' in said


def test_a_bump_without_a_changelog_entry_fails() -> None:
    empty = "# Changelog\n\n## [0.2.0] - 2026-12-01\n\n## [0.1.0]\n- first\n"
    ok, said = sd.gate(BREAK, V.format("0.1.0"), V.format("0.2.0"), empty)
    assert not ok and 'no "## [0.2.0]" section with entries' in said


def test_a_bump_with_a_changelog_entry_passes() -> None:
    log = "# Changelog\n\n## [0.2.0] - 2026-12-01\n\n### Removed\n\n- `Thing.note`.\n"
    assert sd.gate(BREAK, V.format("0.1.0"), V.format("0.2.0"), log) == (
        True, "1 breaking change(s), released as 0.2.0 (from 0.1.0), each named in CHANGELOG.md.",
    )  # fmt: skip


def test_the_changelog_must_name_each_breaking_element() -> None:
    """A section that exists (the version was bumped before this change) is not enough: each
    breaking field, operation and enum value must be named in it, and the message says how."""
    changes = [
        sd.Change(B, "Thing.note", "field removed"),
        sd.Change(B, "POST /v1/thing", "operation make_thing removed"),
        sd.Change(B, "GET /v1/thing/{id} path parameter id", "parameter removed"),
        sd.Change(B, "State", "enum value 'off' was removed"),
        sd.Change(B, "Thing.tags[]", "type changed from string to integer"),
    ]
    assert [sd.element(c) for c in changes] == [
        "Thing.note", "POST /v1/thing", "GET /v1/thing/{id}", "off", "Thing.tags",
    ]  # fmt: skip
    older = "## [0.2.0]\n\n### Added\n\n- `Thing.notes`, `POST /v1/thing/{id}/x`, `offline`.\n"
    ok, said = sd.gate(changes, V.format("0.1.0"), V.format("0.2.0"), older)
    assert not ok
    assert said == (
        '5 breaking change(s) and the version is 0.2.0, but CHANGELOG.md does not name 5 of '
        'them in its "## [0.2.0]" section. Fix: add to CHANGELOG.md under "## [0.2.0]" '
        "(### Changed or ### Removed):"
        "\n    - `Thing.note`: field removed."
        "\n    - `POST /v1/thing`: operation make_thing removed."
        "\n    - `GET /v1/thing/{id}` path parameter id: parameter removed."
        "\n    - `State` value `off`: enum value 'off' was removed."
        "\n    - `Thing.tags`: its items: type changed from string to integer."
    )
    lines = [line.strip() for line in said.splitlines()[1:]]
    named = older + "\n### Removed\n\n" + "\n".join(lines) + "\n\n## [0.1.0]\n\n- first\n"
    assert sd.gate(changes, V.format("0.1.0"), V.format("0.2.0"), named)[0]
    # One element left out: only its line is asked for.
    partial = named.replace(lines[3] + "\n", "")
    ok, said = sd.gate(changes, V.format("0.1.0"), V.format("0.2.0"), partial)
    assert not ok and said.endswith("(### Changed or ### Removed):\n    " + lines[3])
    # Named in another version's section does not count.
    elsewhere = "## [0.2.0]\n\n- Nothing breaking.\n\n## [0.1.0]\n\n" + "\n".join(lines)
    assert not sd.gate(changes, V.format("0.1.0"), V.format("0.2.0"), elsewhere)[0]


def test_the_version_lives_in_one_place() -> None:
    import importlib.metadata

    import spine

    assert importlib.metadata.version("spine-python") == spine.__version__
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'dynamic = ["version"]' in pyproject and 'path = "spine/_version.py"' in pyproject
    others = [
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / "spine").rglob("*.py")
        if "__version__ =" in p.read_text(encoding="utf-8") and p.name != "_version.py"
    ]
    assert others == []
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert sd.changelog_has(changelog, spine.__version__), "CHANGELOG.md lacks this version"


# ----------------------------------------------------------------------------- end to end


def _git(repo: Path, *args: str) -> str:
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid",
           "PATH": "/usr/bin:/bin", "HOME": str(repo)}  # fmt: skip
    return subprocess.run(
        ["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=True
    ).stdout


def _spec_diff(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(repo / "codegen" / "spec_diff.py"), *args],
        cwd=repo, capture_output=True, text=True, check=False,
    )  # fmt: skip


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository holding the project's spec, version and changelog, released as v0.1.0."""
    shutil.copytree(ROOT / "codegen", tmp_path / "codegen",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "openapi.yaml", tmp_path / "openapi.yaml")
    (tmp_path / "spine").mkdir()
    (tmp_path / "spine" / "_version.py").write_text(V.format("0.1.0"))
    (tmp_path / "CHANGELOG.md").write_text("# Changelog\n\n## [0.1.0]\n\n- first\n")
    _git(tmp_path, "init", "-q", "-b", "main")
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "commit", "-q", "-m", "release")
    _git(tmp_path, "tag", "v0.1.0")
    return tmp_path


def test_renaming_poll_url_fails_until_the_version_and_changelog_follow(repo: Path) -> None:
    spec = repo / "openapi.yaml"
    spec.write_text(spec.read_text().replace("poll_url", "poll_href"))
    first = _spec_diff(repo)
    assert first.returncode == 1, first.stdout + first.stderr
    assert "against the last release tag v0.1.0" in first.stdout
    assert (
        "BREAKING    CreateRunResponse.poll_url: field renamed to 'poll_href': code and models "
        "using 'poll_url' break" in first.stdout
    )
    assert 'Fix: set __version__ = "0.2.0" in spine/_version.py' in first.stdout

    (repo / "spine" / "_version.py").write_text(V.format("0.2.0"))
    second = _spec_diff(repo)
    assert second.returncode == 1 and 'no "## [0.2.0]" section' in second.stdout

    (repo / "CHANGELOG.md").write_text(
        "# Changelog\n\n## [0.2.0] - 2026-12-01\n\n### Changed\n\n- `poll_url` is now "
        "`poll_href`.\n\n## [0.1.0]\n\n- first\n"
    )
    third = _spec_diff(repo)
    assert third.returncode == 1, third.stdout  # `poll_url` alone does not say which schema
    line = (
        "- `CreateRunResponse.poll_url`: field renamed to 'poll_href': code and models using "
        "'poll_url' break."
    )
    assert third.stdout.rstrip().endswith(
        'does not name 1 of them in its "## [0.2.0]" section. Fix: add to CHANGELOG.md under '
        '"## [0.2.0]" (### Changed or ### Removed):\n    ' + line
    )

    (repo / "CHANGELOG.md").write_text(
        f"# Changelog\n\n## [0.2.0] - 2026-12-01\n\n### Changed\n\n{line}\n\n"
        "## [0.1.0]\n\n- first\n"
    )
    fourth = _spec_diff(repo)
    assert fourth.returncode == 0, fourth.stdout
    assert "released as 0.2.0 (from 0.1.0), each named in CHANGELOG.md" in fourth.stdout


def test_a_breaking_change_after_the_bump_fails_until_the_changelog_names_it(
    repo: Path,
) -> None:
    """The project's own state: the version already bumped past the last tag, its changelog
    section written for other changes. A breaking change made now must not ride along."""
    (repo / "spine" / "_version.py").write_text(V.format("0.2.0"))
    (repo / "CHANGELOG.md").write_text(
        "# Changelog\n\n## [Unreleased]\n\n## [0.2.0] - 2026-12-01\n\n### Added\n\n"
        "- Provenance marks in `openapi.yaml`.\n\n### Changed\n\n- The `run_may_exist` "
        "message.\n\n## [0.1.0]\n\n- first\n"
    )
    _git(repo, "commit", "-qam", "0.2.0, not released yet")
    assert _spec_diff(repo).returncode == 0  # nothing breaking yet
    spec = repo / "openapi.yaml"
    text = spec.read_text()
    assert "        duration_ms:\n" in text
    spec.write_text(text.replace("        duration_ms:\n", "        duration_millis:\n", 1))
    result = _spec_diff(repo)
    assert result.returncode == 1, result.stdout
    assert "BREAKING    GetRunResponse.duration_ms: field renamed to 'duration_millis'" in (
        result.stdout
    )
    wanted = (
        "- `GetRunResponse.duration_ms`: field renamed to 'duration_millis': code and models "
        "using 'duration_ms' break."
    )
    assert result.stdout.rstrip().endswith(wanted)
    changelog = repo / "CHANGELOG.md"
    changelog.write_text(
        changelog.read_text().replace("### Changed\n\n", f"### Changed\n\n{wanted}\n", 1)
    )
    after = _spec_diff(repo)
    assert after.returncode == 0, after.stdout


def _grow_enum(repo: Path, name: str, candidates: tuple[str, ...]) -> str:
    """Add a value (the first candidate the spec lacks) to one vocabulary of the repository's
    spec (flow-style enum lists); the value added."""
    spec = repo / "openapi.yaml"
    schema = derive.load_yaml(spec.read_text())["components"]["schemas"][name]
    values, members = schema["enum"], schema["x-enum-varnames"]
    value = next(v for v in candidates if v not in values)
    member = value.removesuffix("-task").upper().replace("-", "_")
    text = spec.read_text().replace(
        f"enum: [{', '.join(values)}]", f"enum: [{', '.join([*values, value])}]"
    ).replace(
        f"x-enum-varnames: [{', '.join(members)}]",
        f"x-enum-varnames: [{', '.join([*members, member])}]",
    )  # fmt: skip
    assert value in text and member in text, f"{name} is not written in flow style any more"
    spec.write_text(text)
    return value


def test_compatible_changes_pass_and_the_base_can_be_chosen(repo: Path) -> None:
    value = _grow_enum(repo, "TaskType", ("review-task", "audit-task", "check-task"))
    result = _spec_diff(repo, "--base", "main")
    assert result.returncode == 0, result.stdout
    assert f"compatible  TaskType: new value {value!r} (an open set)" in result.stdout
    assert _spec_diff(repo, "--base", "no-such-ref").returncode == 2


def test_a_new_run_status_needs_a_decision(repo: Path) -> None:
    """The docs give run statuses as a closed set (OpenRunStatus: x-spine-closed-in-docs), so a
    new one is not "compatible (an open set)": it fails until it is decided and released."""
    value = _grow_enum(repo, "RunStatus", ("cancelled", "paused", "archived"))
    result = _spec_diff(repo)
    assert result.returncode == 1, result.stdout
    assert (
        f"BREAKING    RunStatus: new value {value!r} of a set the docs give as closed "
        "(x-spine-closed-in-docs): the SDK parses it as a string, but what it means must be "
        "decided before release (whether it ends a run: RUN_STATUS_OUTCOMES in spine/_enums.py)"
    ) in result.stdout
    assert "an open set" not in result.stdout


def test_without_a_tag_the_base_is_the_merge_base_with_main(repo: Path) -> None:
    _git(repo, "tag", "-d", "v0.1.0")
    _git(repo, "checkout", "-q", "-b", "feature")
    result = _spec_diff(repo)
    assert result.returncode == 0
    assert "against the merge base with main" in result.stdout and "(no change)" in result.stdout
