"""Airflow's Celery configuration, with dbt and Cosmos imported first.

A Celery worker forks its pool processes after it has loaded this configuration, and
each pool process forks a process per task: importing dbt and Cosmos here spares each of
`baoke_warehouse`'s tasks from importing them again (see `executors.py`, the same for
the LocalExecutor). The configuration itself is Airflow's default.

    AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS=baoke.orchestration.celery_config.CELERY_CONFIG
"""

from __future__ import annotations

from airflow.providers.celery.executors.default_celery import DEFAULT_CELERY_CONFIG

from baoke.orchestration.executors import preload_dbt

preload_dbt()

CELERY_CONFIG = DEFAULT_CELERY_CONFIG
