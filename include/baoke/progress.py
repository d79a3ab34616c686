"""What ``baoke run`` shows while it runs: each DAG and task as its state changes.

A run takes minutes and used to print nothing until the end. Now, on a terminal, a live
panel (``rich``) shows each DAG with its running task, counts and elapsed time, and
every failure with its one-line reason as it happens. Anywhere else (a pipe, CI, a test,
or ``--verbose``, where the logs share the screen) each change is one plain line:

    01:02:03 baoke_dms.dealer_records[D001]: running
    01:02:09 baoke_dms.dealer_records[D001]: failed in 6.0 s, will retry (attempt 1 of 3): ConnectionError: ...

Tracebacks stay in the run's log file.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import dataclass, field
from typing import TextIO

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from baoke.report import dag_line, duration
from baoke.runner import FEED_HEALTH, DagResult, TaskEvent, Watch, task_id_of


def describe(event: TaskEvent, took: float | None = None) -> str:
    """A task's new state in words, how long it took, and its error last:
    ``failed in 2.1 s, will retry (attempt 1 of 3): ConnectionError: ...``."""
    attempts = event.max_tries + 1
    reported = event.state == "failed" and task_id_of(event.task) == FEED_HEALTH
    words = {"up_for_retry": "failed"}.get(event.state, "feed reported" if reported else event.state)
    if took is not None:
        words += f" in {duration(took)}"
    if event.state == "up_for_retry":
        words += f", will retry (attempt {event.try_number} of {attempts})"
    elif event.state == "running" and event.try_number > 1:
        words += f" (attempt {event.try_number} of {attempts})"
    if reported:
        return words + " (see the summary; not a failed step)"
    return f"{words}: {event.error}" if event.error else words


class PlainProgress(Watch):
    """One line per change, for output that is not a terminal."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self._running: dict[tuple[str, str], float] = {}

    def __enter__(self) -> PlainProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.out.flush()

    def _say(self, text: str) -> None:
        self.out.write(f"{dt.datetime.now():%H:%M:%S} {text}\n")
        self.out.flush()

    def dag_started(self, dag_id: str) -> None:
        self._say(f"{dag_id}: started")

    def task_changed(self, event: TaskEvent) -> None:
        key = (event.dag_id, event.task)
        took = None
        if event.state == "running":
            self._running[key] = time.monotonic()
        elif key in self._running:
            took = time.monotonic() - self._running.pop(key)
        self._say(f"{event.dag_id}.{event.task}: {describe(event, took)}")

    def dag_finished(self, result: DagResult) -> None:
        self._say(dag_line(result))


@dataclass
class _DagState:
    dag_id: str
    started: float = field(default_factory=time.monotonic)
    running: dict[str, TaskEvent] = field(default_factory=dict)
    done: int = 0
    result: DagResult | None = None
    problems: list[tuple[str, str]] = field(default_factory=list)  # (line, style), as they happen


class LiveProgress(Watch):
    """A live panel on a terminal: one row per DAG, its running tasks and its failures."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._dags: dict[str, _DagState] = {}
        self._lock = threading.Lock()
        self._live = Live(
            console=console,
            get_renderable=self._render,
            refresh_per_second=4,
            redirect_stdout=False,  # the logs go to the log file, not above the panel
            redirect_stderr=False,
        )

    def __enter__(self) -> LiveProgress:
        self._live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._live.stop()

    def dag_started(self, dag_id: str) -> None:
        with self._lock:
            self._dags[dag_id] = _DagState(dag_id)

    def task_changed(self, event: TaskEvent) -> None:
        with self._lock:
            dag = self._dags.setdefault(event.dag_id, _DagState(event.dag_id))
            if event.state == "running":
                dag.running[event.task] = event
                return
            dag.running.pop(event.task, None)
            dag.done += event.state != "up_for_retry"
            if event.state not in ("success", "skipped"):
                reported = task_id_of(event.task) == FEED_HEALTH and event.state == "failed"
                dag.problems.append((f"{event.task}: {describe(event)}", "yellow" if reported else "red"))

    def dag_finished(self, result: DagResult) -> None:
        with self._lock:
            dag = self._dags.setdefault(result.dag_id, _DagState(result.dag_id))
            dag.result = result
            dag.running.clear()

    def _render(self) -> RenderableType:
        with self._lock:
            rows = Table.grid(padding=(0, 1))
            for dag in self._dags.values():
                rows.add_row(*_dag_row(dag))
                for line, style in dag.problems:
                    rows.add_row("", Text(f"  {line}", style=style, overflow="fold"), "")
            return Group(rows)


def _dag_row(dag: _DagState) -> tuple[RenderableType, RenderableType, RenderableType]:
    if dag.result is not None:
        ok = dag.result.ok
        mark = Text("✔" if ok else ("-" if dag.result.state == "skipped" else "✖"), style="green" if ok else "red")
        return mark, Text(dag_line(dag.result)), Text("")
    now = ", ".join(dag.running) or "scheduling"
    status = Text(f"{dag.dag_id}: running; tasks done: {dag.done}; now: {now}", overflow="ellipsis", no_wrap=True)
    return Spinner("dots"), status, Text(duration(time.monotonic() - dag.started), style="dim")


def for_terminal(out: TextIO, plain: bool = False) -> PlainProgress | LiveProgress:
    """The live panel when ``out`` is a terminal (and ``plain`` is not asked), else lines."""
    console = Console(file=out, highlight=False)
    if console.is_terminal and not plain:
        return LiveProgress(console)
    return PlainProgress(out)
