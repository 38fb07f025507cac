"""The README's main job: a real end-to-end run through the SDK against a local sandbox.

No API key and no network: an embedded sandbox (``spine.testing.Sandbox``) answers on loopback
exactly as the Spine API does on the wire, and the SDK finds it through the same environment
variables a user sets for the real service (SPINE_API_KEY, SPINE_BASE_URL). From the moment the
client exists, the code below is what you would run against https://api.getspine.ai.

    python examples/demo.py [--out DIR] [--run-duration SECONDS]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import spine
from spine import BlockType, SpineClient, Template
from spine.testing import Sandbox


def show_tasks(tasks: list[spine.TaskNode], depth: int = 1) -> None:
    for task in tasks:
        print(f"{'  ' * depth}- [{task.status}] {task.task_type}: {task.name}")
        show_tasks(task.children or [], depth + 1)


def count_tasks(tasks: list[spine.TaskNode], status: str | None = None) -> int:
    """Tasks in these trees, at every depth (only those with ``status`` when given)."""
    return sum(
        (status is None or task.status == status) + count_tasks(task.children or [], status)
        for task in tasks
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="where to save the artifacts")
    parser.add_argument("--run-duration", type=float, default=3.0, help="sandbox run length (s)")
    args = parser.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="spine-demo-"))
    out = args.out or workdir / "artifacts"
    data = workdir / "q1-sales.csv"
    data.write_text("region,quarter,revenue\nEMEA,Q1,1200000\nAMER,Q1,2100000\nAPAC,Q1,900000\n")

    with Sandbox(run_duration=args.run_duration) as sandbox:
        os.environ["SPINE_API_KEY"] = sandbox.api_key
        os.environ["SPINE_BASE_URL"] = sandbox.url
        print(f"spine {spine.__version__} -> sandbox at {sandbox.url} (no key, no network)\n")

        with SpineClient() as client:  # reads SPINE_API_KEY and SPINE_BASE_URL
            run = client.runs.create(
                "Create a Q1 performance report with charts from the attached sales data",
                template=Template.REPORT,
                blocks=[BlockType.PROMPT, BlockType.TABLE, BlockType.DOCUMENT, BlockType.FILE],
                agent_instructions="Write for a C-suite executive audience. Cite all sources.",
                files=[data],
            )
            estimate = run.create_response.estimated_duration_ms if run.create_response else 0
            print(f"created run {run.run_id} (estimated {estimate / 1000:.0f} s)")

            for progress in run.stream_progress(poll_interval=0.25):
                print(
                    f"  progress: {progress.tasks_completed}/{progress.tasks_total} tasks, "
                    f"{progress.elapsed_ms / 1000:.1f} s elapsed"
                )
            result = run.wait(poll_interval=0.25)
            final = run.last
            assert final is not None
            # A finished run reports no progress: its last figures come from the task tree.
            roots = run.get_tasks()
            finished = roots.completed + roots.not_completed
            seconds = (final.duration_ms or 0) / 1000
            print(
                f"  progress: {count_tasks(finished, status='completed')}/{count_tasks(finished)}"
                f" tasks, {seconds:.1f} s elapsed ({final.status})"
            )
            credits = final.metadata.credits_consumed if final.metadata else 0
            print(f"\nrun {final.status} in {seconds:.1f} s, {credits} credits")
            print("\n--- final output " + "-" * 50)
            print(result.final_output)
            print("-" * 67)

            out.mkdir(parents=True, exist_ok=True)
            print(f"\nartifacts -> {out}")
            for artifact in result.artifacts:
                path = artifact.download(out)  # streamed; no API key goes to the file host
                print(f"  {artifact.type:5} {path.name} ({path.stat().st_size} bytes)")

            # A sandbox canvas lives only in this process: no link to the Spine web app.
            dag = run.get_dag()
            print(f"\ncanvas {dag.canvas_id} (a sandbox canvas, not on the Spine web app;")
            print(f"  its graph: {sandbox.url}/v1/canvas/{dag.canvas_id}/dag)")
            names = {node.id: node.name for node in dag.nodes}
            print(f"canvas {dag.canvas_name!r}: {len(dag.nodes)} blocks, {len(dag.edges)} edges")
            for node in dag.nodes:
                print(f"  [{node.status}] {node.type}: {node.name}")
            for edge in dag.edges:
                print(
                    f"  {names.get(edge.source_id, edge.source_id)} -> "
                    f"{names.get(edge.target_id, edge.target_id)}"
                )

            tree = run.get_tasks()
            roots = tree.completed + tree.not_completed
            total = count_tasks(roots)
            done = count_tasks(roots, status="completed")
            print(
                f"\ntask tree: {total} tasks under {len(roots)} root tasks, {done} completed"
                f" ({len(tree.completed)} root tasks completed, {len(tree.not_completed)} not)"
            )
            show_tasks(roots)
    print("\ndemo finished: create (with a file) -> progress -> wait -> artifacts -> canvas")
    return 0


if __name__ == "__main__":
    sys.exit(main())
