"""The BI users' data dictionary (docs/outputs.md §2): dbt's docs site for the project,
generated against the warehouse (so it lists every mart's columns and types with their
descriptions) and served on 127.0.0.1 by ``baoke docs``."""

from __future__ import annotations

import functools
import http.server
import json
from pathlib import Path

from baoke.dbt import run_dbt


def generate(transformer_url: str, target: Path) -> Path:
    """``dbt docs generate`` into ``target`` (the project's own target folder, which Cosmos
    renders the DAG from, is left alone); returns the site's folder. The models' SQL is
    shown compiled for the most recent business date (every build runs for one)."""
    from baoke.dates import recent_business_date

    target.mkdir(parents=True, exist_ok=True)
    today = json.dumps({"business_date": recent_business_date().isoformat()})
    args = ["docs", "generate", "--vars", today, "--target-path", str(target), "--quiet"]
    if not run_dbt(args, transformer_url):
        raise RuntimeError("dbt docs generate failed: run `baoke dbt docs generate` to see why")
    return target


def server(site: Path, host: str = "127.0.0.1", port: int = 0) -> http.server.ThreadingHTTPServer:
    """A server of the site on ``host`` (a free port unless ``port``); call ``serve_forever``."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

    return http.server.ThreadingHTTPServer((host, port), functools.partial(Quiet, directory=str(site)))
