"""The live display of ``spine batch`` and ``spine runs resume``.

On a terminal it is drawn with ``rich`` (imported here only, when something is drawn): one
bar of items done out of the total, and the counts of items waiting, being created, running,
done, failed and ambiguous, with the credits spent so far. Anywhere else (a pipe, a log, CI,
``TERM=dumb``) it writes plain lines: one per item that ends, and a line of counts at most
every ``every`` seconds.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from spine.ledger._batch import BatchUpdate

__all__ = ["BatchDisplay", "clock", "one_line", "wants_live"]

_DONE = ("completed", "partial", "failed", "ambiguous", "rejected", "not_started", "lost",
         "unknown", "changed")
_ENDED = frozenset(_DONE)


def wants_live(stream: TextIO) -> bool:
    """True when ``stream`` is a terminal that can be redrawn (not ``TERM=dumb``)."""
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):
        return False
    return tty and os.environ.get("TERM", "") != "dumb"


def one_line(text: object) -> str:
    """``text`` on one line of printable characters, its runs of white space folded."""
    return " ".join("".join(c if c.isprintable() else " " for c in str(text)).split())


def clock(seconds: float) -> str:
    """``seconds`` as ``m:ss`` or ``h:mm:ss`` (never negative)."""
    total = max(0, int(seconds))
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def counts_line(update: BatchUpdate) -> str:
    """``[0:42] 120/1000 done: 800 waiting, 16 creating, 64 running, 118 completed, ...``"""
    c = update.counts
    done = sum(c.get(s, 0) for s in _DONE)
    parts = [f"{c.get(s, 0)} {s}" for s in ("waiting", "creating", "running") if c.get(s)]
    parts += [f"{c[s]} {s}" for s in _DONE if c.get(s)]
    return (
        f"[{clock(update.elapsed)}] {done}/{update.total} done: {', '.join(parts) or 'nothing'};"
        f" {update.credits} credits"
    )


class BatchDisplay:
    """Draws :class:`~spine.ledger.BatchUpdate` s on ``stream`` (pass it as ``on_update``)."""

    def __init__(
        self,
        stream: TextIO,
        *,
        live: bool,
        title: str = "batch",
        every: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream
        self.live = live
        self.title = title
        self.every = every
        self._clock = clock
        self._last_line = -1e9
        self._update: BatchUpdate | None = None
        self._printed: BatchUpdate | None = None  # the update the last counts line showed
        self._live: Any = None
        if live:
            self._start()

    def _start(self) -> None:
        from rich.console import Console
        from rich.live import Live

        console = Console(file=self.stream, highlight=False)
        self._live = Live(
            self._render(), console=console, refresh_per_second=4, transient=False,
            get_renderable=self._render,
        )
        self._live.start()

    def _render(self) -> Any:
        from rich.progress_bar import ProgressBar
        from rich.table import Table

        update = self._update
        grid = Table.grid(padding=(0, 2))
        if update is None:
            grid.add_row(f"{self.title}: starting...")
            return grid
        c = update.counts
        done = sum(c.get(s, 0) for s in _DONE)
        bar = ProgressBar(total=max(update.total, 1), completed=done, width=30)
        grid.add_row(
            f"[bold]{self.title}[/]", bar, f"{done}/{update.total} done",
            f"{clock(update.elapsed)}", f"{update.credits} credits",
        )
        counts = Table.grid(padding=(0, 2))
        labels = [
            ("waiting", "waiting", ""), ("creating", "creating", ""), ("running", "running",
                                                                        "cyan"),
            ("completed", "completed", "green"), ("partial", "partial", "yellow"),
            ("failed", "failed", "red"), ("ambiguous", "ambiguous", "magenta"),
            ("rejected", "rejected", "red"), ("lost", "lost", "red"),
            ("unknown", "unknown", "yellow"), ("changed", "changed", "magenta"),
            ("not_started", "not started", ""),
        ]
        cells = [f"[{style}]{c.get(key, 0)} {name}[/]" if style else f"{c.get(key, 0)} {name}"
                 for key, name, style in labels if c.get(key, 0) or key in ("waiting", "running")]
        counts.add_row(*cells)
        outer = Table.grid()
        outer.add_row(grid)
        outer.add_row(counts)
        return outer

    def __call__(self, update: BatchUpdate) -> None:
        self._update = update
        if self._live is not None:
            return  # redrawn by rich's own refresh thread
        now = self._clock()
        if update.item_id is not None and update.state in _ENDED:
            detail = f" {one_line(update.detail)}" if update.detail else ""
            print(
                f"[{clock(update.elapsed)}] {update.item_id}: {update.state}{detail}",
                file=self.stream, flush=True,
            )
        if now - self._last_line >= self.every:
            self._last_line = now
            self._printed = update
            print(counts_line(update), file=self.stream, flush=True)

    def close(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None
        elif self._update is not None and self._update is not self._printed:
            # The final counts, unless the last line printed already shows them.
            self._printed = self._update
            print(counts_line(self._update), file=self.stream, flush=True)
