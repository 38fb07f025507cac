"""The pure renderers of the command line: progress display, trees, Mermaid, DOT, the follow
loop's decisions (with an injected clock), and text sanitising."""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from spine import CanvasDAG, RunStatus, SpineClient, SpineTimeoutError, TaskTree
from spine.cli._commands import follow
from spine.cli._render import (
    ProgressDisplay,
    dag_dot,
    dag_mermaid,
    dag_tree,
    format_bytes,
    format_elapsed,
    printable,
    printable_block,
    task_tree,
    tree_lines,
)
from spine.testing import Sandbox


class Clock:
    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class Stream(io.StringIO):
    encoding = "utf-8"


# ----------------------------------------------------------------------------- formatting


def test_format_elapsed_and_bytes() -> None:
    assert format_elapsed(0) == "0:00"
    assert format_elapsed(7.9) == "0:07"
    assert format_elapsed(723) == "12:03"
    assert format_elapsed(3723) == "1:02:03"
    assert format_elapsed(-5) == "0:00"
    assert format_bytes(None) == "?"
    assert format_bytes(512) == "512 B"
    assert format_bytes(1457) == "1.5 kB"
    assert format_bytes(12_300_000) == "12.3 MB"


def test_printable() -> None:
    assert printable("a\x1b[31mb\x07\x00c\u202e\nd\te\x9b") == "a[31mbc d e"
    assert printable_block("line\r\nnext\x1b[2J\ttab\n") == "line\nnext[2J\ttab\n"


# ----------------------------------------------------------------------------- progress


def test_plain_progress_prints_a_line_per_change() -> None:
    clock = Clock()
    stream = Stream()
    display = ProgressDisplay(stream, live=False, clock=clock)
    display.update("running", 0, 0, 0)
    display.update("running", 0, 0, 400)  # nothing new: no line
    clock.now += 2
    display.update("running", 3, 8, 2500)
    display.tick()  # ignored when not live
    clock.now += 60
    display.update("running", 8, 9, 63_000)
    display.finish("completed", 64_000)
    assert stream.getvalue().splitlines() == [
        "[0:00] running: starting",
        "[0:02] running: 3/8 tasks done",
        "[1:03] running: 8/9 tasks done",
        "[1:04] completed",
    ]


def test_live_bar_redraws_in_place() -> None:
    clock = Clock()
    stream = Stream()
    display = ProgressDisplay(stream, live=True, clock=clock, columns=lambda: 60)
    display.update("running", 5, 10, 30_000)
    clock.now += 1.5
    display.tick()
    text = stream.getvalue()
    frames = [f for f in text.split("\r\x1b[2K") if f]
    assert len(frames) == 2
    assert frames[0].endswith("5/10 tasks  0:30")
    assert frames[1].endswith("5/10 tasks  0:31")  # the clock moves between polls
    assert frames[0][0] != frames[1][0]  # and so does the spinner
    bar = re.search("\u2588+\u2591+", frames[0])
    assert bar
    assert abs(bar.group().count("\u2588") - bar.group().count("\u2591")) <= 1  # half done
    assert all(len(f) <= 59 for f in frames)
    display.close()
    assert stream.getvalue().endswith("\r\x1b[2K")


def test_live_bar_fits_narrow_terminals_and_ascii() -> None:
    class Ascii(io.StringIO):
        encoding = "ascii"

    stream = Ascii()
    display = ProgressDisplay(stream, live=True, clock=Clock(), columns=lambda: 30)
    display.update("running", 1, 3, 1000)
    (frame,) = [f for f in stream.getvalue().split("\r\x1b[2K") if f]
    assert len(frame) <= 29
    frame.encode("ascii")
    wide = Ascii()
    ProgressDisplay(wide, live=True, clock=Clock(), columns=lambda: 100).update("running", 1, 2, 0)
    assert "#" in wide.getvalue() and "-" in wide.getvalue()


def test_unknown_status_is_shown_safely() -> None:
    stream = Stream()
    ProgressDisplay(stream, live=False, clock=Clock()).update("queued\x1b[2J", 1, 2, 0)
    assert stream.getvalue() == "[0:00] queued[2J: 1/2 tasks done\n"


# ----------------------------------------------------------------------------- follow loop
# follow() waits with the public RunHandle.wait_for_terminal(on_poll=...): these drive a real
# handle against a manual-mode sandbox over loopback, with the client's clock and sleep replaced
# (the runtime's test seam), so the schedule is exact and nothing waits for real.


class SandboxClock(Clock):
    """A fake clock whose sleeps can finish the sandbox's run after a number of them."""

    def __init__(self, box: Sandbox, finish_after: int | None, outcome: str = "completed") -> None:
        super().__init__()
        self.box = box
        self.finish_after = finish_after
        self.outcome = outcome

    def sleep(self, seconds: float) -> None:
        super().sleep(seconds)
        if self.finish_after is not None and len(self.sleeps) == self.finish_after:
            self.box.complete(outcome=self.outcome)


@pytest.fixture
def manual_box() -> Iterator[Sandbox]:
    with Sandbox(run_duration=None) as box:
        yield box


def _handle(box: Sandbox, clock: Clock) -> Any:
    client = SpineClient(api_key=box.api_key, base_url=box.url)
    client._runtime.clock = clock
    client._runtime.sleep = clock.sleep
    return client.runs.create("Follow me")


def test_follow_polls_until_terminal_with_a_capped_doubling_schedule(manual_box: Sandbox) -> None:
    clock = SandboxClock(manual_box, finish_after=6)
    handle = _handle(manual_box, clock)
    stream = Stream()
    display = ProgressDisplay(stream, live=False, clock=clock)
    run = follow(handle, display, timeout=100, poll_interval=1, max_poll_interval=4)
    assert run.status == RunStatus.COMPLETED
    assert clock.sleeps == [1, 2, 4, 4, 4, 4]
    assert stream.getvalue().splitlines()[-1].endswith("completed")


def test_follow_keeps_going_through_transient_errors(manual_box: Sandbox) -> None:
    clock = SandboxClock(manual_box, finish_after=2, outcome="failed")
    handle = _handle(manual_box, clock)
    manual_box.inject(drop="before", path="/v1/run/*")
    manual_box.inject(status=503, path="/v1/run/*", after=0, times=4)  # past the retry budget
    run = follow(handle, None, timeout=100, poll_interval=1)
    assert run.status == RunStatus.FAILED
    assert len(clock.sleeps) >= 2


def test_follow_times_out_with_the_run_id(manual_box: Sandbox) -> None:
    clock = SandboxClock(manual_box, finish_after=None)
    handle = _handle(manual_box, clock)
    with pytest.raises(SpineTimeoutError) as info:
        follow(handle, None, timeout=5, poll_interval=1)
    assert info.value.run_id == handle.run_id
    assert sum(clock.sleeps) == pytest.approx(5)


def test_follow_live_redraws_between_polls(manual_box: Sandbox) -> None:
    """A live bar keeps its spinner and clock moving between polls (a ticker thread)."""
    clock = Clock()
    handle = _handle(manual_box, clock)
    ticked = threading.Event()

    class Display(ProgressDisplay):
        ticks = 0

        def tick(self) -> None:
            super().tick()
            Display.ticks += 1
            if Display.ticks >= 3:
                ticked.set()

    def sleep(seconds: float) -> None:
        # Stands in for the wait between polls: the bar must move meanwhile.
        clock.sleep(seconds)
        assert ticked.wait(10), "the live bar was not redrawn between polls"
        manual_box.complete()

    handle._runtime.sleep = sleep
    stream = Stream()
    display = Display(stream, live=True, clock=clock, columns=lambda: 80)
    run = follow(handle, display, timeout=10, poll_interval=1, tick_seconds=0.01)
    assert run.status == RunStatus.COMPLETED
    assert Display.ticks >= 3
    assert stream.getvalue().count("\r\x1b[2K") >= 3


# ----------------------------------------------------------------------------- trees


def test_tree_lines() -> None:
    tree = {"a": ["b", "c"], "b": ["d"], "c": [], "d": []}
    lines = tree_lines(["a"], str, lambda n: tree[n])
    assert lines == ["a", "├── b", "│   └── d", "└── c"]
    ascii_lines = tree_lines(["a"], str, lambda n: tree[n], unicode=False)
    assert ascii_lines == ["a", "|-- b", "|   `-- d", "`-- c"]


def _dag(**extra: Any) -> CanvasDAG:
    nodes = [
        {"id": "p", "name": "Prompt", "type": "prompt-block", "status": "completed"},
        {"id": "w", "name": "Web", "type": "web-block", "status": "completed"},
        {"id": "t", "name": 'Table "Q1" <b>#1</b>', "type": "table-block", "status": "running"},
        {"id": "m", "name": "Memo\x1b[31m", "type": "memo-block", "status": "error"},
        {"id": "x", "name": "Odd", "type": "hologram-block", "status": "warming-up"},
    ]
    edges = [
        {"source_id": "p", "target_id": "w"},
        {"source_id": "p", "target_id": "t"},
        {"source_id": "w", "target_id": "m"},
        {"source_id": "t", "target_id": "m"},  # m has two parents
    ]
    data = {"canvas_id": "c1", "canvas_name": "Q1", "nodes": nodes, "edges": edges, **extra}
    return CanvasDAG.model_validate(data)


def test_dag_tree_shows_shared_blocks_once() -> None:
    text = dag_tree(_dag())
    assert text.splitlines() == [
        "Canvas 'Q1' (c1): 5 blocks, 4 edges",
        "Prompt  (prompt-block, completed)",
        "├── Web  (web-block, completed)",
        "│   └── Memo[31m  (memo-block, error)",
        '└── Table "Q1" <b>#1</b>  (table-block, running)',
        "    └── Memo[31m  (memo-block, error) (see above)",
        "Odd  (hologram-block, warming-up)",
    ]


def test_dag_tree_survives_a_cycle() -> None:
    dag = _dag(edges=[{"source_id": "w", "target_id": "t"}, {"source_id": "t", "target_id": "w"}])
    lines = dag_tree(dag).splitlines()
    assert sum("Web" in line for line in lines) == 2  # once, then "(see above)"
    assert any(line.endswith("(see above)") for line in lines)


def test_mermaid() -> None:
    text = dag_mermaid(
        _dag(edges=[*_dag().model_dump()["edges"], {"source_id": "p", "target_id": "ghost"}])
    )
    lines = text.splitlines()
    assert lines[0] == "flowchart TD"
    assert '    n2["Table #quot;Q1#quot; #lt;b#gt;#35;1#lt;/b#gt;<br/>table-block"]' in lines
    assert '    n3["Memo[31m<br/>memo-block"]' in lines
    assert '    n5["ghost"]' in lines and "    n0 --> n5" in lines
    assert "    n1 --> n3" in lines and "    n2 --> n3" in lines
    assert "    class n0,n1 completed" in lines
    assert "    class n2 running" in lines and "    class n3 error" in lines
    assert not any("warming" in line for line in lines)  # unknown statuses get no class
    assert "\x1b" not in text


def test_dot() -> None:
    dag = _dag(canvas_name='Say "hi" \\ bye')
    text = dag_dot(dag)
    assert text.startswith('digraph "Say \\"hi\\" \\\\ bye" {\n')
    assert '    "t" [label="Table \\"Q1\\" <b>#1</b>\\ntable-block", fillcolor="#dbeafe"];' in text
    assert '    "x" [label="Odd\\nhologram-block", fillcolor="#ffffff"];' in text
    assert '    "w" -> "m";' in text
    assert text.endswith("}\n")


def test_task_tree() -> None:
    tree = TaskTree.model_validate(
        {
            "canvas_id": "c1",
            "completed": [
                {
                    "task_id": "1",
                    "name": "Research",
                    "task_type": "parent-task",
                    "status": "completed",
                    "children": [
                        {
                            "task_id": "2",
                            "name": "Analyst",
                            "task_type": "persona-task",
                            "status": "completed",
                            "children": [
                                {
                                    "task_id": "3",
                                    "name": "web_search",
                                    "task_type": "tool-call-task",
                                    "status": "completed",
                                    "children": None,
                                }
                            ],
                        }
                    ],
                }
            ],
            "not_completed": [],
        }
    )
    assert task_tree(tree).splitlines() == [
        "Tasks of canvas c1: 3 in completed trees, 0 in trees not completed",
        "",
        "Completed (1)",
        "Research  (parent-task, completed)",
        "└── Analyst  (persona-task, completed)",
        "    └── web_search  (tool-call-task, completed)",
        "",
        "Not completed (0)",
        "  (none)",
    ]
