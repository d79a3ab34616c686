"""Benchmarks of extraction and loading (issue: extract and load).

``copy``: the loader against ``psql \\copy``, on a generated world's repair orders.
    The world's repair-order versions are written out as DMS API pages (1,000 records of
    JSON each, as the API sends them), then:
    - the loader (``Batch``: parse the page, check every record, stream COPY text) loads
      them into ``raw.dms_repair_orders``, in a child process whose peak memory is read;
    - the same rows are dumped with ``psql \\copy ... to``, the table truncated, and
      ``psql \\copy ... from`` loads them again into the same table (same indexes):
      the baseline, measured in the same run.
    Prints both rates and their ratio (target: loader >= 0.5 x psql) and the peak memory
    (target: < 1 GB whatever the size).

``daily``: a daily incremental run of all four feeds on a generated world.
    Sets up the state a warehouse has after running up to D-1 (DMS versions before
    D-1 00:00 loaded straight from the world, high-water marks set; insurer files and OEM
    lists loaded by the real jobs), then times the four extraction DAGs for D through
    Airflow (``dag.test()``), against the simulated DMS and OEM servers and the inbox
    (target: under 5 minutes for ``large``).

    .venv/bin/python benchmarks/bench_load.py copy --world .baoke/sim/large.sqlite
    .venv/bin/python benchmarks/bench_load.py daily --world .baoke/sim/large.sqlite --date 2026-11-20
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing as mp
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PAGE = 1000


def _warehouse(folder: Path) -> str:
    from baoke.migrate import migrate
    from baoke.warehouse import EmbeddedWarehouse

    url = EmbeddedWarehouse(folder / "warehouse").up()
    migrate(url)
    return url


def _psql(url: str, command: str) -> float:
    from pgserver._commands import POSTGRES_BIN_PATH

    start = time.perf_counter()
    subprocess.run(
        [str(Path(POSTGRES_BIN_PATH) / "psql"), url, "-qAt", "-v", "ON_ERROR_STOP=1", "-c", command], check=True
    )
    return time.perf_counter() - start


def _write_pages(world: Path, path: Path, limit: int | None) -> int:
    """The world's repair-order versions as API page bodies, one per line."""
    count = 0
    query = "select record from dms_versions where entity = 'repair_orders'" + (f" limit {limit}" if limit else "")
    with sqlite3.connect(world) as conn, path.open("wb") as out:
        cursor = conn.execute(query)
        while rows := cursor.fetchmany(PAGE):
            out.write(b'{"data":[' + ",".join(r[0] for r in rows).encode() + b'],"next_cursor":null}\n')
            count += len(rows)
    return count


def _load_pages(url: str, pages: str, elapsed: mp.Queue) -> None:
    """Child process: the loader, exactly as the DMS extractor drives it (timed from the
    connection on, not counting the interpreter's start and imports)."""
    import psycopg2

    from baoke.extract.catalog import DMS
    from baoke.extract.http import split_page
    from baoke.extract.loader import Batch, ensure_raw_tables

    start = time.perf_counter()
    conn = psycopg2.connect(url)
    ensure_raw_tables(conn)
    with (
        open(pages, "rb") as source,
        Batch.open(conn, DMS["repair_orders"], "D001", "bench", dt.date(2026, 11, 20)) as batch,
    ):
        for number, line in enumerate(source, 1):
            batch.new_page()
            _, records = split_page(line, "data")
            for row_no, (record, text) in enumerate(records, 1):
                updated_at = record.get("updated_at")
                batch.add(record, f"page {number} row {row_no}", str(updated_at), updated_at, text)
        result = batch.load()
    elapsed.put(time.perf_counter() - start)
    print(f"  loader: {result.summary()}", flush=True)


def bench_copy(world: Path, folder: Path, limit: int | None) -> None:
    url = _warehouse(folder)
    pages = folder / "pages.jsonl"
    rows = _write_pages(world, pages, limit)
    print(f"{rows:,} repair-order versions from {world} ({pages.stat().st_size / 2**30:.2f} GiB of API pages)")

    context = mp.get_context("spawn")
    elapsed: mp.Queue = context.Queue()
    child = context.Process(target=_load_pages, args=(url, str(pages), elapsed))
    child.start()
    child.join()
    loader = elapsed.get() if child.exitcode == 0 else 0.0
    if child.exitcode != 0:
        sys.exit("the loader failed")
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024

    dump = folder / "rows.copy"
    columns = "(batch_id, extracted_at, source, locator, record_key, record_version, version_at, record_hash, record)"
    _psql(url, f"\\copy raw.dms_repair_orders {columns} to '{dump}'")
    _psql(url, "truncate raw.dms_repair_orders")
    baseline = _psql(url, f"\\copy raw.dms_repair_orders {columns} from '{dump}'")

    print(f"loader:      {loader:8.1f} s  {rows / loader:10,.0f} rows/s  peak memory {peak_mib:,.0f} MiB")
    print(f"psql \\copy:  {baseline:8.1f} s  {rows / baseline:10,.0f} rows/s  (same rows, same table)")
    print(f"ratio loader rate / psql rate: {baseline / loader:.2f}  (target >= 0.5)")


# --- daily incremental ------------------------------------------------------------------


def _seed_dms(url: str, world: Path, day_before: dt.date) -> int:
    """Load every DMS version made before D-1 00:00 straight from the world (what the
    runs up to D-1 loaded) and set each entity's high-water mark there."""
    import psycopg2

    from baoke.dates import day_start
    from baoke.extract import state
    from baoke.extract.catalog import DMS, DMS_GROUP_WIDE
    from baoke.extract.loader import Batch, ensure_raw_tables

    until = day_start(day_before)
    stamp = until.isoformat()
    conn = psycopg2.connect(url)
    ensure_raw_tables(conn)
    total = 0
    with sqlite3.connect(world) as sim:
        dealers = [r[0] for r in sim.execute("select pk from dms_versions where entity = 'dealers'")]
        for name, entity in DMS.items():
            scopes = [""] if name in DMS_GROUP_WIDE else dealers
            for scope in scopes:
                where = "entity = ? and updated_at < ?" + (" and dealer_code = ?" if scope else "")
                params = (name, stamp, scope) if scope else (name, stamp)
                with Batch.open(conn, entity, scope, "bench seed", day_before) as batch:
                    for (record,) in sim.execute(f"select record from dms_versions where {where}", params):
                        parsed = json.loads(record)
                        batch.add(parsed, "seed", parsed["updated_at"], parsed["updated_at"], record.encode())
                    total += batch.load(
                        after=lambda cur, r, n=name, s=scope: state.advance(cur, "dms", n, s, until, r.batch_id)
                    ).loaded
    conn.close()
    return total


def bench_daily(world: Path, folder: Path, business_date: dt.date, skip_setup: bool = False) -> None:
    os.environ["BAOKE_HOME"] = str(folder)
    from baoke import airflow_env

    airflow_env.apply()  # before anything imports Airflow: it reads its settings once
    from baoke import dbt
    from baoke.config import conn_env_name
    from baoke.extract import jobs
    from baoke.runner import load_dags, run_dag
    from baoke_sim import store
    from baoke_sim.dms_api import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DmsApi
    from baoke_sim.insurer_files import drop_files
    from baoke_sim.oem_api import DEFAULT_API_KEY, OemApi
    from baoke_sim.servers import ApiServer

    url = _warehouse(folder)
    os.environ[conn_env_name("warehouse")] = url
    os.environ["INSURER_INBOX"] = str(folder / "inbox" / "insurer")
    os.environ["CALLCENTER_INBOX"] = str(folder / "inbox" / "callcenter")
    for inbox in ("INSURER_INBOX", "CALLCENTER_INBOX"):
        Path(os.environ[inbox]).mkdir(parents=True, exist_ok=True)  # a configured inbox must exist
    day_before = business_date - dt.timedelta(days=1)
    with sqlite3.connect(world) as conn:
        store.set_meta(conn, clock=f"{business_date.isoformat()}T06:00:00+08:00")

    if not skip_setup:
        start = time.perf_counter()
        seeded = _seed_dms(url, world, day_before)
        print(f"setup: {seeded:,} DMS versions before {day_before} loaded in {time.perf_counter() - start:.0f} s")
    with ApiServer(DmsApi(world)) as dms, ApiServer(OemApi(world)) as oem:
        os.environ[conn_env_name("dms_api")] = (
            f"http://{DEFAULT_CLIENT_ID}:{DEFAULT_CLIENT_SECRET}@{dms.url.removeprefix('http://')}"
        )
        os.environ[conn_env_name("oem_api")] = f"http://:{DEFAULT_API_KEY}@{oem.url.removeprefix('http://')}"
        if not skip_setup:
            start = time.perf_counter()
            files = drop_files(world, Path(os.environ["INSURER_INBOX"]))
            for code in jobs.insurer_folders():
                jobs.insurer_files(code, day_before)
            for dealer in jobs.group_dealers():
                jobs.oem_lists(dealer, day_before)
            print(
                f"setup: {len(files):,} insurer files and the OEM lists before {day_before} loaded "
                f"in {time.perf_counter() - start:.0f} s"
            )

        airflow_env.ensure_metadata_db()
        if dbt.manifest_is_stale():  # baoke_warehouse renders from it (a fresh clone has none)
            dbt.build_manifest()
        dags = load_dags()
        total = 0.0
        for dag_id in ("baoke_dms", "baoke_insurer", "baoke_oem", "baoke_callcenter"):
            start = time.perf_counter()
            result = run_dag(dags[dag_id], business_date, retries=0)
            elapsed = time.perf_counter() - start
            total += elapsed
            print(f"{dag_id:18s} {result.state:8s} {elapsed:6.1f} s")
    import psycopg2

    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute(
            "select feed, sum(extracted), sum(loaded), sum(duplicates_skipped) from etl.load_batches"
            " where business_date = %s group by 1 order by 1",
            (business_date,),
        )
        for feed, extracted, loaded, duplicates in cur.fetchall():
            print(f"  {feed:10s} extracted {extracted:,} loaded {loaded:,} duplicates skipped {duplicates:,}")
    print(f"daily incremental run of all feeds for {business_date}: {total:.1f} s (target < 300 s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["copy", "daily"])
    parser.add_argument("--world", type=Path, required=True, help="a world from `baoke simulate generate`")
    parser.add_argument("--dir", type=Path, default=None, help="scratch folder (default: a temporary one)")
    parser.add_argument("--limit", type=int, default=None, help="copy: only this many repair-order versions")
    parser.add_argument("--date", default="2026-11-20", help="daily: the business date D")
    parser.add_argument("--skip-setup", action="store_true", help="daily: reuse the state a previous run left in --dir")
    args = parser.parse_args()
    folder = args.dir or Path(tempfile.mkdtemp(prefix="baoke-bench-load-"))
    from baoke.warehouse import EmbeddedWarehouse

    try:
        if args.what == "copy":
            bench_copy(args.world, folder, args.limit)
        else:
            bench_daily(args.world, folder, dt.date.fromisoformat(args.date), args.skip_setup)
    finally:
        EmbeddedWarehouse(folder / "warehouse").down()


if __name__ == "__main__":
    main()
