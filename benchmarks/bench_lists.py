"""Benchmark: generating every dealer's lists for one day, after the warehouse build.

Needs a warehouse built for D (e.g. by `bench_warehouse.py`, which leaves the `large`
world built for D). Times, for D:

1. `dbt run` of the outreach models (`tag:outreach`, models/intermediate/outreach) — who
   is due (`int_outreach_due` and its families), the candidates against the export's log
   of earlier days, suppression, routing, assignment, placement (`int_outreach_decisions`)
   and the file rows (`int_outreach_export`). The warehouse build already ran them for D:
   this is their cost again, counted in the lists' time;
2. the export: every dealer's call, SMS and exceptions files, their XLSX twins and
   manifest, written to a scratch folder, the way `baoke_outbound` runs it: one task per
   dealer (`export_dealer`), `--workers` of them side by side (default: one per core, as
   the scheduler runs the DAG's mapped tasks). `--workers 1`: one dealer after another.

Target (issue: outreach v2): under 30 s in all for `large`.

    .venv/bin/python benchmarks/bench_lists.py --warehouse postgresql://postgres@127.0.0.1:PORT/baoke --date 2026-11-20
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any

TARGET_SECONDS = 30.0
MODELS = ["tag:outreach", "int_customer_advisor"]  # the customer's advisor was part of the one decisions model before


def export_one(warehouse: str, folder: str, business_date: dt.date, dealer_code: str) -> dict[str, Any]:
    """One dealer's export, as one mapped task of `baoke_outbound` does it: its own
    connection, its own files, its own transaction. Returns its manifest."""
    import psycopg2

    from baoke.filedrop import open_drop
    from baoke.outbound import export_dealer

    with contextlib.closing(psycopg2.connect(warehouse)) as conn, contextlib.closing(open_drop(folder)) as drop:
        return export_dealer(conn, drop, business_date, dealer_code).manifest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--warehouse", required=True, help="URL of a warehouse built for D")
    parser.add_argument("--date", default="2026-11-20", help="the business date D")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="dealers exported side by side")
    args = parser.parse_args()
    business_date = dt.date.fromisoformat(args.date)

    import psycopg2

    from baoke.dbt import run_dbt
    from baoke.outbound import dealers

    start = time.perf_counter()
    if not run_dbt(
        ["run", "--quiet", "--select", *MODELS, "--vars", json.dumps({"business_date": business_date.isoformat()})],
        args.warehouse,
    ):
        raise SystemExit("dbt run failed: see dbt_project/logs/dbt.log")
    models = time.perf_counter() - start
    print(f"dbt run of {', '.join(MODELS)}: {models:6.1f} s", flush=True)

    with contextlib.closing(psycopg2.connect(args.warehouse)) as conn:
        codes = dealers(conn, business_date)
    with tempfile.TemporaryDirectory() as folder, ProcessPoolExecutor(args.workers) as pool:
        start = time.perf_counter()
        tasks = [pool.submit(export_one, args.warehouse, folder, business_date, code) for code in codes]
        manifests = [task.result() for task in tasks]
        export = time.perf_counter() - start
    rows = sum(f["rows"] for m in manifests for f in m["files"] if f["format"] == "csv")  # twins: same rows
    files = sum(len(m["files"]) for m in manifests)
    print(
        f"export of {len(manifests)} dealers' lists ({files} files, {rows:,} rows), "
        f"{args.workers} at a time: {export:6.1f} s"
    )
    total = models + export
    print(f"the day's lists for {business_date}: {total:.1f} s = {total / TARGET_SECONDS:.2f} x the 30 s target")


if __name__ == "__main__":
    main()
