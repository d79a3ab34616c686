"""The dbt project's own tests, run the way CI should run them: every model built from
empty raw tables (so every relation exists with its columns), then every dbt unit test
(rules §1-§5 on hand-made rows). Production runs skip unit tests (they check the SQL,
not the data); this is where they run."""

from __future__ import annotations

import contextlib
import json

import psycopg2

from baoke.dbt import run_dbt
from baoke.extract.loader import ensure_raw_tables

VARS = json.dumps({"business_date": "2026-11-20"})


def test_every_model_builds_and_every_unit_test_passes(fresh_db):
    with contextlib.closing(psycopg2.connect(fresh_db)) as conn:
        ensure_raw_tables(conn)
    assert run_dbt(["build", "--quiet", "--vars", VARS, "--exclude-resource-type", "unit_test"], fresh_db)
    assert run_dbt(["test", "--quiet", "--vars", VARS, "--select", "test_type:unit"], fresh_db), (
        "a dbt unit test failed: see dbt_project/logs/dbt.log")


def test_dbt_parses_without_deprecations():
    import subprocess
    import sys
    from pathlib import Path

    from baoke.config import get_settings

    project = get_settings().dbt_project_dir
    dbt = Path(sys.executable).with_name("dbt")
    result = subprocess.run([str(dbt), "parse", "--show-all-deprecations", "--no-partial-parse",
                             "--project-dir", str(project), "--profiles-dir", str(project)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "deprecat" not in result.stdout.lower(), result.stdout
