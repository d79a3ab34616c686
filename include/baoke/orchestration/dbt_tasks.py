"""Cosmos setup: the dbt project rendered as one Airflow task per model, seed and test.

The DAG is rendered from ``dbt_project/target/manifest.json`` (built ahead of time by
``baoke manifest``, in the image and before every ``baoke run``), so parsing the DAG
file does not run dbt. The connection is the Airflow connection ``warehouse_transformer``
(the transformer's login, docs/outputs.md "Least privilege"), acting as the owner role.
"""

from __future__ import annotations

from typing import Any, ClassVar

from cosmos import ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
from cosmos.constants import ExecutionMode, InvocationMode, LoadMode, TestBehavior
from cosmos.profiles import PostgresUserPasswordProfileMapping

from baoke.config import get_settings
from baoke.connections import BUILDER_ROLE, STEPS
from baoke.dates import business_date_from_context


class WarehouseProfileMapping(PostgresUserPasswordProfileMapping):
    """Cosmos' Postgres mapping, with the certificates of the connection's extra beside
    ``sslmode`` (Cosmos maps only ``sslmode``): dbt's sessions use the transport
    extraction and the export use."""

    airflow_param_mapping: ClassVar[dict[str, Any]] = {
        **PostgresUserPasswordProfileMapping.airflow_param_mapping,
        "sslrootcert": "extra.sslrootcert",
        "sslcert": "extra.sslcert",
        "sslkey": "extra.sslkey",
    }


def set_dbt_vars(context: Any, operator: Any) -> None:
    """Cosmos interceptor: pass the business date, and any ``dbt_vars`` of the run's conf
    (``baoke run --vars``), to dbt as ``--vars``. The business date always wins."""
    conf = getattr(context.get("dag_run"), "conf", None) or {}
    operator.vars = {
        **(operator.vars or {}),
        **(conf.get("dbt_vars") or {}),
        "business_date": business_date_from_context(context).isoformat(),
    }


def dbt_task_group_kwargs() -> dict[str, Any]:
    """Everything a ``DbtTaskGroup`` of the Baoke project needs."""
    settings = get_settings()
    project_dir = settings.dbt_project_dir
    return {
        "project_config": ProjectConfig(
            dbt_project_path=project_dir,
            manifest_path=settings.dbt_target_dir / "manifest.json",
            install_dbt_deps=False,
        ),
        "profile_config": ProfileConfig(
            profile_name="baoke",
            target_name="warehouse",
            # threads as in profiles.yml: a model's task runs its tests side by side
            # (Cosmos' profile would otherwise leave dbt at 1 thread)
            # dbt acts as the builder role: what it builds is baoke_builder's, not the login's
            profile_mapping=WarehouseProfileMapping(
                conn_id=STEPS["transformer"].conn_id,
                profile_args={"schema": "public", "threads": 4, "role": BUILDER_ROLE},
            ),
        ),
        "execution_config": ExecutionConfig(
            execution_mode=ExecutionMode.LOCAL, invocation_mode=InvocationMode.DBT_RUNNER
        ),
        "render_config": RenderConfig(load_method=LoadMode.DBT_MANIFEST, test_behavior=TestBehavior.BUILD),
        # "buildable": a model's task runs the tests whose other parents are its
        # ancestors (already built), never a test of a model not yet built downstream.
        # Unit tests check the SQL, not the data: they run in CI (tests/test_dbt_unit.py),
        # not in production runs, as dbt recommends.
        # Each task is one dbt invocation, so its fixed costs add up 43 times a run: no
        # JSON artifacts (the warehouse's state is the warehouse; `baoke manifest` writes
        # the manifest the DAG is rendered from), and no OpenLineage Assets per model,
        # which Cosmos would derive by re-reading them (about 1 s of CPU a task).
        "operator_args": {
            "interceptors": [set_dbt_vars],
            "install_deps": False,
            "indirect_selection": "buildable",
            "dbt_cmd_flags": ["--exclude-resource-type", "unit_test", "--no-write-json"],
            "emit_datasets": False,
        },
    }
