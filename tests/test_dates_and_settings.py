"""The business date every job uses, and settings read only from the environment."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from baoke.config import conn_env_name, get_settings
from baoke.dates import TZ, business_date_from_context, day_start, parse_business_date, run_logical_date
from baoke.orchestration.dbt_tasks import set_dbt_vars
from baoke.report import dag_line
from baoke.runner import DagResult


def test_the_daily_run_for_d_starts_at_0100_shanghai_and_sees_until_d_midnight():
    d = dt.date(2026, 11, 21)
    assert run_logical_date(d).isoformat() == "2026-11-21T01:00:00+08:00"
    assert day_start(d).astimezone(dt.UTC).isoformat() == "2026-11-20T16:00:00+00:00"


def test_business_date_comes_from_the_data_interval_in_shanghai():
    # 2026-11-20 17:00 UTC is 2026-11-21 01:00 in Shanghai: the run for 2026-11-21.
    end = dt.datetime(2026, 11, 20, 17, 0, tzinfo=dt.UTC)
    context = {"dag_run": SimpleNamespace(conf={}), "data_interval_end": end, "logical_date": end}
    assert business_date_from_context(context) == dt.date(2026, 11, 21)


def test_business_date_in_the_run_conf_wins():
    end = dt.datetime(2026, 11, 20, 17, 0, tzinfo=TZ)
    context = {"dag_run": SimpleNamespace(conf={"business_date": "2026-06-30"}), "data_interval_end": end}
    assert business_date_from_context(context) == dt.date(2026, 6, 30)


def test_an_asset_triggered_run_without_a_date_fails_clearly():
    context = {"dag_run": SimpleNamespace(conf={}), "data_interval_end": None, "logical_date": None}
    with pytest.raises(ValueError, match="business_date"):
        business_date_from_context(context)


def test_parse_business_date_is_strict():
    assert parse_business_date("2026-02-28") == dt.date(2026, 2, 28)
    for bad in ("2026-2-28", "20260228", "2026-02-29"):
        with pytest.raises(ValueError, match="YYYY-MM-DD"):
            parse_business_date(bad)


def test_dbt_vars_carry_the_business_date_and_run_overrides():
    operator = SimpleNamespace(vars=None)
    conf = {"business_date": "2026-11-21", "dbt_vars": {"holdout_pct": 0, "business_date": "1999-01-01"}}
    set_dbt_vars({"dag_run": SimpleNamespace(conf=conf)}, operator)
    assert operator.vars == {"holdout_pct": 0, "business_date": "2026-11-21"}


def test_folders_default_under_the_state_dir_and_follow_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("BAOKE_HOME", str(tmp_path))
    monkeypatch.delenv("OUTBOUND_DIR", raising=False)
    assert get_settings().folder("OUTBOUND_DIR") == str(tmp_path / "outbound")
    monkeypatch.setenv("OUTBOUND_DIR", "sftp://callcenter/outbound")
    assert get_settings().folder("OUTBOUND_DIR") == "sftp://callcenter/outbound"
    monkeypatch.setenv("HOME", "/elsewhere")
    assert get_settings().state_dir == tmp_path, "HOME is not BAOKE_HOME"


def test_connection_env_names_follow_airflow():
    assert conn_env_name("dms_api") == "AIRFLOW_CONN_DMS_API"


def test_a_failed_dag_names_its_failed_tasks():
    result = DagResult(
        "baoke_warehouse", "failed", {"dbt.a.run": "success", "dbt.b.run": "failed", "dbt.c.run": "upstream_failed"}
    )
    assert not result.ok
    assert dag_line(result) == "baoke_warehouse: failed (1/3 tasks succeeded); failed: dbt.b.run, dbt.c.run"


def test_an_asset_triggered_run_takes_d_from_the_events_that_triggered_it():
    import datetime as dt
    from types import SimpleNamespace

    from baoke.dates import business_date_from_context, stamp_business_date

    emitted: dict = {"raw.a": SimpleNamespace(extra={}), "raw.b": SimpleNamespace(extra={})}
    task = SimpleNamespace(outlets=["raw.a", "raw.b"])
    stamp_business_date({"task": task, "outlet_events": emitted}, dt.date(2026, 11, 21))
    assert [e.extra for e in emitted.values()] == [{"business_date": "2026-11-21"}] * 2
    triggering = {
        "raw.a": [emitted["raw.a"], SimpleNamespace(extra={"business_date": "2026-11-20"})],
        "raw.b": [SimpleNamespace(extra=None)],
    }
    context = {
        "dag_run": SimpleNamespace(conf={}),
        "triggering_asset_events": triggering,
        "logical_date": None,
        "data_interval_end": None,
    }
    assert business_date_from_context(context) == dt.date(2026, 11, 21)
