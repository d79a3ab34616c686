"""Benchmark: generating every dealer's lists for one day, after the warehouse build.

Needs a warehouse built for D (e.g. by `bench_warehouse.py`, which leaves the `large`
world built for D). Times, for D:

1. `dbt run` of the outreach models (`tag:outreach`, models/intermediate/outreach) — who
   is due (`int_outreach_due` and its families), the candidates against the export's log
   of earlier days, suppression, routing, assignment, placement (`int_outreach_decisions`)
   and the file rows (`int_outreach_export`);
2. the export: every dealer's call, SMS and exceptions files and manifest, written to a
   scratch folder.

Target (issue: outreach): under 60 s in all.

    .venv/bin/python benchmarks/bench_lists.py --warehouse postgresql://postgres@127.0.0.1:PORT/baoke --date 2026-11-20
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import tempfile
import time

TARGET_SECONDS = 60.0
MODELS = ["tag:outreach", "int_customer_advisor"]  # the customer's advisor was part of the one decisions model before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--warehouse", required=True, help="URL of a warehouse built for D")
    parser.add_argument("--date", default="2026-11-20", help="the business date D")
    args = parser.parse_args()
    business_date = dt.date.fromisoformat(args.date)

    import psycopg2

    from baoke.dbt import run_dbt
    from baoke.filedrop import open_drop
    from baoke.outbound import export_day

    start = time.perf_counter()
    if not run_dbt(
        ["run", "--quiet", "--select", *MODELS, "--vars", json.dumps({"business_date": business_date.isoformat()})],
        args.warehouse,
    ):
        raise SystemExit("dbt run failed: see dbt_project/logs/dbt.log")
    models = time.perf_counter() - start
    print(f"dbt run of {', '.join(MODELS)}: {models:6.1f} s", flush=True)

    with (
        tempfile.TemporaryDirectory() as folder,
        contextlib.closing(psycopg2.connect(args.warehouse)) as conn,
        contextlib.closing(open_drop(folder)) as outbound,
    ):
        start = time.perf_counter()
        exports = export_day(conn, outbound, business_date)
        export = time.perf_counter() - start
        rows = sum(f["rows"] for e in exports for f in e.manifest["files"] if f["format"] == "csv")  # twins: same rows
        files = sum(len(e.manifest["files"]) for e in exports)
    print(f"export of {len(exports)} dealers' lists ({files} files, {rows:,} rows): {export:6.1f} s")
    total = models + export
    print(f"the day's lists for {business_date}: {total:.1f} s = {total / TARGET_SECONDS:.2f} x the 60 s target")


if __name__ == "__main__":
    main()
