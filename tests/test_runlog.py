"""A run's output: everything the process and its children write goes to the run's own
log; while a task runs, also to that task's log file; progress still reaches the screen."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import textwrap
from pathlib import Path

from baoke.runlog import new_log_path

PROGRAM = textwrap.dedent(
    """
    import os, subprocess, sys
    from pathlib import Path
    from baoke.runlog import RunOutput

    folder = Path(sys.argv[1])
    output = RunOutput(folder / "run.log")
    with output:
        print("parsing the DAGs")
        output.task_log(folder / "logs" / "dag_id=baoke_dms" / "task_id=extract" / "attempt=1.log")
        print("extract: 12 records")
        os.write(2, b"extract: a warning on stderr\\n")
        subprocess.run(["echo", "extract: from a child process"], check=True)
        output.terminal.write("progress: extract done\\n")
        output.task_log(None)
        print("between tasks")
        output.task_log(folder / "logs" / "dag_id=baoke_dms" / "task_id=feed_health" / "attempt=1.log")
        sys.stdout.write("no newline at the end of the task")
        output.task_log(None)
    print("after the run")
    """
)


def test_a_runs_output_goes_to_its_log_and_each_tasks_to_the_tasks_file(tmp_path: Path):
    result = subprocess.run(
        [sys.executable, "-c", PROGRAM, str(tmp_path)], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.splitlines() == ["progress: extract done", "after the run"], "only progress is shown"
    assert (tmp_path / "run.log").read_text().splitlines() == [
        "parsing the DAGs",
        "extract: 12 records",
        "extract: a warning on stderr",
        "extract: from a child process",
        "between tasks",
        "no newline at the end of the task",
    ]
    task_logs = tmp_path / "logs" / "dag_id=baoke_dms"
    assert (task_logs / "task_id=extract" / "attempt=1.log").read_text().splitlines() == [
        "extract: 12 records",
        "extract: a warning on stderr",
        "extract: from a child process",
    ]
    assert (task_logs / "task_id=feed_health" / "attempt=1.log").read_text() == "no newline at the end of the task\n"


def test_each_run_has_a_log_file_of_its_own(tmp_path: Path):
    first = new_log_path(tmp_path, dt.date(2026, 11, 20), dt.datetime(2026, 11, 20, 17, 0, 5, tzinfo=dt.UTC))
    later = new_log_path(tmp_path, dt.date(2026, 11, 20), dt.datetime(2026, 11, 20, 17, 0, 6, tzinfo=dt.UTC))
    assert first.name.startswith("run_2026-11-20_20261120T170005Z_")
    assert first != later
