"""What the ``spine`` command shows: the live progress bar, trees, Mermaid and DOT pictures.

Everything here is pure text work on the SDK's models (no HTTP, no pydantic import), so it is
tested directly. Text that came from the server (block names, task names, the final output) is
passed through :func:`printable` / :func:`printable_block` before it reaches a terminal, so a
hostile name cannot move the cursor, change the window title or hide text.
"""

from __future__ import annotations

import os
import time
import unicodedata
from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import TYPE_CHECKING, TextIO, TypeVar

from spine._redact import redact

if TYPE_CHECKING:
    from spine._models import CanvasDAG, CanvasNode, TaskNode, TaskTree

__all__ = [
    "DownloadBar",
    "ProgressDisplay",
    "dag_dot",
    "dag_mermaid",
    "dag_tree",
    "format_bytes",
    "format_elapsed",
    "printable",
    "printable_block",
    "task_tree",
    "tree_lines",
]

N = TypeVar("N")

_BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)


def printable(text: object) -> str:
    """One line of server text made safe for a terminal: control characters (ESC, C1, NUL...)
    and bidirectional overrides removed, line breaks and tabs turned into spaces, secrets (an
    API key a server echoed) masked."""
    out: list[str] = []
    for ch in redact(text):
        if ch in "\t\n\r\v\f":
            out.append(" ")
        elif ch in _BIDI_CONTROLS or unicodedata.category(ch) in ("Cc", "Cs"):
            continue
        else:
            out.append(ch)
    return "".join(out)


def printable_block(text: str) -> str:
    """Multi-line server text (the final output) made safe for a terminal: line breaks and tabs
    are kept, ``\\r\\n`` becomes ``\\n``, every other control character is removed, secrets
    masked."""
    text = redact(text).replace("\r\n", "\n")
    return "".join(
        ch for ch in text if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cs")
    )


def format_elapsed(seconds: float) -> str:
    """``0:07``, ``12:03``, ``1:02:03``."""
    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def format_bytes(size: int | None) -> str:
    """``512 B``, ``1.4 kB``, ``12.3 MB`` (SI units); ``?`` when unknown."""
    if size is None:
        return "?"
    if size < 1000:
        return f"{size} B"
    value = float(size)
    for unit in ("kB", "MB", "GB", "TB"):
        value /= 1000
        if value < 1000 or unit == "TB":
            return f"{value:.1f} {unit}"
    return f"{size} B"  # pragma: no cover - unreachable


def _can_encode(stream: TextIO, text: str) -> bool:
    encoding = getattr(stream, "encoding", None) or "ascii"
    try:
        text.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def _columns(stream: TextIO) -> int:
    try:
        columns = os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, OSError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = int(os.environ.get("COLUMNS", "0"))
        except ValueError:
            columns = 0
    return columns if columns > 0 else 80


# ----------------------------------------------------------------------------- progress


class ProgressDisplay:
    """A run's progress on ``stream``: a bar redrawn in place on a terminal (``live``), or a
    plain line each time something changes otherwise (logs, CI, pipes).

    The bar shows the status, tasks done / total and the elapsed time; between polls
    :meth:`tick` keeps the clock moving. The elapsed time is the server's ``elapsed_ms`` from
    the last poll plus the time since, so it is right for a run started long ago too.
    """

    def __init__(
        self,
        stream: TextIO,
        *,
        live: bool,
        clock: Callable[[], float] = time.monotonic,
        columns: Callable[[], int] | None = None,
    ) -> None:
        self.stream = stream
        self.live = live
        self._clock = clock
        self._columns = columns or (lambda: _columns(stream))
        fancy = _can_encode(stream, "\u2588\u2591\u280b")
        self._full, self._empty = ("\u2588", "\u2591") if fancy else ("#", "-")
        self._spinner = (
            "\u280b\u2819\u2839\u2838\u283c\u2834\u2826\u2827\u2807\u280f" if fancy else "|/-\\"
        )
        self._frame = 0
        self._started = clock()
        self._status = "running"
        self._done: int | None = None
        self._total: int | None = None
        self._elapsed_base: float | None = None  # server elapsed (s) at the last poll
        self._polled_at = self._started
        self._last_plain: tuple[str, int | None, int | None] | None = None
        self._drawn = False

    def elapsed(self) -> float:
        now = self._clock()
        if self._elapsed_base is None:
            return now - self._started
        return self._elapsed_base + (now - self._polled_at)

    def _server_elapsed(self, ms: int | None) -> None:
        """The server's elapsed time (ms) as of now, when it gave one: the clock counts on
        from it."""
        if ms is not None:
            self._elapsed_base = ms / 1000
            self._polled_at = self._clock()

    def update(
        self,
        status: str,
        done: int | None = None,
        total: int | None = None,
        elapsed_ms: int | None = None,
    ) -> None:
        """After a poll: the run's status and, while it runs, its progress."""
        self._status = status
        if done is not None:
            self._done = done
        if total is not None:
            self._total = total
        self._server_elapsed(elapsed_ms)
        if self.live:
            self._draw()
            return
        key = (status, self._done, self._total)
        if key != self._last_plain:
            self._last_plain = key
            self.stream.write(f"[{format_elapsed(self.elapsed())}] {self._summary()}\n")
            self.stream.flush()

    def finish(self, status: str, duration_ms: int | None = None) -> None:
        """The run ended: show its final status (and duration) once, then leave the bar."""
        self._status = status
        self._server_elapsed(duration_ms)
        if self.live:
            self.close()
            return
        self.stream.write(f"[{format_elapsed(self.elapsed())}] {printable(status)}\n")
        self.stream.flush()

    def tick(self) -> None:
        """Between polls: advance the clock and the spinner (a live bar only)."""
        if self.live:
            self._frame += 1
            self._draw()

    def close(self) -> None:
        """Take the bar off the screen (a live bar only), leaving the cursor at a line start."""
        if self.live and self._drawn:
            self.stream.write("\r\x1b[2K")
            self.stream.flush()
            self._drawn = False

    def _summary(self) -> str:
        status = printable(self._status)
        if not self._total:
            return f"{status}: starting"
        return f"{status}: {self._done or 0}/{self._total or 0} tasks done"

    def line(self) -> str:
        """The bar as it would be drawn now."""
        done, total = self._done or 0, self._total or 0
        spinner = self._spinner[self._frame % len(self._spinner)]
        status = printable(self._status)
        counts = f"{done}/{total} tasks" if total else "starting"
        clock = format_elapsed(self.elapsed())
        width = self._columns() - 1
        fixed = len(spinner) + len(status) + len(counts) + len(clock) + 8
        bar_width = max(0, min(40, width - fixed))
        if bar_width >= 5:
            filled = round(bar_width * done / total) if total else 0
            filled = max(0, min(bar_width, filled))
            bar = " " + self._full * filled + self._empty * (bar_width - filled) + " "
        else:
            bar = " "
        text = f"{spinner} {status}{bar} {counts}  {clock}"
        return text[: max(1, width)]

    def _draw(self) -> None:
        self.stream.write("\r\x1b[2K" + self.line())
        self.stream.flush()
        self._drawn = True


class DownloadBar:
    """Bytes of one artifact download on a terminal: ``name  [####----]  1.2 MB / 3.4 MB``."""

    def __init__(self, stream: TextIO, name: str, *, live: bool) -> None:
        self.stream = stream
        self.name = printable(name)
        self.live = live
        self._shown_at = 0.0
        self._drawn = False

    def __call__(self, done: int, total: int | None) -> None:
        if not self.live:
            return
        now = time.monotonic()
        if done and now - self._shown_at < 0.1 and (total is None or done < total):
            return  # redraw at most ten times a second
        self._shown_at = now
        size = f"{format_bytes(done)} / {format_bytes(total)}" if total else format_bytes(done)
        width = _columns(self.stream) - 1
        bar = ""
        if total:
            cells = 20
            filled = max(0, min(cells, round(cells * done / total)))
            bar = " [" + "#" * filled + "-" * (cells - filled) + "]"
        text = f"Downloading {self.name}{bar} {size}"
        self.stream.write("\r\x1b[2K" + text[: max(1, width)])
        self.stream.flush()
        self._drawn = True

    def close(self) -> None:
        if self._drawn:
            self.stream.write("\r\x1b[2K")
            self.stream.flush()
            self._drawn = False


# ----------------------------------------------------------------------------- trees


def tree_lines(
    roots: Sequence[N],
    label: Callable[[N], str],
    children: Callable[[N], Sequence[N]],
    *,
    key: Callable[[N], Hashable] | None = None,
    unicode: bool = True,
    seen: set[Hashable] | None = None,
) -> list[str]:
    """Draw a forest as text, one line per node, with ``├──`` / ``└──`` connectors.

    With ``key``, a node met a second time (a block with two parents in a DAG) is shown once
    more with ``(see above)`` and not expanded again, which also makes cycles harmless. Pass
    the same ``seen`` set to several calls to share that memory between them.
    """
    tee, last, pipe, blank = (
        ("├── ", "└── ", "│   ", "    ")
        if unicode
        else (
            "|-- ",
            "`-- ",
            "|   ",
            "    ",
        )
    )
    lines: list[str] = []
    if seen is None:
        seen = set()

    def walk(node: N, prefix: str, connector: str, child_prefix: str) -> None:
        text = label(node)
        if key is not None:
            k = key(node)
            if k in seen:
                lines.append(f"{prefix}{connector}{text} (see above)")
                return
            seen.add(k)
        lines.append(f"{prefix}{connector}{text}")
        kids = list(children(node))
        for i, kid in enumerate(kids):
            end = i == len(kids) - 1
            walk(kid, prefix + child_prefix, last if end else tee, blank if end else pipe)

    for root in roots:
        walk(root, "", "", "")
    return lines


def _node_label(node: CanvasNode) -> str:
    return f"{printable(node.name)}  ({printable(node.type)}, {printable(node.status)})"


def dag_tree(dag: CanvasDAG, *, unicode: bool = True) -> str:
    """The block graph as an indented tree: blocks nobody feeds into are the roots."""
    by_id = {node.id: node for node in dag.nodes}
    children: dict[str, list[CanvasNode]] = {node.id: [] for node in dag.nodes}
    has_parent: set[str] = set()
    for edge in dag.edges:
        if edge.source_id in by_id and edge.target_id in by_id:
            children[edge.source_id].append(by_id[edge.target_id])
            has_parent.add(edge.target_id)
    roots = [node for node in dag.nodes if node.id not in has_parent]
    seen: set[Hashable] = set()

    def draw(nodes: Sequence[CanvasNode]) -> list[str]:
        return tree_lines(
            nodes,
            _node_label,
            lambda n: children[n.id],
            key=lambda n: n.id,
            unicode=unicode,
            seen=seen,
        )

    lines = draw(roots)
    # Blocks only reachable through a cycle (never in a real DAG) are still shown.
    for node in dag.nodes:
        if node.id not in seen:
            lines += draw([node])
    header = (
        f"Canvas {printable(dag.canvas_name)!r} ({printable(dag.canvas_id)}): "
        f"{len(dag.nodes)} blocks, {len(dag.edges)} edges"
    )
    return "\n".join([header, *lines]) + "\n"


def _task_label(task: TaskNode) -> str:
    return f"{printable(task.name)}  ({printable(task.task_type)}, {printable(task.status)})"


def _count(tasks: Iterable[TaskNode]) -> int:
    return sum(1 + _count(t.children or []) for t in tasks)


def task_tree(tree: TaskTree, *, unicode: bool = True) -> str:
    """The task tree of a canvas: completed root tasks, then the ones not completed."""
    out = [
        f"Tasks of canvas {printable(tree.canvas_id)}: "
        f"{_count(tree.completed)} in completed trees, "
        f"{_count(tree.not_completed)} in trees not completed"
    ]
    for title, roots in (("Completed", tree.completed), ("Not completed", tree.not_completed)):
        out.append("")
        out.append(f"{title} ({len(roots)})")
        if not roots:
            out.append("  (none)")
            continue
        out += tree_lines(
            roots,
            _task_label,
            lambda t: t.children or [],
            key=lambda t: t.task_id,
            unicode=unicode,
        )
    return "\n".join(out) + "\n"


def single_task(task: TaskNode, *, unicode: bool = True) -> str:
    """One task with the immediate children the single-task endpoint fills in."""
    lines = tree_lines(
        [task], _task_label, lambda t: t.children or [], key=lambda t: t.task_id, unicode=unicode
    )
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------- pictures

_STATUS_STYLES = {
    "completed": ("fill:#dcfce7,stroke:#16a34a", "#dcfce7"),
    "running": ("fill:#dbeafe,stroke:#2563eb", "#dbeafe"),
    "error": ("fill:#fee2e2,stroke:#dc2626", "#fee2e2"),
    "failed": ("fill:#fee2e2,stroke:#dc2626", "#fee2e2"),
    "idle": ("fill:#f3f4f6,stroke:#9ca3af", "#f3f4f6"),
}


def _mermaid_text(text: object) -> str:
    """Text inside a Mermaid ``["..."]`` label: entity codes for the characters Mermaid reads."""
    value = printable(text)
    value = value.replace("#", "#35;")
    for ch, code in (('"', "#quot;"), ("<", "#lt;"), (">", "#gt;"), ("`", "#96;")):
        value = value.replace(ch, code)
    return value


def dag_mermaid(dag: CanvasDAG) -> str:
    """The block graph as a Mermaid flowchart, ready to paste into Markdown (GitHub renders it)."""
    ids: dict[str, str] = {}
    lines = ["flowchart TD"]
    for node in dag.nodes:
        ids[node.id] = f"n{len(ids)}"
        lines.append(
            f'    {ids[node.id]}["{_mermaid_text(node.name)}<br/>{_mermaid_text(node.type)}"]'
        )
    for edge in dag.edges:
        for end in (edge.source_id, edge.target_id):
            if end not in ids:  # an edge to a block the API did not list: still drawn
                ids[end] = f"n{len(ids)}"
                lines.append(f'    {ids[end]}["{_mermaid_text(end)}"]')
        lines.append(f"    {ids[edge.source_id]} --> {ids[edge.target_id]}")
    groups: dict[str, list[str]] = {}
    for node in dag.nodes:
        status = str(node.status)
        if status in _STATUS_STYLES:
            groups.setdefault(status, []).append(ids[node.id])
    for status, members in groups.items():
        lines.append(f"    classDef {status} {_STATUS_STYLES[status][0]}")
        lines.append(f"    class {','.join(members)} {status}")
    return "\n".join(lines) + "\n"


def _dot_text(text: object) -> str:
    return printable(text).replace("\\", "\\\\").replace('"', '\\"')


def dag_dot(dag: CanvasDAG) -> str:
    """The block graph in Graphviz DOT (``spine dag ID --format dot | dot -Tsvg > dag.svg``)."""
    lines = [
        f'digraph "{_dot_text(dag.canvas_name)}" {{',
        "    rankdir=TB;",
        '    node [shape=box, style="rounded,filled", fillcolor="#ffffff", fontname="Helvetica"];',
    ]
    for node in dag.nodes:
        fill = _STATUS_STYLES.get(str(node.status), ("", "#ffffff"))[1]
        lines.append(
            f'    "{_dot_text(node.id)}" [label="{_dot_text(node.name)}\\n{_dot_text(node.type)}",'
            f' fillcolor="{fill}"];'
        )
    for edge in dag.edges:
        lines.append(f'    "{_dot_text(edge.source_id)}" -> "{_dot_text(edge.target_id)}";')
    lines.append("}")
    return "\n".join(lines) + "\n"
