"""What a run shows as it goes: a live panel on a terminal, plain lines anywhere else."""

from __future__ import annotations

import io
import os

from rich.console import Console

from baoke.progress import LiveProgress, PlainProgress, for_terminal
from baoke.runner import DagResult, TaskEvent


def test_a_terminal_gets_the_live_panel_and_anything_else_plain_lines():
    main, secondary = os.openpty()
    with os.fdopen(secondary, "w") as terminal:
        assert isinstance(for_terminal(terminal), LiveProgress)
        assert isinstance(for_terminal(terminal, plain=True), PlainProgress), "--verbose: logs share the screen"
    os.close(main)
    assert isinstance(for_terminal(io.StringIO()), PlainProgress)


def test_the_live_panel_shows_each_dags_running_task_and_each_failure_with_its_reason():
    panel = LiveProgress(Console(file=io.StringIO(), width=160))
    panel.dag_started("baoke_dms")
    panel.task_changed(TaskEvent("baoke_dms", "group_listings", "running"))
    panel.task_changed(TaskEvent("baoke_dms", "group_listings", "success"))
    panel.task_changed(TaskEvent("baoke_dms", "dealer_records[D001]", "running"))
    panel.task_changed(TaskEvent("baoke_dms", "dealer_records[D002]", "up_for_retry", 1, 2, "ConnectionError: refused"))
    shown = Console(file=io.StringIO(), width=160, record=True)
    shown.print(panel._render())
    text = shown.export_text()
    assert "baoke_dms: running; tasks done: 1; now: dealer_records[D001]" in text
    assert "dealer_records[D002]: failed, will retry (attempt 1 of 3): ConnectionError: refused" in text
    panel.dag_finished(
        DagResult("baoke_dms", "failed", {"group_listings": "success", "dealer_records[D002]": "failed"})
    )
    shown.print(panel._render())
    assert "baoke_dms: failed (1/2 tasks succeeded); failed: dealer_records[D002]" in shown.export_text()
