"""The insurers' file drop (feeds.md §2): ``<inbox>/<insurer>/POLICY|CLAIM_<insurer>_<YYYYMMDD>.csv``,
one sub-folder per insurer, each file ending with the ``合计,<N>`` trailer."""

from __future__ import annotations

import datetime as dt
from typing import Any

from baoke.extract.catalog import INSURER
from baoke.extract.files import FileOutcome, files_before, load_file
from baoke.filedrop import FileDrop


def insurers(inbox: FileDrop) -> list[str]:
    """The insurers that deliver to this inbox (its sub-folders)."""
    return inbox.folders()


def extract(
    conn: Any, inbox: FileDrop, insurer: str, business_date: dt.date, max_reject_share: float = 0.1
) -> list[FileOutcome]:
    """Load every policy and claim file of ``insurer`` dated before D that is not loaded yet
    (its reports are the insurer's: scope = insurer code, affecting every dealer)."""
    outcomes = []
    for kind, entity in INSURER.items():
        for file in files_before(inbox, insurer, f"{kind}_{insurer}_*.csv", business_date):
            outcomes.append(load_file(conn, inbox, file, entity, business_date, max_reject_share))
    return outcomes
