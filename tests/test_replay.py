"""Several days of the simulated dealer group through the platform (extract, dbt build,
export, the call center working the lists): the outreach rules of rules §3 hold every
day, and what the call center reports drives the next days' lists.

The days are the replay test_replay_faults.py reads too (the session fixture
``replayed``, tests/replay_support.py): every feed misbehaves at a few percent, which
the rules and the lists must withstand; dbt's data tests run in every day's build.
"""

from __future__ import annotations

import datetime as dt

import psycopg2
import pytest

from replay_support import DAYS, START


@pytest.mark.slow
def test_every_day_keeps_the_outreach_rules(replayed):
    _, reports, _ = replayed
    assert len(reports) == DAYS
    for report in reports:
        assert report.listed > 0, report.line()
        assert not any(report.breaches.values()), report.line()
        assert {
            "outreach_customer_once_per_day",
            "outreach_no_do_not_call_on_call_list",
            "outreach_every_candidate_decided",
            "outreach_no_marketing_sms_after_do_not_call",
            "outreach_no_holdout_without_a_share",
        } <= set(report.breaches), "the invariants were checked"


@pytest.mark.slow
def test_outcomes_drive_the_next_days_lists(replayed):
    url, reports, folder = replayed
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute("select count(*) from raw.callcenter_outcomes")
        assert cur.fetchone()[0] > 0, "the call center's outcome files were loaded"
        cur.execute("select count(*) from etl.rejects where feed = 'callcenter' and field = 'call_id'")
        assert cur.fetchone()[0] == 0, "every outcome names a call we sent"
        unexplained = [reject for r in reports for reject in r.unexplained_rejects if reject.startswith("callcenter ")]
        assert unexplained == [], "the other outcomes rejected are the lines the faults damaged"
        cur.execute("select max(attempt_no) from etl.outreach_log where source = 'retry'")
        assert cur.fetchone()[0] >= 2, "a not-reached call is tried again the next day"
        cur.execute("select count(distinct list_date) from marts.fct_outreach")
        assert cur.fetchone()[0] == DAYS
        cur.execute("select count(*) from marts.fct_outreach where attempts_reported > 0")
        assert cur.fetchone()[0] > 0
    manifests = sorted((folder / "outbound_dir").glob("*/*/manifest.json"))
    assert len(manifests) == DAYS, "one manifest per dealer and day"


@pytest.mark.slow
def test_a_past_day_rebuilds_from_scratch_byte_for_byte(replayed, monkeypatch: pytest.MonkeyPatch):
    """No hidden state (issue 15): a day's decisions come from the sources and the export's
    log of the days before it, so `dbt build --full-refresh` for a past day renders the
    files that were delivered that day - on days whose feeds misbehaved, late changes
    included (a rebuild counts what the run for the day had loaded). The last day is
    rebuilt too, last: this test leaves the warehouse as of it, as the replay did."""
    from baoke_sim.rebuild_check import rebuild_check

    url, _, folder = replayed
    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE", url)
    monkeypatch.setenv("OUTBOUND_DIR", str(folder / "outbound_dir"))
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute("select count(*) from etl.outreach_exports")
        exports_before = cur.fetchone()[0]
    days = [START + dt.timedelta(days=DAYS - 2), START + dt.timedelta(days=DAYS - 1)]
    results = rebuild_check(days)
    for result in results:
        assert result.reproduced, result.line()
        assert any(
            name.endswith("call_list_" + name.split("/")[0] + f"_{result.business_date:%Y%m%d}.csv")
            for name in result.identical
        ), result.line()
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute("select count(*) from etl.outreach_exports")
        assert cur.fetchone()[0] == exports_before, "the check rendered the files: the log is as the replay left it"
        cur.execute("select count(distinct business_date) from marts.why_not_called")
        assert cur.fetchone()[0] == DAYS, "the full refresh rebuilt every day's why_not_called from the log"
