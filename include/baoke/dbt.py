"""Running dbt outside Airflow: building the manifest Cosmos renders the DAG from, and
plain ``dbt`` commands (``dbt debug``, a bare ``dbt build`` for benchmarks).

dbt reads its connection from ``dbt_project/profiles.yml``, which takes it from the
``BAOKE_WH_*`` variables this module derives from the warehouse URL (``baoke dbt ...``
sets them for any dbt command). The profile has no defaults: a bare ``dbt`` run with
nothing configured fails naming the missing variable, instead of silently using
whatever server listens on 5432.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from baoke.config import NO_TELEMETRY_ENV, get_settings
from baoke.connections import parse_url

#: What ``dbt parse`` renders the profile with: parsing never connects, and a command
#: that does connect with it fails at once on the reserved ``.invalid`` host.
PARSE_ONLY_ENV = {
    "BAOKE_WH_HOST": "no-warehouse-configured.invalid",
    "BAOKE_WH_PORT": "5432",
    "BAOKE_WH_USER": "none",
    "BAOKE_WH_PASSWORD": "",
    "BAOKE_WH_DBNAME": "none",
    "BAOKE_WH_SSLMODE": "prefer",
    "BAOKE_WH_SSLROOTCERT": "",
    "BAOKE_WH_SSLCERT": "",
    "BAOKE_WH_SSLKEY": "",
}


def profile_env(warehouse_url: str) -> dict[str, str]:
    """The ``BAOKE_WH_*`` variables profiles.yml reads, from a warehouse URL (libpq's
    defaults where the URL says nothing: port 5432, the database named after the user,
    ``sslmode=prefer``, no certificates), so dbt builds in the database extraction loads,
    over the transport the connection asks for."""
    url = parse_url(warehouse_url)
    return {
        "BAOKE_WH_HOST": url.host or "127.0.0.1",
        "BAOKE_WH_PORT": str(url.port or 5432),
        "BAOKE_WH_USER": url.username or "postgres",
        "BAOKE_WH_PASSWORD": url.password or "",
        "BAOKE_WH_DBNAME": url.database or url.username or "postgres",
        "BAOKE_WH_SSLMODE": str(url.query.get("sslmode", "prefer")),
        "BAOKE_WH_SSLROOTCERT": str(url.query.get("sslrootcert", "")),
        "BAOKE_WH_SSLCERT": str(url.query.get("sslcert", "")),
        "BAOKE_WH_SSLKEY": str(url.query.get("sslkey", "")),
    }


def manifest_path() -> Path:
    return get_settings().dbt_target_dir / "manifest.json"


def run_dbt(args: list[str], warehouse_url: str | None = None) -> bool:
    """Run a dbt command in-process on the project; True if it succeeded.

    Without a warehouse URL the profile gets ``PARSE_ONLY_ENV``, which is enough for
    commands that do not connect (``parse``)."""
    return _invoke(args, warehouse_url).success


def test_failures(args: list[str], warehouse_url: str) -> dict[str, int]:
    """``dbt test`` with ``args``: failing rows per test (0 = passed); a test that could
    not run counts as one failure."""
    result = _invoke(["test", *args], warehouse_url)
    if result.result is None:
        raise RuntimeError(f"dbt test could not run: {result.exception}")
    return {
        r.node.name: (r.failures or 0) if str(r.status) in ("pass", "fail", "warn") else 1
        for r in result.result.results
    }


def _invoke(args: list[str], warehouse_url: str | None) -> Any:
    from dbt.cli.main import dbtRunner

    project = get_settings().dbt_project_dir
    os.environ.update(NO_TELEMETRY_ENV)
    os.environ.update(profile_env(warehouse_url) if warehouse_url else PARSE_ONLY_ENV)
    return dbtRunner().invoke([*args, "--project-dir", str(project), "--profiles-dir", str(project)])


def build_manifest() -> Path:
    """``dbt parse``: writes target/manifest.json, from which Cosmos renders one Airflow
    task per model without running dbt at DAG-parse time. Needs no database."""
    if not run_dbt(["parse", "--quiet"]):
        raise RuntimeError("dbt parse failed: the dbt project has an error (run `dbt parse` in dbt_project/)")
    return manifest_path()


def manifest_is_stale() -> bool:
    """True when a file of the dbt project is newer than the manifest."""
    target = manifest_path()
    if not target.exists():
        return True
    built = target.stat().st_mtime
    project = get_settings().dbt_project_dir
    sources = [p for sub in ("models", "seeds", "macros", "tests") for p in (project / sub).rglob("*") if p.is_file()]
    sources += [project / "dbt_project.yml", project / "profiles.yml"]
    return any(p.stat().st_mtime > built for p in sources if p.exists())
