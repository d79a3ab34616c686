"""The dbt project's own tests, run the way CI should run them: every model built from
empty raw tables (so every relation exists with its columns), then every dbt unit test
(rules §1-§5 on hand-made rows). Production runs skip unit tests (they check the SQL,
not the data); this is where they run."""

from __future__ import annotations

import contextlib
import json

import psycopg2
import pytest

from baoke.dbt import run_dbt
from baoke.extract.loader import ensure_raw_tables
from dbt_support import target_for

# every test here runs dbt
pytestmark = pytest.mark.slow

VARS = json.dumps({"business_date": "2026-11-20"})
DAY_BEFORE = json.dumps({"business_date": "2026-11-19"})


def test_every_model_builds_and_every_unit_test_passes(dbt_db):
    with contextlib.closing(psycopg2.connect(dbt_db)) as conn:
        ensure_raw_tables(conn)
    assert run_dbt(
        ["build", "--quiet", "--vars", VARS, *target_for(VARS), "--exclude-resource-type", "unit_test"], dbt_db
    )
    assert run_dbt(["test", "--quiet", "--vars", VARS, *target_for(VARS), "--select", "test_type:unit"], dbt_db), (
        "a dbt unit test failed: see dbt.log in DBT_LOG_PATH (dbt_project/logs outside the suite)"
    )


def test_dbt_parses_without_deprecations():
    import subprocess
    import sys
    from pathlib import Path

    from baoke.config import get_settings

    project = get_settings().dbt_project_dir
    dbt = Path(sys.executable).with_name("dbt")
    result = subprocess.run(
        [
            str(dbt),
            "parse",
            "--show-all-deprecations",
            "--no-partial-parse",
            "--project-dir",
            str(project),
            "--profiles-dir",
            str(project),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "deprecat" not in result.stdout.lower(), result.stdout


def test_unique_index_fails_when_the_key_is_not_enforced(dbt_db):
    """The big tables' keys are checked in the catalog, not by re-reading them: without
    the unique index, the test fails."""
    from baoke.dbt import test_failures

    with contextlib.closing(psycopg2.connect(dbt_db)) as conn:
        ensure_raw_tables(conn)
    assert run_dbt(
        [
            "build",
            "--quiet",
            "--vars",
            VARS,
            *target_for(VARS),
            "--exclude-resource-type",
            "unit_test",
            "--select",
            "+int_maintenance_due",
            "--indirect-selection",
            "cautious",
        ],
        dbt_db,
    )
    check = ["--select", "int_maintenance_due,test_name:unique_index", "--vars", VARS, *target_for(VARS)]
    assert test_failures(check, dbt_db) == {"unique_index_int_maintenance_due_ro_number": 0}
    with contextlib.closing(psycopg2.connect(dbt_db)) as conn, conn, conn.cursor() as cur:
        cur.execute(
            "select indexrelid::regclass::text from pg_index"
            " where indrelid = 'intermediate.int_maintenance_due'::regclass and indisunique"
        )
        (index,) = cur.fetchone()
        cur.execute(f"drop index {index}")
    assert test_failures(check, dbt_db) == {"unique_index_int_maintenance_due_ro_number": 1}


@pytest.mark.parametrize(
    ("model", "bad_row", "test"),
    [
        # a history model keeps every date; each build writes D's rows
        (
            "vehicle_churn_status",
            "insert into marts.vehicle_churn_status (business_date, vin, customer_id)"
            " values ('2026-11-19', 'V1', null)",
            "not_null_vehicle_churn_status_customer_id",
        ),
        # an incremental staging model rewrites the records that changed, stamped with D
        (
            "stg_dms__repair_orders",
            "insert into staging.stg_dms__repair_orders (ro_number, vin, ro_status, merged_for_date)"
            " values ('R1', 'V1', 'lost', '2026-11-19')",
            "accepted_values_stg_dms__repair_orders_ro_status__open__closed__void",
        ),
    ],
)
def test_a_models_tests_check_the_rows_its_build_wrote(dbt_db, model, bad_row, test):
    """A build for D tests the rows it wrote (`build_date_column`): the others were tested
    by the builds that wrote them. A bad row written by another day's build does not fail
    the build for D; the same row written for D does. The catalog test of the key
    (`unique_index`) still looks at the whole table."""
    from baoke.dbt import test_failures

    with contextlib.closing(psycopg2.connect(dbt_db)) as conn:
        ensure_raw_tables(conn)
    assert run_dbt(
        [
            "build",
            "--quiet",
            "--vars",
            VARS,
            *target_for(VARS),
            "--exclude-resource-type",
            "unit_test",
            "--select",
            f"+{model}",
            "--indirect-selection",
            "cautious",
        ],
        dbt_db,
    )
    with contextlib.closing(psycopg2.connect(dbt_db)) as conn, conn, conn.cursor() as cur:
        cur.execute(bad_row)
    check = ["--select", test]
    assert test_failures([*check, "--vars", VARS, *target_for(VARS)], dbt_db) == {test: 0}
    assert test_failures([*check, "--vars", DAY_BEFORE, *target_for(DAY_BEFORE)], dbt_db) == {test: 1}
