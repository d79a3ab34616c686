"""The dbt commands the tests run in-process, parsed once per business date.

dbt keeps one parse of the project per target folder and parses it all again (seconds)
when ``--vars`` differ from the last command's, and the tests alternate business dates
build after build. Each set of vars gets a target folder of its own in the session's
state folder, so each date is parsed once (with ``dbt_db``, which keeps the database in
the profile the same). What dbt builds and tests is the same; only where it keeps its
parse and compiled SQL differs.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def target_for(dbt_vars: str) -> list[str]:
    """``--target-path`` for a command run with ``--vars dbt_vars`` (a JSON object)."""
    name = hashlib.sha256(dbt_vars.encode()).hexdigest()[:12]
    return ["--target-path", str(Path(os.environ["BAOKE_HOME"]) / "dbt-targets" / name)]
