"""Where Baoke finds things: configuration comes only from the environment.

docs/feeds.md fixes the names: the Airflow connections ``warehouse``, ``dms_api`` and
``oem_api`` (given as ``AIRFLOW_CONN_*`` environment variables or in Airflow's own
store), and the folders ``INSURER_INBOX``, ``CALLCENTER_INBOX`` and ``OUTBOUND_DIR``.
Everything else has a project-local default under ``.baoke/`` so that a fresh clone
works with nothing set.
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

#: Airflow connection ids the platform reads (feeds.md: "configured as").
CONNECTION_IDS: tuple[str, ...] = ("warehouse", "dms_api", "oem_api")

#: Folder settings the platform reads (environment variable -> default under .baoke/).
FOLDER_DEFAULTS: dict[str, str] = {
    "INSURER_INBOX": "inbox/insurer",
    "CALLCENTER_INBOX": "inbox/callcenter",
    "OUTBOUND_DIR": "outbound",
}
FOLDER_ENV: tuple[str, ...] = tuple(FOLDER_DEFAULTS)

#: Environment that keeps every tool from phoning home: Baoke holds personal data.
NO_TELEMETRY_ENV: dict[str, str] = {
    "DO_NOT_TRACK": "1",
    "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
    "SCARF_ANALYTICS": "false",
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
}


def conn_env_name(conn_id: str) -> str:
    """The environment variable Airflow reads a connection from (``AIRFLOW_CONN_<ID>``)."""
    return f"AIRFLOW_CONN_{conn_id.upper()}"


def _default_project_dir() -> Path:
    """The checkout this package was installed from (editable install), else the cwd.

    In the container image the project lives at ``BAOKE_PROJECT_DIR`` instead.
    """
    candidate = Path(__file__).resolve().parents[2]
    if (candidate / "dbt_project").is_dir():
        return candidate
    return Path.cwd()


class Settings(BaseSettings):
    """Baoke's settings, read from the environment (names are case-insensitive)."""

    model_config = SettingsConfigDict(extra="ignore")

    project_dir: Path = Field(default_factory=_default_project_dir, alias="BAOKE_PROJECT_DIR")
    home: Path | None = Field(default=None, alias="BAOKE_HOME")
    insurer_inbox: str | None = Field(default=None, alias="INSURER_INBOX")
    callcenter_inbox: str | None = Field(default=None, alias="CALLCENTER_INBOX")
    outbound_dir: str | None = Field(default=None, alias="OUTBOUND_DIR")

    # Extraction (issue: extract and load)
    lookback_days: float = Field(default=2, alias="BAOKE_LOOKBACK_DAYS", ge=0)
    """Incremental API windows start this long before the previous window's end."""
    max_reject_share: float = Field(default=0.1, alias="BAOKE_MAX_REJECT_SHARE", ge=0, le=1)
    """A batch with a larger share of rejected records fails instead of loading."""
    http_timeout: float = Field(default=30, alias="BAOKE_HTTP_TIMEOUT", gt=0)
    """Seconds to wait for a feed API's answer before retrying."""
    http_retries: int = Field(default=5, alias="BAOKE_HTTP_RETRIES", ge=0)
    page_size: int = Field(default=1000, alias="BAOKE_PAGE_SIZE", ge=1, le=1000)
    oem_history_months: int = Field(default=12, alias="BAOKE_OEM_HISTORY_MONTHS", ge=1)
    """How many past months of OEM lost-customer lists a run looks for."""
    reconcile_days: float = Field(default=30, alias="BAOKE_RECONCILE_DAYS", gt=0)
    """The deep read (weekly, and ``baoke reconcile``) re-reads this many days of every DMS entity."""
    reconcile_weekday: int = Field(default=7, alias="BAOKE_RECONCILE_WEEKDAY", ge=0, le=7)
    """The ISO weekday of D (1 = Monday, 7 = Sunday) whose DMS run is the deep read; 0: never."""

    # Retention (outputs.md §5; docs/outputs.md says why these defaults)
    retention_list_days: int = Field(default=90, alias="BAOKE_RETENTION_LIST_DAYS", ge=1)
    """Call-list folders under OUTBOUND_DIR dated more than this many days before D are purged."""
    retention_inbox_days: int = Field(default=180, alias="BAOKE_RETENTION_INBOX_DAYS", ge=1)
    """Insurer and call-center inbox files dated more than this many days before D are purged."""
    retention_reject_days: int = Field(default=365, alias="BAOKE_RETENTION_REJECT_DAYS", ge=1)
    """Rejected records of batches run more than this many days before D lose their payload."""

    @cached_property
    def state_dir(self) -> Path:
        """Project-local state: embedded warehouse, Airflow home, default folders."""
        return (self.home or self.project_dir / ".baoke").resolve()

    @property
    def dbt_project_dir(self) -> Path:
        return self.project_dir / "dbt_project"

    @property
    def dbt_target_dir(self) -> Path:
        """Where dbt writes its manifest and compiled SQL: dbt's own ``DBT_TARGET_PATH``
        when set (relative to the project, as dbt reads it), else ``dbt_project/target``.
        Two processes building the same project at once (the suite's workers) each set
        their own, or one reads the other's half-written manifest."""
        return self.dbt_project_dir / os.environ.get("DBT_TARGET_PATH", "target")

    @property
    def dags_dir(self) -> Path:
        return self.project_dir / "dags"

    @property
    def airflow_home(self) -> Path:
        return Path(os.environ.get("AIRFLOW_HOME") or self.state_dir / "airflow")

    @property
    def warehouse_dir(self) -> Path:
        return self.state_dir / "warehouse"

    @property
    def sim_world(self) -> Path:
        """The simulated dealer group's store (``baoke simulate``, the demo)."""
        return self.state_dir / "sim" / "world.sqlite"

    def folder(self, env_name: str) -> str:
        """A feed folder (or ``sftp://`` path); defaults live under ``.baoke/``."""
        value = {
            "INSURER_INBOX": self.insurer_inbox,
            "CALLCENTER_INBOX": self.callcenter_inbox,
            "OUTBOUND_DIR": self.outbound_dir,
        }[env_name]
        return value or str(self.state_dir / FOLDER_DEFAULTS[env_name])


def get_settings() -> Settings:
    """Fresh settings from the current environment (cheap; never cached globally,
    so tests and the CLI can change the environment between calls)."""
    return Settings()
