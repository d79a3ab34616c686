"""The demo's stand-in for a dealer group: a ``small`` simulated world whose feeds are
served for real (DMS and OEM APIs on 127.0.0.1, insurer files in the inbox) for as long
as the day's run takes. Connections the user has configured are left alone."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from baoke.config import conn_env_name, get_settings
from baoke.simulator import store
from baoke.simulator.dms_api import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DmsApi
from baoke.simulator.insurer_files import drop_files
from baoke.simulator.oem_api import DEFAULT_API_KEY, OemApi
from baoke.simulator.servers import ApiServer
from baoke.simulator.world import generate

DEMO_SEED = 1


def demo_world(business_date: dt.date) -> Path:
    """The demo world, generated once (seed 1, ending on D), its clock set to D 00:00."""
    path = get_settings().sim_world
    meta = store.get_meta(path) if path.exists() else {}
    if not meta or not (meta["start"] <= business_date.isoformat() <= meta["until"]):
        generate(path, "small", DEMO_SEED, until=business_date)
    with sqlite3.connect(path) as conn:
        store.set_meta(conn, clock=f"{business_date.isoformat()}T00:00:00+08:00")
    return path


@contextlib.contextmanager
def simulated_feeds(business_date: dt.date) -> Iterator[list[str]]:
    """Serve the demo world's feeds while the block runs; yields lines describing them."""
    world = demo_world(business_date)
    inbox = Path(get_settings().folder("INSURER_INBOX"))
    files = drop_files(world, inbox)
    with ApiServer(DmsApi(world)) as dms, ApiServer(OemApi(world)) as oem:
        urls = {
            "dms_api": f"http://{DEFAULT_CLIENT_ID}:{DEFAULT_CLIENT_SECRET}@{dms.url.removeprefix('http://')}",
            "oem_api": f"http://:{DEFAULT_API_KEY}@{oem.url.removeprefix('http://')}",
        }
        for conn_id, url in urls.items():
            os.environ.setdefault(conn_env_name(conn_id), url)
        counts = store.get_meta(world)
        yield [
            f"simulated dealer group: {world} (scale {counts['scale']}, seed {counts['seed']}, clock {business_date})",
            f"  DMS API {dms.url}, OEM API {oem.url}, {len(files)} insurer files in {inbox}",
            "  (served for the run: baoke_dms, baoke_oem and baoke_insurer read them)",
        ]
