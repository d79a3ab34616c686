"""A load killed with SIGKILL in the middle of its COPY leaves nothing behind, and the
rerun loads the batch exactly once: batches are atomic because their rows, rejects
and log entry share one transaction, not because the loader cleans up after itself."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

from extract_support import scalar

ROWS = 200_000

LOADER = textwrap.dedent("""
    import datetime as dt, sys
    import psycopg2
    from baoke.extract.catalog import DMS
    from baoke.extract.loader import Batch, ensure_raw_tables

    conn = psycopg2.connect(sys.argv[1])
    ensure_raw_tables(conn)
    stamp = "2026-01-02T10:00:00+08:00"
    with Batch.open(conn, DMS["repair_orders"], "D001", "synthetic", dt.date(2026, 11, 18)) as batch:
        print("copying", flush=True)
        for i in range(int(sys.argv[2])):
            record = {"ro_number": f"RO{i:09d}", "dealer_code": "D001", "vin": "LHXT879SXRH074811",
                      "customer_id": "C00000001", "advisor_id": None, "open_date": "2026-01-02",
                      "close_date": "2026-01-02", "mileage_km": 12000 + i, "service_type": "MAINTENANCE",
                      "status": "closed", "labor_amount": "180.00", "parts_amount": "700.00",
                      "total_amount": "880.00", "appointment_id": None, "campaign_code": None,
                      "insurance_claim_no": None, "updated_at": stamp}
            batch.add(record, f"row {i}", stamp, stamp)
        batch.load()
    print("committed", flush=True)
""")


def start_loader(url: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", LOADER, url, str(ROWS)], stdout=subprocess.PIPE, text=True)


def copy_backends(url: str) -> int:
    return scalar(
        url,
        "select count(*) from pg_stat_activity where query ilike 'copy raw.dms_repair_orders%%'"
        " and state = 'active' and pid <> pg_backend_pid()",
    )


def test_sigkill_mid_copy_leaves_no_partial_batch_and_the_rerun_loads_once(fresh_db):
    loader = start_loader(fresh_db)
    for line in loader.stdout:  # (log lines may come first)
        if line.strip() == "copying":
            break
    deadline = time.monotonic() + 30
    while copy_backends(fresh_db) == 0:
        assert time.monotonic() < deadline, "the COPY never started"
        assert loader.poll() is None, "the loader finished before it could be killed: raise ROWS"
        time.sleep(0.005)
    os.kill(loader.pid, signal.SIGKILL)
    loader.wait()
    while copy_backends(fresh_db):  # the server notices the dead client and rolls back
        time.sleep(0.05)
    assert loader.returncode == -signal.SIGKILL
    assert scalar(fresh_db, "select count(*) from raw.dms_repair_orders") == 0
    assert scalar(fresh_db, "select count(*) from etl.load_batches") == 0

    rerun = start_loader(fresh_db)
    out, _ = rerun.communicate(timeout=300)
    assert rerun.returncode == 0
    assert out.strip().endswith("committed")
    assert scalar(fresh_db, "select count(*) from raw.dms_repair_orders") == ROWS
    assert scalar(fresh_db, "select count(distinct record_key) from raw.dms_repair_orders") == ROWS
    assert scalar(fresh_db, "select string_agg(loaded::text, ',') from etl.load_batches") == str(ROWS)
