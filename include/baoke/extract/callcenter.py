"""The call center's return feed (feeds.md §4): ``<inbox>/OUTCOMES_<dealer>_<YYYYMMDD>.csv``,
UTF-8 (BOM optional), no trailer. An outcome must answer a call we sent: a row whose
``call_id`` is not in ``etl.sent_calls`` is rejected with that reason, not dropped."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from baoke.extract.catalog import CALLCENTER_OUTCOMES
from baoke.extract.files import FileOutcome, Sender, files_before, load_file
from baoke.filedrop import FileDrop


def _sent_call_ids(conn: Any) -> set[str]:
    with conn.cursor() as cur:
        cur.execute("select call_id from etl.sent_calls")
        return {row[0] for row in cur.fetchall()}


def dealer_of(name: str) -> str:
    """The dealer an outcome file is about: ``OUTCOMES_<dealer>_..._<YYYYMMDD>.csv``."""
    return name.split("_")[1]


def extract(conn: Any, inbox: FileDrop, business_date: dt.date, max_reject_share: float = 0.1) -> list[FileOutcome]:
    """Load every outcome file dated before D that is not loaded yet (a problem with a
    file is its dealer's: scope and dealer_code of its reports = the dealer code)."""
    sent = _sent_call_ids(conn)

    def unknown_call(record: Mapping[str, str]) -> tuple[str, str] | None:
        call_id = record.get("call_id")
        if call_id and call_id not in sent:
            return "call_id", f"unknown call_id {call_id!r}: not on any list we sent"
        return None

    entity = CALLCENTER_OUTCOMES
    return [
        load_file(
            conn,
            inbox,
            file,
            entity,
            business_date,
            max_reject_share,
            trailer=False,
            check=unknown_call,
            sender=Sender(dealer_of(file.name), dealer_of(file.name)),
        )
        for file in files_before(inbox, "", "OUTCOMES_*_*.csv", business_date)
    ]
