"""Benchmark: generating a simulated world (issue: the simulated dealer group).

Prints the generation time and peak memory for a scale, and, as a baseline measured in
the same run, the time SQLite takes just to store the same number of versions with a
fixed payload of the same average size: the ratio says how much the generator's own
work (drawing, vectorised shaping, JSON) costs on top of writing the bytes.

    .venv/bin/python benchmarks/bench_generate.py --scale medium
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import sqlite3
import tempfile
import time
from pathlib import Path


def _generate(scale: str, path: str) -> None:
    from baoke_sim.world import generate

    generate(Path(path), scale, seed=1)


def _baseline(world: Path, target: Path) -> float:
    """Store as many rows as the world holds, with a constant record of the same mean size."""
    with sqlite3.connect(world) as conn:
        count, mean = conn.execute("select count(*), avg(length(record)) from dms_versions").fetchone()
    from baoke_sim import store

    payload = "x" * int(mean)
    conn = store.create(target)
    start = time.perf_counter()
    conn.executemany(
        "insert into dms_versions values ('e', ?, 'D001', '2026-01-01T00:00:00+08:00', '2026-01-01T00:00:00+08:00', ?)",
        ((str(i), payload) for i in range(count)),
    )
    conn.commit()
    conn.close()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", default="medium", choices=["small", "medium", "large"])
    parser.add_argument("--dir", default=None, help="where to write (default: a temporary folder)")
    args = parser.parse_args()
    folder = Path(args.dir or tempfile.mkdtemp(prefix="baoke-bench-"))
    world = folder / "world.sqlite"
    start = time.perf_counter()
    child = mp.get_context("spawn").Process(target=_generate, args=(args.scale, str(world)))
    child.start()
    child.join()
    elapsed = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    with sqlite3.connect(world) as conn:
        versions = conn.execute("select count(*) from dms_versions").fetchone()[0]
        orders = conn.execute("select count(distinct pk) from dms_versions where entity = 'repair_orders'").fetchone()[
            0
        ]
    baseline = _baseline(world, folder / "baseline.sqlite")
    print(
        f"scale={args.scale} versions={versions:,} repair_orders={orders:,} size={world.stat().st_size / 2**30:.2f} GiB"
    )
    print(f"generate: {elapsed:.1f} s, peak memory {peak_mb:,.0f} MiB")
    print(f"baseline (store the same number of rows, fixed payload): {baseline:.1f} s")
    print(f"ratio generate/baseline: {elapsed / baseline:.2f}")


if __name__ == "__main__":
    main()
