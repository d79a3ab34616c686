"""The dbt commands the tests run in-process, parsed once per business date.

dbt keeps one parse of the project per target folder and parses it all again (seconds)
when ``--vars`` differ from the last command's, and the tests alternate business dates
build after build. Each set of vars gets a target folder of its own in the session's
state folder, so each date is parsed once (with ``dbt_db``, which keeps the database in
the profile the same). What dbt builds and tests is the same; only where it keeps its
parse and compiled SQL differs.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def target_for(dbt_vars: str) -> list[str]:
    """``--target-path`` for a command run with ``--vars dbt_vars`` (a JSON object)."""
    name = hashlib.sha256(dbt_vars.encode()).hexdigest()[:12]
    return ["--target-path", str(Path(os.environ["BAOKE_HOME"]) / "dbt-targets" / name)]


def built_from_empty_feeds(server_url: str, name: str, dbt_vars: str) -> str:
    """A new database ``name`` on the test server, migrated, its raw tables empty, and
    every seed and model built by dbt with ``dbt_vars`` (without their tests, which
    test_dbt_unit.py runs): every mart, grant and policy as a run leaves them. Its URL."""
    import contextlib

    import psycopg2

    from baoke.dbt import run_dbt
    from baoke.extract.loader import ensure_raw_tables
    from baoke.migrate import migrate

    admin = psycopg2.connect(server_url)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'drop database if exists "{name}" with (force)')
        cur.execute(f'create database "{name}"')
    admin.close()
    url = server_url.rsplit("/", 1)[0] + "/" + name
    migrate(url)
    with contextlib.closing(psycopg2.connect(url)) as conn:
        ensure_raw_tables(conn)
    build = [
        "build",
        "--quiet",
        "--vars",
        dbt_vars,
        *target_for(dbt_vars),
        "--exclude-resource-type",
        "test",
        "unit_test",
    ]
    assert run_dbt(build, url), f"dbt build of {name} failed"
    return url
