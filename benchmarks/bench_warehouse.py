"""Benchmark: building the warehouse with dbt, bare and through Airflow + Cosmos.

Needs a warehouse whose raw tables are loaded (e.g. the one `bench_load.py daily --dir X`
leaves in X/warehouse, with the `large` world). For the business date D it measures:

1. the full build for D-1 (`dbt build` of every model, from raw, no history yet);
2. the daily build for D (the next day: incremental models add a day, tables rebuild);
3. `baoke_warehouse` for D through Airflow's `dag.test()` (one Cosmos task per model),
   against a bare `dbt build` of the same models for D again, measured right before it
   (both rebuild D: no new raw batch to merge): the ratio is Cosmos' overhead (target:
   at most 1.5x);
4. with `--scheduler`, the same run under a real Airflow (api-server, scheduler and
   dag-processor, `local_airflow.py`; `--executor`: PreloadedLocalExecutor by default,
   LocalExecutor, or CeleryExecutor with a worker), which runs independent tasks side by
   side as a deployment does, against a bare build again.

    .venv/bin/python benchmarks/bench_warehouse.py \
        --warehouse postgresql://postgres@127.0.0.1:PORT/baoke --date 2026-11-20
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import time


def _dbt_build(url: str, business_date: dt.date, what: str) -> float:
    from baoke.dbt import run_dbt

    start = time.perf_counter()
    ok = run_dbt(
        [
            "build",
            "--quiet",
            "--exclude-resource-type",
            "unit_test",
            "--vars",
            json.dumps({"business_date": business_date.isoformat()}),
        ],
        url,
    )
    elapsed = time.perf_counter() - start
    print(f"{what:55s} {elapsed:7.1f} s  {'ok' if ok else 'FAILED'}", flush=True)
    if not ok:
        raise SystemExit("dbt build failed: see dbt_project/logs/dbt.log")
    _where_the_time_went()
    return elapsed


def _where_the_time_went(top: int = 10) -> None:
    """Thread time of the build's models and tests, and its slowest nodes (run_results.json):
    the wall time alone does not say what to work on."""
    from baoke.config import get_settings

    results = json.loads((get_settings().dbt_target_dir / "run_results.json").read_text())["results"]
    by_kind: dict[str, float] = {}
    for result in results:
        kind = result["unique_id"].split(".")[0]
        by_kind[kind] = by_kind.get(kind, 0.0) + result["execution_time"]
    print("    thread time: " + ", ".join(f"{kind}s {seconds:.0f} s" for kind, seconds in sorted(by_kind.items())))
    slowest = sorted(results, key=lambda r: r["execution_time"], reverse=True)[:top]
    print(
        "    slowest: "
        + ", ".join(f"{r['unique_id'].split('.')[-1][:48]} {r['execution_time']:.0f} s" for r in slowest),
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--warehouse", required=True, help="URL of a warehouse with the raw tables loaded")
    parser.add_argument("--date", default="2026-11-20", help="the business date D")
    parser.add_argument("--skip-full", action="store_true", help="do not build D-1 first")
    parser.add_argument("--skip-cosmos", action="store_true", help="only the bare builds")
    parser.add_argument("--skip-dag-test", action="store_true", help="no dag.test() run")
    parser.add_argument(
        "--scheduler", action="store_true", help="also run baoke_warehouse under a real scheduler (4 tasks at once)"
    )
    parser.add_argument(
        "--executor",
        default="baoke.orchestration.executors.PreloadedLocalExecutor",
        help="the scheduler's executor (LocalExecutor: without dbt preloaded;"
        " CeleryExecutor: with a worker, Redis on 127.0.0.1:6379)",
    )
    args = parser.parse_args()
    business_date = dt.date.fromisoformat(args.date)
    os.environ["AIRFLOW_CONN_WAREHOUSE"] = args.warehouse

    if not args.skip_full:
        _dbt_build(
            args.warehouse,
            business_date - dt.timedelta(days=1),
            f"full build for {business_date - dt.timedelta(days=1)}",
        )
    _dbt_build(args.warehouse, business_date, f"daily build for {business_date} (bare dbt build)")
    # The Airflow run below builds D again, so its baseline is a bare build of D again:
    # both merge no new raw batch and replace D's rows of the incremental models.
    if args.skip_cosmos:
        return
    bare = _dbt_build(args.warehouse, business_date, "the same build again (bare, baseline for Cosmos)")

    from baoke import airflow_env
    from baoke.dbt import build_manifest

    airflow_env.apply()
    build_manifest()
    if not args.skip_dag_test:
        _under_dag_test(business_date, bare)
    if args.scheduler:
        if not args.skip_dag_test:  # measured right before it, as for dag.test()
            bare = _dbt_build(args.warehouse, business_date, "the same build again (bare, baseline for the scheduler)")
        _under_a_scheduler(args.warehouse, business_date, bare, args.executor)


def _under_dag_test(business_date: dt.date, bare: float) -> None:
    from baoke import airflow_env
    from baoke.runner import load_dags, run_dag

    airflow_env.ensure_metadata_db()
    dag = load_dags()["baoke_warehouse"]
    start = time.perf_counter()
    result = run_dag(dag, business_date, retries=0)
    cosmos = time.perf_counter() - start
    label = f"baoke_warehouse for {business_date} (dag.test() + Cosmos, {len(dag.tasks)} tasks)"
    print(f"{label:55s} {cosmos:7.1f} s  {result.state}")
    print(f"Cosmos overhead under dag.test(): {cosmos / bare:.2f} x the bare dbt build (target <= 1.5)", flush=True)


def _under_a_scheduler(warehouse: str, business_date: dt.date, bare: float, executor: str) -> None:
    import tempfile
    from pathlib import Path

    from baoke.dates import run_logical_date
    from local_airflow import local_airflow

    home = Path(tempfile.mkdtemp(prefix="baoke-bench-airflow-"))
    with local_airflow(home, warehouse, executor=executor) as airflow:
        airflow.wait_for_dag("baoke_warehouse")
        run_id = airflow.trigger(
            "baoke_warehouse",
            run_logical_date(business_date),
            {"business_date": business_date.isoformat(), "dbt_vars": {}},
        )
        run = airflow.wait_for_run("baoke_warehouse", run_id)
    label = f"baoke_warehouse for {business_date} (scheduler, {executor.rsplit('.', 1)[-1]}, {run.tasks} tasks)"
    print(f"{label:55s} {run.seconds:7.1f} s  {run.state}  (tasks' own time {run.task_seconds:.0f} s; logs in {home})")
    print(
        f"Cosmos overhead under a scheduler: {run.seconds / bare:.2f} x the bare dbt build (target <= 1.5)", flush=True
    )


if __name__ == "__main__":
    main()
