"""The sandbox's model of a run: its plan (canvas nodes, edges, task tree) and its state in time.

Everything here is pure: a :class:`Run` is built once from the create request, and every view
(``GET /v1/run``, the DAG, the task tree) is a function of the run and "now". A run's plan lays
its nodes and tasks out on a timeline from 0.0 (created) to 1.0 (finished); the fraction of the
run's duration that has elapsed decides which nodes and tasks are idle, running or done.
"""

from __future__ import annotations

import hashlib
import itertools
import random
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from spine._enums import BlockType, RunStatus, TaskType, Template
from spine.testing._server._artifacts import (
    ARTIFACT_KINDS,
    SUMMARY_KIND,
    ArtifactKind,
    build_artifact,
)

__all__ = [
    "DOCUMENT_EXTENSIONS",
    "DOCUMENT_MEDIA_TYPES",
    "IMAGE_EXTENSIONS",
    "IMAGE_MEDIA_TYPES",
    "TEMPLATE_BLOCKS",
    "Artifact",
    "Run",
    "Upload",
    "build_run",
    "file_kind",
]

# The sandbox names block types and templates by their wire values, never by enum member: a
# value the spec drops (and `make generate` removes from spine/_enums.py) is then left out
# below instead of breaking the import. tests/contract/test_sandbox_vocabulary.py names every
# value here that the spec no longer has, with the line to change.
_BLOCK_TYPES = frozenset(b.value for b in BlockType)
_TEMPLATES = frozenset(t.value for t in Template)

TEMPLATE_BLOCK_VALUES: dict[str, tuple[str, ...]] = {
    "deep_research": (
        "prompt-block",
        "table-block",
        "web-block",
        "web-research-block",
        "file-block",
        "yt-block",
        "memo-block",
        "text-block",
    ),
    "report": ("prompt-block", "table-block", "web-block", "yt-block", "document-block",
               "text-block"),
    "slides": ("prompt-block", "table-block", "web-block", "yt-block", "presentation-block",
               "text-block"),
    "memo": ("prompt-block", "web-block", "yt-block", "memo-block", "text-block"),
    "excel": ("prompt-block", "table-block", "web-block", "yt-block", "excel-block",
              "text-block"),
    "app": ("prompt-block", "app-block", "text-block"),
    "landing_page": ("prompt-block", "web-block", "image-block", "yt-block",
                     "landing-page-block", "text-block"),
}  # fmt: skip
"""The block types each template may create (reference §3.2), as written; see
:data:`TEMPLATE_BLOCKS` for what the sandbox uses."""

TEMPLATE_BLOCKS: dict[str, tuple[str, ...]] = {
    "auto": tuple(b.value for b in BlockType),
    **{
        template: tuple(b for b in blocks if b in _BLOCK_TYPES)
        for template, blocks in TEMPLATE_BLOCK_VALUES.items()
        if template in _TEMPLATES
    },
}
"""Template -> the block types a run of it may create: ``auto`` every one, the others their
list of the reference (§3.2), each keeping only what the spec's enums still have."""

IMAGE_EXTENSIONS = frozenset({"png", "jpg", "jpeg", "gif", "webp", "svg"})
DOCUMENT_EXTENSIONS = frozenset(
    {"pdf", "docx", "xlsx", "csv", "txt", "md", "markdown", "yaml", "yml", "json", "zip"}
)
# A part whose name has no known extension is judged by its declared media type instead.
IMAGE_MEDIA_TYPES = frozenset(
    {"image/png", "image/jpeg", "image/gif", "image/webp", "image/svg+xml"}
)
DOCUMENT_MEDIA_TYPES = frozenset(
    {
        "application/pdf",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "text/csv",
        "text/plain",
        "text/markdown",
        "application/yaml",
        "text/yaml",
        "application/json",
        "application/zip",
    }
)


def file_kind(extension: str, content_type: str) -> str | None:
    """``"image"``, ``"document"`` or None (unsupported), by extension, else by media type."""
    if extension in IMAGE_EXTENSIONS:
        return "image"
    if extension in DOCUMENT_EXTENSIONS:
        return "document"
    media = content_type.split(";", 1)[0].strip().lower()
    if media in IMAGE_MEDIA_TYPES:
        return "image"
    if media in DOCUMENT_MEDIA_TYPES:
        return "document"
    return None

_GATHER = frozenset(
    {
        "web-block",
        "yt-block",
        "web-research-block",
        "deep-research-block",
        "list-block",
        "table-block",
        "file-block",
    }
)
_NOTE = frozenset({"text-block"})
# Everything else that is not the prompt is an output block (see ARTIFACT_KINDS).

_TOOLS: dict[str, tuple[str, ...]] = {
    "web-block": ("web_search", "fetch_url"),
    "yt-block": ("youtube_search", "youtube_transcript"),
    "web-research-block": ("browser_navigate", "browser_extract", "browser_screenshot"),
    "deep-research-block": ("web_search", "read_source", "synthesise_findings"),
    "list-block": ("brainstorm", "rank_items"),
    "table-block": ("extract_table", "compute_metrics"),
    "file-block": ("read_file", "index_document"),
    "document-block": ("outline_document", "write_section", "render_docx"),
    "memo-block": ("outline_memo", "write_section", "render_docx"),
    "excel-block": ("design_sheet", "fill_cells", "render_xlsx"),
    "presentation-block": ("outline_deck", "write_slide", "render_pptx"),
    "app-block": ("scaffold_app", "write_code", "bundle_html"),
    "prototype-block": ("sketch_screens", "write_code", "bundle_html"),
    "landing-page-block": ("write_copy", "lay_out_page", "bundle_html"),
    "image-block": ("write_image_prompt", "generate_image"),
    "text-block": ("summarise", "write_note"),
}
_PERSONAS: dict[str, tuple[str, ...]] = {
    "gather": ("Research analyst", "Fact checker", "Data analyst"),
    "output": ("Writer", "Editor", "Designer"),
    "note": ("Summariser", "Reviewer"),
}
_LABELS: dict[str, str] = {
    "prompt-block": "Prompt",
    "list-block": "Idea list",
    "memo-block": "Memo",
    "document-block": "Report",
    "excel-block": "Spreadsheet",
    "deep-research-block": "Deep research",
    "image-block": "Generated image",
    "presentation-block": "Slide deck",
    "app-block": "Web app",
    "table-block": "Data table",
    "prototype-block": "Prototype",
    "landing-page-block": "Landing page",
    "text-block": "Summary note",
    "web-block": "Web sources",
    "yt-block": "Video sources",
    "web-research-block": "Browser research",
    "file-block": "Reference files",
}
_MODELS = ("anthropic/claude-sonnet-4-6", "openai/gpt-4.1", "google/gemini-2.5-pro")
_AUTO_KEYWORDS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("slide", "deck", "presentation", "pitch"), "presentation-block"),
    (("spreadsheet", "excel", "xlsx", "budget", "model"), "excel-block"),
    (("landing page", "landing-page"), "landing-page-block"),
    (("prototype", "mockup"), "prototype-block"),
    (("app", "tool", "calculator", "dashboard"), "app-block"),
    (("image", "logo", "illustration", "picture"), "image-block"),
    (("memo",), "memo-block"),
)
_MARKER = re.compile(r"\[sandbox:(completed|partial|failed)\]", re.IGNORECASE)
FAIL_AT = 0.6
"""A run scripted to fail stops at this fraction of its duration."""
MANUAL_PACE = 3.0
"""In manual mode (no ``run_duration``), progress moves at this pace but stops short of the end."""
MANUAL_CAP = 0.9


@dataclass(frozen=True)
class Upload:
    """A file that came with ``POST /v1/run``: name, type, size and SHA-256 (never its bytes)."""

    filename: str
    content_type: str
    size: int
    sha256: str
    block_type: str
    """``image-block`` for images, ``file-block`` for documents."""
    preview: str = ""


@dataclass
class Artifact:
    """An output file of a run (built lazily, then cached so ``size_bytes`` is exact)."""

    id: str
    name: str
    kind: ArtifactKind
    title: str
    lines: list[str]
    seed: int
    _data: bytes | None = None

    @property
    def data(self) -> bytes:
        if self._data is None:
            self._data = build_artifact(self.kind, self.title, self.lines, self.seed)
        return self._data


@dataclass
class Node:
    id: str
    name: str
    type: str
    role: str  # "prompt" | "upload" | "gather" | "output" | "note"
    start: float
    end: float
    content: str
    url: str | None = None
    sources: list[dict[str, Any]] = field(default_factory=list)
    artifact: Artifact | None = None


@dataclass
class Task:
    id: str
    name: str
    task_type: str
    start: float
    end: float
    node_id: str
    children: list[Task] = field(default_factory=list)
    parent: Task | None = field(default=None, repr=False)


@dataclass
class Run:
    """One run: what was asked, the plan, and when it started and (if forced) ended."""

    run_id: str
    canvas_id: str
    api_key: str
    prompt: str
    template: str
    blocks: list[str] | None
    agent_instructions: str | None
    uploads: list[Upload]
    created_at: float
    duration: float | None
    outcome: str
    nodes: list[Node]
    edges: list[tuple[str, str]]
    roots: list[Task]
    tasks_by_id: dict[str, Task]
    artifacts: dict[str, Artifact]
    failing_node: str | None
    canvas_name: str
    polls: int = 0
    ended_at: float | None = None
    end_fraction: float = 1.0

    # ------------------------------------------------------------------------ time

    def phase(self, now: float) -> tuple[str, float]:
        """The run's status and the plan fraction reached at ``now``."""
        if self.ended_at is not None:
            return self.outcome, self.end_fraction
        elapsed = max(0.0, now - self.created_at)
        if self.duration is None:
            return RunStatus.RUNNING, min(elapsed / MANUAL_PACE, MANUAL_CAP)
        stop = FAIL_AT if self.outcome == RunStatus.FAILED else 1.0
        if self.duration <= 0 or elapsed >= self.duration * stop:
            return self.outcome, stop
        return RunStatus.RUNNING, elapsed / self.duration

    def finished_at(self, now: float) -> float | None:
        """When the run reached its terminal state, or None while it is running."""
        if self.ended_at is not None:
            return self.ended_at
        status, _ = self.phase(now)
        if status == RunStatus.RUNNING or self.duration is None:
            return None
        stop = FAIL_AT if self.outcome == RunStatus.FAILED else 1.0
        return self.created_at + self.duration * stop

    def force_end(self, now: float, outcome: str) -> None:
        """Finish the run at ``now`` with ``outcome`` (used by ``Sandbox.complete``)."""
        _, fraction = self.phase(now)
        self.outcome = outcome
        self.ended_at = max(now, self.created_at)
        self.end_fraction = fraction if outcome == RunStatus.FAILED else 1.0
        if outcome == RunStatus.FAILED:
            self.failing_node = _first_unfinished(self.nodes, fraction)
        else:
            self.failing_node = _failing_node(self.nodes, outcome)

    # ------------------------------------------------------------------------ statuses

    def node_status(self, node: Node, status: str, f: float) -> str:
        if status == RunStatus.FAILED:
            if node.id == self.failing_node:
                return "error"
            if node.end <= f:
                return "completed"
            return "error" if node.start <= f else "idle"
        if status == RunStatus.RUNNING:
            if f < node.start:
                return "idle"
            return "running" if f < node.end else "completed"
        if status == RunStatus.PARTIAL and node.id == self.failing_node:
            return "error"
        return "completed"

    def task_status(self, task: Task, status: str, f: float) -> str | None:
        """The task's status, or None when it has not been spawned yet.

        Root (parent) tasks are the run's plan: they exist from creation, ``running`` until
        their block is done. Persona and tool-call tasks appear when they start.
        """
        spawned = task.parent is None or f >= task.start
        if status == RunStatus.RUNNING:
            if not spawned:
                return None
            return "running" if f < task.end else "completed"
        if status == RunStatus.FAILED:
            if not spawned:
                return None
            return "completed" if task.end <= f else "error"
        failing = task.node_id == self.failing_node
        if status == RunStatus.PARTIAL and failing and _on_last_path(task):
            return "error"
        return "completed"

    def progress(self, now: float) -> dict[str, int]:
        status, f = self.phase(now)
        total = done = 0
        for task in self.tasks_by_id.values():
            state = self.task_status(task, status, f)
            if state is None:
                continue
            total += 1
            if state in ("completed", "error"):
                done += 1
        return {
            "tasks_completed": done,
            "tasks_total": total,
            "elapsed_ms": int(max(0.0, now - self.created_at) * 1000),
        }

    # ------------------------------------------------------------------------ views

    def create_view(self, estimated_ms: int, show_canvas: bool) -> dict[str, Any]:
        data: dict[str, Any] = {
            "run_id": self.run_id,
            "status": RunStatus.RUNNING.value,
            "poll_url": f"/v1/run/{self.run_id}",
            "estimated_duration_ms": estimated_ms,
        }
        if show_canvas:
            data["canvas_id"] = self.canvas_id
        return data

    def get_view(
        self, now: float, show_canvas: bool, sign: Callable[[Artifact], str]
    ) -> dict[str, Any]:
        status, f = self.phase(now)
        data: dict[str, Any] = {"run_id": self.run_id, "status": status}
        if show_canvas:
            data["canvas_id"] = self.canvas_id
        if status == RunStatus.RUNNING:
            data["progress"] = self.progress(now)
        else:
            end = self.finished_at(now)
            data["duration_ms"] = int(max(0.0, (end or now) - self.created_at) * 1000)
            if status != RunStatus.FAILED:
                data["result"] = {
                    "final_output": self._final_output(status, f),
                    "artifacts": [
                        {
                            "id": art.id,
                            "type": art.kind.tag,
                            "name": art.name,
                            "download_url": sign(art),
                            "size_bytes": len(art.data),
                        }
                        for art in self.delivered_artifacts(status, f)
                    ],
                }
                data["metadata"] = {
                    "template_used": self.template if self.blocks is None else "custom",
                    "models_used": list(_MODELS[: 1 + len(self.nodes) % 3]),
                    "credits_consumed": self._credits(),
                }
            if status != RunStatus.COMPLETED:
                data["errors"] = self._errors(status)
        data["prompt"] = self.prompt
        data["template"] = self.template
        if self.blocks is not None:
            data["blocks"] = list(self.blocks)
        if self.agent_instructions is not None:
            data["agent_instructions"] = self.agent_instructions
        return data

    def delivered_artifacts(self, status: str, f: float) -> list[Artifact]:
        if status not in (RunStatus.COMPLETED, RunStatus.PARTIAL):
            return []
        return [
            node.artifact
            for node in self.nodes
            if node.artifact is not None and self.node_status(node, status, f) == "completed"
        ]

    def dag_view(self, now: float, sign: Callable[[Artifact], str]) -> dict[str, Any]:
        status, f = self.phase(now)
        nodes = []
        for node in self.nodes:
            state = self.node_status(node, status, f)
            item: dict[str, Any] = {
                "id": node.id,
                "name": node.name,
                "type": node.type,
                "status": state,
            }
            if node.role in ("prompt", "upload") or state == "completed":
                item["content"] = node.content
            elif state == "error":
                item["content"] = "This block failed."
            else:
                item["content"] = None
            if node.artifact is not None:
                item["url"] = sign(node.artifact) if state == "completed" else None
            else:
                item["url"] = node.url if state == "completed" else None
            item["sources"] = list(node.sources) if state == "completed" else []
            nodes.append(item)
        return {
            "canvas_id": self.canvas_id,
            "canvas_name": self.canvas_name,
            "nodes": nodes,
            "edges": [{"source_id": s, "target_id": t} for s, t in self.edges],
        }

    def tasks_view(self, now: float) -> dict[str, Any]:
        status, f = self.phase(now)
        completed: list[dict[str, Any]] = []
        not_completed: list[dict[str, Any]] = []
        for root in self.roots:
            tree = self._task_tree(root, status, f)
            if tree is None:
                continue
            if _all_completed(tree):
                completed.append(tree)
            else:
                not_completed.append(tree)
        return {"canvas_id": self.canvas_id, "completed": completed, "not_completed": not_completed}

    def task_view(self, task_id: str, now: float) -> dict[str, Any] | None:
        task = self.tasks_by_id.get(task_id)
        if task is None:
            return None
        status, f = self.phase(now)
        state = self.task_status(task, status, f)
        if state is None:
            return None
        children = []
        for child in task.children:
            child_state = self.task_status(child, status, f)
            if child_state is not None:
                children.append(_task_node(child, child_state))
        return _task_node(task, state, children)

    # ------------------------------------------------------------------------ helpers

    def _task_tree(self, task: Task, status: str, f: float) -> dict[str, Any] | None:
        state = self.task_status(task, status, f)
        if state is None:
            return None
        children = [
            sub
            for sub in (self._task_tree(child, status, f) for child in task.children)
            if sub is not None
        ]
        return _task_node(task, state, children)

    def _final_output(self, status: str, f: float) -> str:
        lines = [
            f"# {self.canvas_name}",
            "",
            f"You asked: *{_one_line(self.prompt)}*",
            "",
        ]
        if self.agent_instructions:
            lines += [f"Instructions followed: {_one_line(self.agent_instructions)}", ""]
        lines += ["## Summary", ""]
        for node in self.nodes:
            if node.role in ("gather", "output", "note"):
                state = self.node_status(node, status, f)
                mark = "done" if state == "completed" else state
                lines.append(f"- **{node.name}** ({node.type}): {mark}")
        if self.uploads:
            lines += ["", "## Inputs", ""]
            lines += [f"- `{u.filename}` ({u.size} bytes)" for u in self.uploads]
        delivered = self.delivered_artifacts(status, f)
        if delivered:
            lines += ["", "## Artifacts", ""]
            lines += [f"- {art.name}" for art in delivered]
        if status == RunStatus.PARTIAL:
            lines += ["", "Some blocks failed; the results above are usable but incomplete."]
        return "\n".join(lines) + "\n"

    def _errors(self, status: str) -> list[dict[str, Any]]:
        node = next((n for n in self.nodes if n.id == self.failing_node), None)
        if status == RunStatus.FAILED:
            message = "Agent execution failed"
            recoverable = False
        else:
            message = f"Block failed: {node.name}" if node else "A non-critical step failed"
            recoverable = True
        return [
            {
                "error": message,
                "block_id": node.id if node else None,
                "block_type": node.type if node else None,
                "recoverable": recoverable,
            }
        ]

    def _credits(self) -> int:
        return 5 * len(self.tasks_by_id) + 2 * len(self.uploads) + 10


# ---------------------------------------------------------------------------- building


def parse_outcome_marker(prompt: str) -> str | None:
    """The outcome a prompt asks for with ``[sandbox:failed]`` (etc.), if any."""
    match = _MARKER.search(prompt)
    return match.group(1).lower() if match else None


def build_run(
    *,
    run_id: str,
    api_key: str,
    prompt: str,
    template: str,
    blocks: Sequence[str] | None,
    agent_instructions: str | None,
    uploads: Sequence[Upload],
    created_at: float,
    duration: float | None,
    outcome: str,
    tasks: int | None,
) -> Run:
    """Lay out a run's canvas and task tree from what the create request asked for."""
    ids = _IdMaker(run_id)
    title = _title(prompt)
    chosen = _choose_blocks(prompt, template, blocks, bool(uploads))

    nodes: list[Node] = [
        Node(ids.make("node", "prompt"), "Prompt", "prompt-block", "prompt", 0.0, 0.02, prompt)
    ]
    for i, up in enumerate(uploads):
        content = f"{up.filename} ({up.content_type}, {up.size} bytes, sha256 {up.sha256[:12]})"
        if up.preview:
            content += "\n\n" + up.preview
        nodes.append(
            Node(ids.make("node", f"upload{i}"), up.filename, up.block_type, "upload", 0.02, 0.08,
                 content)
        )
    roles: dict[str, list[str]] = {"gather": [], "output": [], "note": []}
    for block in chosen:
        if block in _GATHER:
            roles["gather"].append(block)
        elif block in _NOTE:
            roles["note"].append(block)
        else:
            roles["output"].append(block)
    if not any(roles.values()):
        # Only a prompt was asked for: the prompt block does all the work.
        nodes[0].role = "note"
        nodes[0].end = 0.99

    weights = {"gather": 0.47, "output": 0.37, "note": 0.08}
    active = [role for role in ("gather", "output", "note") if roles[role]]
    span = 0.99 - 0.08
    total_weight = sum(weights[r] for r in active)
    cursor = 0.08
    for role in active:
        width = span * weights[role] / total_weight
        members = roles[role]
        for j, block in enumerate(members):
            start = cursor + width * 0.25 * j / len(members)
            end = cursor + width * (0.6 + 0.4 * (j + 1) / len(members))
            nodes.append(_make_node(ids, role, block, start, min(end, cursor + width), title,
                                    prompt))
        cursor += width

    # Artifacts: one per output block, or a summary page from the last node if none.
    producers = [n for n in nodes if n.role == "output" and n.type in ARTIFACT_KINDS]
    if not producers:
        last = nodes[-1]
        producers = [last]
        kinds = {last.id: SUMMARY_KIND}
    else:
        kinds = {n.id: ARTIFACT_KINDS[n.type] for n in producers}
    slug = _slug(title)
    used: set[str] = set()
    for node in producers:
        kind = kinds[node.id]
        name = f"{kind.label}_{slug}.{kind.extension}"
        if name in used:
            name = f"{kind.label}_{slug}_{len(used)}.{kind.extension}"
        used.add(name)
        body = [
            f"Prompt: {_one_line(prompt)}",
            *(f"Source: {u.filename}" for u in uploads),
            f"Built by the {node.name} block ({node.type}).",
            "Figures in this file are placeholders made by the Spine sandbox.",
        ]
        seed = int(hashlib.sha256(node.id.encode()).hexdigest()[:6], 16)
        node.artifact = Artifact(node.id, name, kind, title, body, seed)
    artifacts = {n.artifact.id: n.artifact for n in producers if n.artifact is not None}

    edges = _edges(nodes)
    roots, by_id = _tasks(ids, nodes, uploads, tasks, title)
    failing = _failing_node(nodes, outcome)
    return Run(
        run_id=run_id,
        canvas_id=ids.make("canvas", ""),
        api_key=api_key,
        prompt=prompt,
        template=template,
        blocks=list(blocks) if blocks is not None else None,
        agent_instructions=agent_instructions,
        uploads=list(uploads),
        created_at=created_at,
        duration=duration,
        outcome=outcome,
        nodes=nodes,
        edges=edges,
        roots=roots,
        tasks_by_id=by_id,
        artifacts=artifacts,
        failing_node=failing,
        canvas_name=title,
    )


def _task_node(
    task: Task, status: str, children: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """A task as the API shows it; ``children`` (nodes too) when given (a child listed under
    one task has none)."""
    node: dict[str, Any] = {
        "task_id": task.id,
        "name": task.name,
        "task_type": task.task_type,
        "status": status,
    }
    if children is not None:
        node["children"] = children
    return node


class _IdMaker:
    """Random-looking version-4 UUIDs, reproducible from the run id (and cheap to make)."""

    def __init__(self, run_id: str) -> None:
        self._rng = random.Random(uuid.UUID(run_id).int)

    def make(self, kind: str, label: str) -> str:
        bits = self._rng.getrandbits(128)
        bits = (bits & _CLEAR_VERSION_VARIANT) | _V4_BITS
        h = f"{bits:032x}"
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


_CLEAR_VERSION_VARIANT = ~((0xF000 << 64) | (0xC000 << 48)) & ((1 << 128) - 1)
_V4_BITS = (0x4000 << 64) | (0x8000 << 48)


def _choose_blocks(
    prompt: str, template: str, blocks: Sequence[str] | None, has_uploads: bool
) -> list[str]:
    if blocks is not None:
        wanted = list(dict.fromkeys(blocks))
    elif template == "auto":
        lowered = prompt.lower()
        wanted = ["web-research-block", "table-block"]
        outputs = [
            block for words, block in _AUTO_KEYWORDS
            if block in _BLOCK_TYPES and any(w in lowered for w in words)
        ]  # fmt: skip
        wanted += outputs[:2] or ["document-block"]
        wanted.append("text-block")
        wanted = [b for b in wanted if b in _BLOCK_TYPES]  # what the spec still has
    else:
        # A template the sandbox has no list for (one the spec added) may use every block type.
        wanted = list(TEMPLATE_BLOCKS.get(template, TEMPLATE_BLOCKS["auto"]))
        if "file-block" in wanted:
            # Uploaded files get their own nodes; a bare "file-block" stands for them.
            wanted.remove("file-block")
    return [
        b for b in wanted if b != "prompt-block" and not (b == "file-block" and has_uploads)
    ]


def _make_node(
    ids: _IdMaker, role: str, block: str, start: float, end: float, title: str, prompt: str
) -> Node:
    label = _LABELS.get(block, block)
    node = Node(ids.make("node", block), label, block, role, start, end, "")
    topic = _one_line(prompt, 80)
    if role == "gather":
        node.content = (
            f"## {label}\n\nFindings for *{topic}*:\n\n"
            "- Three relevant sources were reviewed.\n- Key figures were extracted into notes.\n"
        )
        if block in ("web-block", "web-research-block", "deep-research-block"):
            node.url = f"https://example.com/search?q={_slug(title).lower()}"
            node.sources = [
                {"title": f"Source {i} on {title}", "url": f"https://example.com/source-{i}"}
                for i in (1, 2, 3)
            ]
        elif block == "yt-block":
            node.url = "https://www.youtube.com/results?search_query=" + _slug(title).lower()
            node.sources = [{"title": f"Video about {title}", "url": "https://example.com/video"}]
    elif role == "note":
        node.content = f"**Summary.** The canvas answered: *{topic}*."
    else:
        node.content = f"{label} for *{topic}* is ready."
    return node


def _edges(nodes: list[Node]) -> list[tuple[str, str]]:
    by_role: dict[str, list[Node]] = {}
    for node in nodes:
        by_role.setdefault(node.role, []).append(node)
    inputs = by_role.get("prompt", []) + by_role.get("upload", [])
    layers = [inputs] + [by_role[r] for r in ("gather", "output", "note") if by_role.get(r)]
    edges: list[tuple[str, str]] = []
    for upstream, downstream in itertools.pairwise(layers):
        for target in downstream:
            for source in upstream:
                edges.append((source.id, target.id))
    # Uploaded files also feed every later layer directly when there are gather blocks.
    if len(layers) > 2:
        for target in layers[2]:
            for source in by_role.get("upload", []):
                edges.append((source.id, target.id))
    return edges


def _tasks(
    ids: _IdMaker, nodes: list[Node], uploads: Sequence[Upload], target: int | None, title: str
) -> tuple[list[Task], dict[str, Task]]:
    workers = [n for n in nodes if n.role in ("gather", "output", "note")]
    if target is None:
        shape = [[2, 2] for _ in workers]  # 2 personas x 2 tool calls per worker
    else:
        target = max(3, target)
        count = max(1, min(len(workers), target // 3))
        workers = workers[:count]
        shape = [[1] for _ in workers]
        extra = target - 3 * count
        i = 0
        while extra > 0:
            personas = shape[i % count]
            if i // count % 3 == 2 and extra >= 2:
                personas.append(1)
                extra -= 2
            else:
                personas[-1] += 1
                extra -= 1
            i += 1
    roots: list[Task] = []
    by_id: dict[str, Task] = {}
    files_to_read = [u.filename for u in uploads]
    for w, (node, personas) in enumerate(zip(workers, shape, strict=True)):
        role = node.role
        parent = Task(
            ids.make("task", f"{w}"),
            f"{node.name}: {_one_line(title, 60)}",
            TaskType.PARENT,
            node.start,
            node.end,
            node.id,
        )
        roots.append(parent)
        by_id[parent.id] = parent
        width = (node.end - node.start) / len(personas)
        tools = _TOOLS.get(node.type, ("think", "write"))
        for p, n_tools in enumerate(personas):
            p_start = node.start + width * p
            persona_name = _PERSONAS[role][p % len(_PERSONAS[role])]
            persona = Task(
                ids.make("task", f"{w}.{p}"),
                persona_name,
                TaskType.PERSONA,
                p_start,
                p_start + width,
                node.id,
                parent=parent,
            )
            parent.children.append(persona)
            by_id[persona.id] = persona
            t_width = width / n_tools
            for t in range(n_tools):
                tool = tools[t % len(tools)]
                if role == "gather" and files_to_read:
                    tool = f"read_file({files_to_read.pop(0)})"
                call = Task(
                    ids.make("task", f"{w}.{p}.{t}"),
                    tool,
                    TaskType.TOOL_CALL,
                    p_start + t_width * t,
                    p_start + t_width * (t + 1),
                    node.id,
                    parent=persona,
                )
                persona.children.append(call)
                by_id[call.id] = call
    return roots, by_id


def _failing_node(nodes: list[Node], outcome: str) -> str | None:
    if outcome == RunStatus.FAILED:
        return _first_unfinished(nodes, FAIL_AT)
    if outcome != RunStatus.PARTIAL:
        return None
    outputs = [n for n in nodes if n.artifact is not None]
    if len(outputs) > 1:
        return outputs[-1].id
    spare = [n for n in nodes if n.role in ("gather", "note", "output") and n.artifact is None]
    return spare[0].id if spare else None


def _first_unfinished(nodes: list[Node], f: float) -> str | None:
    running = [n for n in nodes if n.start <= f < n.end]
    if running:
        return running[0].id
    later = [n for n in nodes if n.end > f]
    return later[0].id if later else nodes[-1].id


def _on_last_path(task: Task) -> bool:
    """True for a task on the path parent → last persona → last tool call."""
    node: Task | None = task
    while node is not None and node.parent is not None:
        if node.parent.children[-1] is not node:
            return False
        node = node.parent
    return True


def _all_completed(tree: dict[str, Any]) -> bool:
    if tree["status"] != "completed":
        return False
    return all(_all_completed(child) for child in tree["children"])


# Words a cut title must not end on ("...report with charts from").
_DANGLING = frozenset({
    "a", "an", "and", "as", "at", "by", "for", "from", "in", "into", "of", "on", "or", "over",
    "per", "the", "to", "via", "with",
})


def _clip_words(words: list[str], limit: int) -> tuple[list[str], bool]:
    """As many whole words as fit in ``limit`` characters (joined by one separator), never
    ending on a dangling word; and whether any were dropped. Never cuts inside a word."""
    kept: list[str] = []
    used = 0
    for word in words:
        extra = len(word) + (1 if kept else 0)
        if kept and used + extra > limit:
            break
        kept.append(word)
        used += extra
    clipped = len(kept) < len(words)
    while clipped and len(kept) > 1 and kept[-1].lower().strip(".,;:!?") in _DANGLING:
        kept.pop()
    return kept, clipped


def _one_line(text: str, limit: int = 200) -> str:
    words = _MARKER.sub("", text).split()
    kept, clipped = _clip_words(words, limit - 1)
    return " ".join(kept) + ("…" if clipped else "")


def _title(prompt: str) -> str:
    """A canvas title from the prompt: whole words, at most about 48 characters."""
    words = _MARKER.sub("", prompt).split()
    kept, clipped = _clip_words(words, 48)
    title = " ".join(kept).rstrip(".,;:!?")
    if not title:
        return "Untitled run"
    return title + "…" if clipped else title


def _slug(title: str) -> str:
    """A file-name part from a title: whole words joined by ``_``, at most 40 characters."""
    words = [w for w in re.split(r"[^A-Za-z0-9]+", title) if w]
    kept, _ = _clip_words(words, 40)
    return "_".join(kept) or "output"
