"""A project-local Airflow for laptops and CI: SQLite metadata under ``.baoke/airflow``,
the project's ``dags/`` and ``plugins/``, no examples, nothing phoning home.

Airflow reads its configuration when it is first imported, so ``apply()`` must run
before anything imports ``airflow`` (the CLI calls it first thing).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from baoke.config import NO_TELEMETRY_ENV, Settings, get_settings


def airflow_environment(settings: Settings) -> dict[str, str]:
    """The environment a local Airflow runs with (values already set by the user win)."""
    home = settings.airflow_home
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(settings.dags_dir),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(settings.project_dir / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        # `baoke ui` (airflow standalone): dbt imported once, not in every task process
        "AIRFLOW__CORE__EXECUTOR": "baoke.orchestration.executors.PreloadedLocalExecutor",
        "AIRFLOW__CORE__DEFAULT_TIMEZONE": "Asia/Shanghai",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "120",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
        "BAOKE_PROJECT_DIR": str(settings.project_dir),
        **NO_TELEMETRY_ENV,
    }


def apply(settings: Settings | None = None) -> Path:
    """Set the local Airflow environment in this process; return AIRFLOW_HOME."""
    env = airflow_environment(settings or get_settings())
    for key, value in env.items():
        os.environ.setdefault(key, value)
    # Airflow starts its components as `airflow ...` subprocesses: find this venv's.
    bin_dir = str(Path(sys.executable).parent)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
    home = Path(os.environ["AIRFLOW_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    return home


def ensure_metadata_db() -> None:
    """Create or upgrade Airflow's metadata database (``airflow db migrate``), once per
    Airflow version: the stamp file records the version it was migrated for."""
    import airflow

    home = Path(os.environ["AIRFLOW_HOME"])
    stamp = home / f".migrated-{airflow.__version__}"
    if stamp.exists():
        return
    airflow_bin = Path(sys.executable).with_name("airflow")
    subprocess.run([str(airflow_bin), "db", "migrate"], check=True, stdout=subprocess.DEVNULL)
    stamp.touch()
