"""The ``baoke`` command line: help, clear errors with exit code 2 for bad input, and
the day's run end to end through Airflow (dag.test) and dbt on a real PostgreSQL."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import psycopg2
import pytest
from typer.testing import CliRunner

from baoke.cli import app

BAOKE = str(Path(sys.executable).with_name("baoke"))
runner = CliRunner()


def baoke(*args: str, env: dict | None = None, timeout: int = 600) -> subprocess.CompletedProcess:
    """Run the installed ``baoke`` entry point as a user would."""
    return subprocess.run(
        [BAOKE, *args], capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})}
    )


def as_a_user_shell() -> dict[str, str]:
    """The suite's environment without the Airflow settings conftest put there: a user's
    shell has none, and the command must set them itself before anything imports Airflow
    (BAOKE_HOME still points at the suite's state, so the same Airflow home is found)."""
    return {name: value for name, value in os.environ.items() if not name.startswith("AIRFLOW")}


def log_of(result: subprocess.CompletedProcess) -> Path:
    """The run's own log file, as its output names it."""
    found = re.search(r"^log \(Airflow, dbt\): (.+)$", result.stdout, re.MULTILINE)
    assert found, result.stdout
    return Path(found.group(1))


def test_help_lists_the_commands():
    result = baoke("--help")
    assert result.returncode == 0
    for command in ("run", "demo", "warehouse", "ui", "manifest", "lists", "report", "docs"):
        assert command in result.stdout
    warehouse_help = baoke("warehouse", "--help")
    for sub in ("up", "down", "url"):
        assert sub in warehouse_help.stdout


@pytest.mark.parametrize("bad_date", ["2026/11/21", "21-11-2026", "2026-02-30", "yesterday"])
def test_an_unknown_date_format_is_a_clear_error_with_exit_2(bad_date: str):
    result = baoke("run", "--date", bad_date)
    assert result.returncode == 2
    assert "YYYY-MM-DD" in result.stderr
    assert bad_date in result.stderr


def test_run_requires_a_date():
    result = runner.invoke(app, ["run"])
    assert result.exit_code == 2
    assert "--date is required" in result.output


@pytest.mark.parametrize("bad_vars", ["[1, 2]", "{holdout_pct: 0}", "0.1"])
def test_vars_must_be_a_json_object(bad_vars: str):
    result = runner.invoke(app, ["run", "--date", "2026-11-21", "--vars", bad_vars])
    assert result.exit_code == 2
    assert "--vars must be a JSON object" in result.output


def test_warehouse_url_when_nothing_runs_exits_1(state_dir: Path):
    result = runner.invoke(app, ["warehouse", "url"])
    assert result.exit_code == 1
    assert "baoke warehouse up" in result.output


def test_an_unreachable_warehouse_fails_clearly(warehouse_url: str):
    result = baoke(
        "run", "--date", "2026-11-21", env={"AIRFLOW_CONN_WAREHOUSE": "postgresql://postgres:x@127.0.0.1:1/baoke"}
    )
    assert result.returncode == 1
    assert "cannot use the warehouse" in result.stderr
    assert "127.0.0.1" in result.stderr


@pytest.mark.slow
def test_demo_starts_the_embedded_warehouse_when_none_is_configured(monkeypatch, manifest: Path, state_dir: Path):
    monkeypatch.delenv("AIRFLOW_CONN_WAREHOUSE", raising=False)
    result = subprocess.run(
        [BAOKE, "demo", "--date", "2026-11-19"], capture_output=True, text=True, timeout=600, env=as_a_user_shell()
    )
    try:
        assert result.returncode == 0, result.stdout + result.stderr
        assert "demo finished: every DAG succeeded" in result.stdout
        assert "simulated dealer group:" in result.stdout
        assert "clock 2026-11-19" in result.stdout
        assert list((state_dir / "inbox" / "insurer").glob("*/POLICY_*_2026111[0-8].csv")), "insurer files delivered"
        embedded_url = runner.invoke(app, ["warehouse", "url"]).output.strip()
        assert embedded_url.startswith("postgresql://postgres:")
        with psycopg2.connect(embedded_url) as conn, conn.cursor() as cur:
            cur.execute("select count(*) from rules.service_intervals where brand = '*' and model = '*'")
            assert cur.fetchone() == (1,)
            cur.execute("select count(*) from marts.vehicle_churn_status where business_date = '2026-11-19'")
            assert cur.fetchone()[0] > 1000, "the demo builds the marts from the simulated feeds"
    finally:
        runner.invoke(app, ["warehouse", "down"])


def test_lists_shows_a_days_lists_as_delivered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``baoke lists``: per dealer the rows per list, reason and queue (codes with their
    Chinese labels), then the call list in file order with masked mobiles; read from the
    delivered files, a held dealer and a changed file said as such."""
    from baoke import outbound
    from baoke.filedrop import FolderDrop
    from test_outbound import D, row

    rows = [
        row("call", "D001", 1, priority=1, primary_reason="POST_SERVICE_FOLLOWUP", primary_reason_zh="修后回访",
            queue="followup_agent", queue_zh="回访员", customer_name="欧阳娜娜"),
        row("call", "D001", 2, customer_name="张伟", other_reasons="INSURANCE_RENEWAL", other_reasons_zh="续保提醒"),
        row("call", "D001", 3, customer_name="李强"),
        row("sms", "D001", 4, primary_reason="BIRTHDAY", primary_reason_zh="生日关怀", customer_name="陈静"),
    ]  # fmt: skip
    drop = FolderDrop(tmp_path)
    outbound.deliver(drop, outbound.build_files(D, "D001", rows))
    outbound.deliver(drop, outbound.held_files(D, "D002", "DMS repair_orders for D002 not extracted for 2026-11-20"))
    monkeypatch.setenv("OUTBOUND_DIR", str(tmp_path))

    result = runner.invoke(app, ["lists", "--date", "2026-11-20"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert f"lists for 2026-11-20 in {tmp_path}/2026-11-20" in out
    assert "D001: delivered (run 20261120-D001-" in out
    assert "D002: held — DMS repair_orders for D002" in out
    assert re.search(r"call list 外呼\s*│\s*3\s*│\s*MAINTENANCE_DUE 定保提醒 2, POST_SERVICE_FOLLOWUP 修后回访 1", out)
    assert "service_advisor 服务顾问 2, followup_agent 回访员 1" in out
    assert re.search(r"SMS list 短信\s*│\s*1\s*│\s*BIRTHDAY 生日关怀 1", out)
    assert re.search(r"exceptions 异常\s*│\s*0", out)
    table = out[out.index("call list D001 (3 rows)") :]
    assert [name for name in ("欧阳娜娜", "张伟", "李强") if name in table] == ["欧阳娜娜", "张伟", "李强"]
    assert table.index("欧阳娜娜") < table.index("张伟") < table.index("李强"), "file order: priority first"
    assert "138****0001" in table, "mobiles masked"
    assert "13800000001" not in out, "mobiles masked"
    assert "续保提醒" in table, "the other reasons' labels"
    assert "上午" in table, "the slot's label"

    only = runner.invoke(app, ["lists", "--date", "2026-11-20", "--dealer", "D002"])
    assert only.exit_code == 0
    assert "D002: held" in only.output
    assert "D001" not in only.output

    call_list = tmp_path / "2026-11-20" / "D001" / f"call_list_D001_{D:%Y%m%d}.csv"
    call_list.write_bytes(call_list.read_bytes().replace("张伟".encode(), "张三".encode()))
    changed = runner.invoke(app, ["lists", "--date", "2026-11-20", "--dealer", "D001"])
    assert "D001: damaged" in changed.output
    assert f"call_list_D001_{D:%Y%m%d}.csv differs from what its manifest vouches for" in changed.output

    for args in (["--date", "2026-11-21"], ["--date", "2026-11-20", "--dealer", "D009"]):
        none = runner.invoke(app, ["lists", *args])
        assert none.exit_code == 1
        assert "no lists for" in none.output
    assert runner.invoke(app, ["lists"]).exit_code == 2, "--date is required"
