"""The call-center files (outputs.md §3) from hand-made rows of
``intermediate.int_outreach_export``: exact columns, UTF-8 BOM and CRLF that Excel,
LibreOffice, Python's csv and pandas all read the same, a manifest written last that
vouches for every file, byte-identical reruns, nothing half-delivered after a failure,
``etl.sent_calls`` filled once, delivery to a real SFTP server, and a dealer whose DMS
extraction failed held (a manifest saying why, no lists) while the others go out. With
hand-made rows of ``intermediate.int_outreach_decisions`` beside them: each export
appends the dealer's decision rows of D to the outreach log (``etl.outreach_log``), which
refuses any update or delete."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import os
import re
import xml.etree.ElementTree as ET
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd
import psycopg2
import pytest

from baoke import feedreports, outbound, report
from baoke.dates import day_start
from baoke.extract import state
from baoke.extract.catalog import DMS_GROUP_WIDE, DMS_PER_DEALER
from baoke.filedrop import FolderDrop, open_drop
from baoke.filedrop.sftp import SftpDrop
from baoke.outbound import (
    CALL_LIST_COLUMNS,
    COMPLAINT_COLUMNS,
    EXCEPTION_COLUMNS,
    FORMATS,
    LOG_COLUMNS,
    SMS_LIST_COLUMNS,
    ExportError,
)
from test_extract_sftp import SftpServer

D = dt.date(2026, 11, 20)
STAMP = "20261120"

TABLE = """
create table intermediate.int_outreach_export (
    business_date date, list_type text, call_id text, list_date date, dealer_code text, advisor_id text,
    advisor_name text, customer_id text, customer_name text, mobile text, vin text, plate_no text, model text,
    primary_reason text, primary_reason_zh text, other_reasons text, other_reasons_zh text, due_date date,
    last_visit_date date, days_since_last_visit integer, churn_status text, churn_status_zh text, attempt_no integer,
    preferred_slot text, preferred_slot_zh text, priority integer, campaign_code text, script_hint text, queue text,
    queue_zh text, sms_text text, exception_reason text, mobile_as_recorded text, channel text)
"""

#: D's decisions as the warehouse leaves them (the outreach log's columns, then the
#: dealer whose export records the row).
DECISIONS = """
create table intermediate.int_outreach_decisions (
    business_date date, customer_id text, vin text, dealer_code text, reason text, priority integer, channel text,
    event_key text, due_date date, campaign_code text, source text, attempt_no integer, disposition text,
    why_not_called text, is_list_row boolean, call_id text, preferred_slot text, advisor_id text, mobile text,
    is_failed_reminder boolean, routing_without_holdout text, leads_without_holdout boolean, queue text,
    export_dealer_code text)
"""


#: The complaints file's rows as the warehouse leaves them (int_complaints_export).
COMPLAINTS = """
create table intermediate.int_complaints_export (
    business_date date, list_type text, case_id text, dealer_code text, customer_id text, customer_name text,
    mobile text, vin text, ro_number text, advisor_id text, source text, category text, severity text,
    opened_at text, status text, registered text, breached text, customer_said text)
"""


def complaint(dealer: str, case_id: str, opened_at: str, **values: Any) -> dict[str, Any]:
    base = {
        "business_date": D,
        "list_type": "complaint",
        "case_id": case_id,
        "dealer_code": dealer,
        "customer_id": "C00000001",
        "customer_name": "张伟",
        "mobile": "13800000001",
        "vin": "LSVAU2180N0000001",
        "ro_number": f"RO{dealer}-0001",
        "advisor_id": f"{dealer}-A01",
        "source": "walk_in",
        "category": "repair_quality",
        "severity": "normal",
        "opened_at": opened_at,
        "status": "responded",
        "registered": "yes",
        "breached": None,
        "customer_said": None,
    }
    return {**base, **values}


COMPLAINT_ROWS = [
    # D001: a case the dealer registered, and an older one it never did (listed first)
    complaint("D001", "CP-D001-7", "2026-11-19 10:30"),
    complaint(
        "D001",
        "CALL-CA-D001-20261115-C00000002",
        "2026-11-15 16:05",
        customer_id="C00000002",
        ro_number=None,
        source="call_center",
        severity=None,
        status="unregistered",
        registered="no",
        breached="both",
        customer_said="=修了三次还响, 要投诉",
    ),
    # yesterday's rows must not leak into D
    complaint("D001", "CP-D001-1", "2026-11-01 09:00", business_date=D - dt.timedelta(days=1)),
]


def row(list_type: str, dealer: str, n: int, **values: Any) -> dict[str, Any]:
    base = {
        "business_date": D,
        "list_type": list_type,
        "call_id": f"{dealer}-{STAMP}-{n:05d}",
        "list_date": D,
        "dealer_code": dealer,
        "advisor_id": f"{dealer}-A01",
        "advisor_name": "王芳",
        "customer_id": f"C{n:08d}",
        "customer_name": "张伟",
        "mobile": f"138{n:08d}",
        "vin": f"LSVAU2180N{n:07d}",
        "plate_no": "粤A12345",
        "model": "朗逸",
        "primary_reason": "MAINTENANCE_DUE",
        "primary_reason_zh": "定保提醒",
        "other_reasons": "",
        "other_reasons_zh": "",
        "due_date": D + dt.timedelta(days=3),
        "last_visit_date": dt.date(2026, 5, 20),
        "days_since_last_visit": 184,
        "churn_status": "active",
        "churn_status_zh": "正常",
        "attempt_no": 1,
        "preferred_slot": "MORNING",
        "preferred_slot_zh": "上午",
        "priority": 4,
        "campaign_code": None,
        "script_hint": "您好，您的爱车即将到期保养，欢迎预约。",
        "queue": "service_advisor" if list_type == "call" else None,
        "queue_zh": "服务顾问" if list_type == "call" else None,
        "sms_text": "【保客朗逸4S店】您的朗逸预计11月23日前后需要定期保养，欢迎来电预约到店。"
        if list_type == "sms"
        else None,
        "exception_reason": None,
        "mobile_as_recorded": None,
        "channel": "SMS" if list_type == "sms" else "PHONE",
    }
    return {**base, **values}


ROWS = [
    # D001: three calls (out of order on purpose), one SMS, one exception
    row(
        "call",
        "D001",
        3,
        priority=7,
        primary_reason="LAPSING_WINBACK",
        churn_status="lapsing",
        advisor_id="D001-A02",
        advisor_name="李强",
        customer_name='欧阳"小明", 先生',
        other_reasons="POINTS_EXPIRY",
        script_hint="您好，好久不见，\n本月保养有优惠。",
        preferred_slot="AFTERNOON",
        attempt_no=2,
    ),
    row(
        "call",
        "D001",
        1,
        priority=1,
        primary_reason="POST_SERVICE_FOLLOWUP",
        primary_reason_zh="修后回访",
        other_reasons="MAINTENANCE_DUE|INSURANCE_RENEWAL",
        other_reasons_zh="定保提醒|续保提醒",
        campaign_code="CMP-2026-11",
        queue="followup_agent",
        queue_zh="回访员",
    ),
    row("call", "D001", 2, priority=4, customer_name="=SUM(A1)"),
    row(
        "sms",
        "D001",
        4,
        priority=None,
        primary_reason="BIRTHDAY",
        primary_reason_zh="生日关怀",
        customer_name="陈静",
        attempt_no=None,
        preferred_slot=None,
        preferred_slot_zh=None,
        sms_text="【保客朗逸4S店】祝您生日快乐！生日当月到店保养享专属礼遇。回复TD退订",
    ),
    row(
        "exception",
        "D001",
        5,
        call_id=None,
        mobile=None,
        exception_reason="invalid_mobile",
        mobile_as_recorded="+86 138-0013-80",
        customer_name="赵磊",
    ),
    # D002: one call only
    row("call", "D002", 6, primary_reason="INSURANCE_RENEWAL", priority=5, advisor_id="D002-A07"),
    # yesterday's rows must not leak into D
    row("call", "D001", 9, business_date=D - dt.timedelta(days=1), list_date=D - dt.timedelta(days=1)),
]


#: The role that calls for a reason (seed outreach_reasons.queue), where not a service advisor.
QUEUES = {
    "POST_SERVICE_FOLLOWUP": "followup_agent",
    "NEW_CAR_FOLLOWUP": "sales_consultant",
    "INSURANCE_RENEWAL": "renewal_specialist",
}


def decision(export_row: dict[str, Any], **values: Any) -> dict[str, Any]:
    """The decision row an export row was made from: its list row (the primary reason)."""
    r = export_row
    base = {
        "business_date": r["business_date"],
        "customer_id": r["customer_id"],
        "vin": r["vin"],
        "dealer_code": r["dealer_code"],
        "reason": r["primary_reason"],
        "priority": r["priority"],
        "channel": r["channel"],
        "event_key": f"{r['vin']}:{r['primary_reason']}:{r['due_date']}",
        "due_date": r["due_date"],
        "campaign_code": r["campaign_code"],
        "source": "retry" if (r["attempt_no"] or 1) > 1 else "due",
        "attempt_no": r["attempt_no"],
        "disposition": r["list_type"],
        "why_not_called": r["exception_reason"],
        "is_list_row": True,
        "call_id": r["call_id"],
        "preferred_slot": r["preferred_slot"],
        "advisor_id": r["advisor_id"] if r["list_type"] == "call" else None,
        "mobile": r["mobile"],
        "is_failed_reminder": False,
        "routing_without_holdout": r["list_type"],
        "leads_without_holdout": True,
        "queue": QUEUES.get(r["primary_reason"], "service_advisor") if r["list_type"] == "call" else None,
        "export_dealer_code": r["dealer_code"],
    }
    return {**base, **values}


def other_reason(export_row: dict[str, Any], reason: str, **values: Any) -> dict[str, Any]:
    """A secondary reason of the customer's list row: same call id, not the list row."""
    secondary = {
        "reason": reason,
        "priority": (export_row["priority"] or 0) + 1,
        "event_key": f"{export_row['vin']}:{reason}",
        "why_not_called": "listed_as_other_reason",
        "is_list_row": False,
    }
    return decision(export_row, **{**secondary, **values})


def unlisted(dealer: str, n: int, disposition: str, why: str, **values: Any) -> dict[str, Any]:
    """A decision that put nobody on a file: holdout, suppressed, overflow, expired."""
    source = row("call", dealer, n, call_id=None, primary_reason="MAINTENANCE_DUE")
    unlisted = {"disposition": disposition, "why_not_called": why, "is_list_row": False}
    unlisted |= {"advisor_id": None, "queue": None}
    return decision(source, **{**unlisted, **values})


BY_ID = {(r["dealer_code"], r["customer_id"], r["business_date"]): r for r in ROWS}

#: Decisions that are not list rows of the files (the list rows come with ``insert``).
OTHER_DECISIONS = [
    other_reason(BY_ID["D001", "C00000003", D], "POINTS_EXPIRY"),
    other_reason(BY_ID["D001", "C00000001", D], "MAINTENANCE_DUE"),
    # a reason of another dealer, on the call of the dealer whose reason leads: D001 logs it
    other_reason(BY_ID["D001", "C00000001", D], "INSURANCE_RENEWAL", dealer_code="D002", priority=3),
    unlisted("D001", 10, "holdout", "holdout", call_id="HO-D001-20261120-C00000010-MAINTENANCE_DUE-x"),
    unlisted("D002", 11, "suppressed", "do_not_call"),
    unlisted(
        "D002",
        12,
        "overflow",
        "advisor_cap",
        is_list_row=True,
        call_id="CA-D002-20261120-C00000012",
        advisor_id="D002-A07",
        queue="service_advisor",
    ),
    # carried over yesterday's cap and no longer due: logged like every other disposition
    unlisted("D002", 14, "expired", "expired", source="overflow", routing_without_holdout="expired"),
    unlisted("D001", 13, "suppressed", "do_not_call", business_date=D - dt.timedelta(days=1)),
]


def insert_rows(url: str, table: str, rows: list[dict[str, Any]]) -> None:
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        for r in rows:
            cur.execute(f"insert into {table} ({', '.join(r)}) values ({', '.join(['%s'] * len(r))})", list(r.values()))
    conn.close()


def insert(url: str, rows: list[dict[str, Any]]) -> None:
    """Export rows, and the decision list rows they were made from."""
    insert_rows(url, "intermediate.int_outreach_export", rows)
    insert_rows(url, "intermediate.int_outreach_decisions", [decision(r) for r in rows])


def dms_extracted(url: str, business_date: dt.date, dealers: list[str]) -> None:
    """Leave ``etl.extract_state`` as a completed DMS run for ``business_date`` leaves it:
    every group-wide entity and every entity of ``dealers`` read up to D 00:00."""
    scopes = [(name, "") for name in DMS_GROUP_WIDE] + [(n, d) for d in dealers for n in DMS_PER_DEALER]
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        for entity, scope in scopes:
            cur.execute(
                "insert into etl.load_batches (feed, entity, scope, source, raw_table, business_date, started_at,"
                " extracted, loaded, rejected, duplicates_skipped) values ('dms', %s, %s, 'test', %s, %s, now(),"
                " 0, 0, 0, 0) returning batch_id",
                (entity, scope, f"raw.dms_{entity}", business_date),
            )
            state.advance(cur, "dms", entity, scope, day_start(business_date), cur.fetchone()[0])
    conn.close()


def dms_fell_behind(url: str, entity: str, scope: str, until: dt.datetime | None) -> None:
    """The DMS extraction of ``entity`` for ``scope`` only reached ``until`` (None: never ran)."""
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        if until is None:
            cur.execute(
                "delete from etl.extract_state where feed = 'dms' and entity = %s and scope = %s", (entity, scope)
            )
        else:
            cur.execute(
                "update etl.extract_state set high_water = %s where feed = 'dms' and entity = %s and scope = %s",
                (until, entity, scope),
            )
    conn.close()


def build_export_relations(url: str, dealers: list[str]) -> None:
    """The relations the export reads, empty, built as dbt builds them: by the builder role,
    readable by the export's login (the models' ``grants``); ``marts.dim_dealer`` names
    ``dealers``."""
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute("set role baoke_builder")
        cur.execute(TABLE)
        cur.execute(DECISIONS)
        cur.execute(COMPLAINTS)
        cur.execute("create table marts.dim_dealer as select * from unnest(%s::text[]) d(dealer_code)", (dealers,))
        cur.execute(
            "grant select on intermediate.int_outreach_export, intermediate.int_outreach_decisions,"
            " intermediate.int_complaints_export, marts.dim_dealer to baoke_exporter"
        )
    conn.close()


@pytest.fixture
def db(fresh_db: str) -> str:
    """A migrated database with the export relation (two dealers with rows on D) and the
    decisions they were made from, ``marts.dim_dealer`` naming a third dealer with nothing
    due, and the DMS extracted for D for all three. Built as dbt builds them: by the owner
    role, readable by the export's login (the models' ``grants``)."""
    build_export_relations(fresh_db, ["D001", "D002", "D003"])
    insert(fresh_db, ROWS)
    insert_rows(fresh_db, "intermediate.int_outreach_decisions", OTHER_DECISIONS)
    insert_rows(fresh_db, "intermediate.int_complaints_export", COMPLAINT_ROWS)
    dms_extracted(fresh_db, D, ["D001", "D002", "D003"])
    return fresh_db


def export(url: str, location: str, dealers: list[str] | None = None) -> list[outbound.DealerExport]:
    conn = psycopg2.connect(url)
    try:
        inbox = open_drop(location)
        try:
            return outbound.export_day(conn, inbox, D, dealers)
        finally:
            inbox.close()
    finally:
        conn.close()


def read_csv(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8-sig"), newline="")))


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def sent_calls(url: str) -> list[tuple]:
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute("select call_id, list_date, dealer_code, customer_id, channel from etl.sent_calls order by 1")
        found = cur.fetchall()
    conn.close()
    return found


_XLSX_NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}


def xlsx_cells(data: bytes) -> list[list[tuple[str | None, str]]]:
    """The first sheet of a workbook as rows of (cell type, text), read from its XML
    (openpyxl is not a dependency): type "s" is a shared string, "inlineStr" and "str"
    text too; None or "n" a number; a blank cell is (None, "")."""
    with zipfile.ZipFile(io.BytesIO(data)) as book:
        shared = [
            "".join(t.text or "" for t in si.iter(f"{{{_XLSX_NS['m']}}}t"))
            for si in ET.fromstring(book.read("xl/sharedStrings.xml")).findall("m:si", _XLSX_NS)
        ]
        sheet = ET.fromstring(book.read("xl/worksheets/sheet1.xml"))
    rows = []
    for xml_row in sheet.iter(f"{{{_XLSX_NS['m']}}}row"):
        cells: dict[int, tuple[str | None, str]] = {}
        for cell in xml_row.findall("m:c", _XLSX_NS):
            letters = re.match(r"[A-Z]+", cell.get("r", "")).group(0)  # type: ignore[union-attr]
            column = 0
            for letter in letters:
                column = column * 26 + ord(letter) - 64
            kind, value = cell.get("t"), cell.findtext("m:v", None, _XLSX_NS)
            text = shared[int(value)] if kind == "s" and value is not None else (value or "")
            cells[column - 1] = (kind, text) if value is not None else (None, "")
        rows.append([cells.get(i, (None, "")) for i in range(max(cells, default=-1) + 1)])
    return rows


def xlsx_rows(data: bytes) -> list[list[str]]:
    return [[text for _, text in r] for r in xlsx_cells(data)]


def test_files_follow_the_contract(db: str, tmp_path: Path) -> None:
    exports = export(db, str(tmp_path))
    assert [e.dealer_code for e in exports] == ["D001", "D002", "D003"]
    day = tmp_path / D.isoformat()
    for dealer in ("D001", "D002", "D003"):
        assert sorted(os.listdir(day / dealer)) == sorted(
            [
                *(
                    f"{kind}_{dealer}_{STAMP}.{ext}"
                    for kind in ("call_list", "sms_list", "exceptions", "complaints")
                    for ext in FORMATS
                ),
                "manifest.json",
            ]
        ), "all files and their XLSX twins, no temporary file left"

    folder = day / "D001"
    for name, columns in (
        (f"call_list_D001_{STAMP}.csv", CALL_LIST_COLUMNS),
        (f"sms_list_D001_{STAMP}.csv", SMS_LIST_COLUMNS),
        (f"exceptions_D001_{STAMP}.csv", EXCEPTION_COLUMNS),
        (f"complaints_D001_{STAMP}.csv", COMPLAINT_COLUMNS),
    ):
        raw = (folder / name).read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf"), "a UTF-8 BOM first"
        assert raw.count(b"\xef\xbb\xbf") == 1, "one UTF-8 BOM"
        assert raw.endswith(b"\r\n")
        text = raw.decode("utf-8-sig")
        # every record ends with CRLF; the only bare LF is the one inside the quoted script hint
        assert text.replace("\r\n", "").count("\n") == ("好久不见" in text)
        parsed = read_csv(folder / name)
        assert tuple(parsed[0]) == columns, "English header, exact columns in order"
        frame = pd.read_csv(folder / name, encoding="utf-8-sig", dtype=str, keep_default_na=False)
        assert tuple(frame.columns) == columns
        assert frame.values.tolist() == parsed[1:], "pandas (Excel/LibreOffice proxy) reads the same cells"

    calls = [
        dict(zip(CALL_LIST_COLUMNS, r, strict=False)) for r in read_csv(folder / f"call_list_D001_{STAMP}.csv")[1:]
    ]
    assert [c["call_id"] for c in calls] == ["D001-20261120-00001", "D001-20261120-00002", "D001-20261120-00003"]
    first, second, third = calls
    assert first["primary_reason"] == "POST_SERVICE_FOLLOWUP"
    assert first["primary_reason_zh"] == "修后回访", "each code with its Chinese label beside it"
    assert first["priority"] == "1"
    assert first["other_reasons"] == "MAINTENANCE_DUE|INSURANCE_RENEWAL"
    assert first["other_reasons_zh"] == "定保提醒|续保提醒"
    assert (first["churn_status"], first["churn_status_zh"]) == ("active", "正常")
    assert (first["preferred_slot"], first["preferred_slot_zh"]) == ("MORNING", "上午")
    assert (first["queue"], first["queue_zh"]) == ("followup_agent", "回访员")
    assert list(first)[-2:] == ["queue", "queue_zh"], "the queue last, as outputs.md §3 orders it"
    assert first["campaign_code"] == "CMP-2026-11"
    assert first["list_date"] == "2026-11-20"
    assert first["due_date"] == "2026-11-23"
    assert first["mobile"] == "13800000001"
    assert first["advisor_name"] == "王芳"
    assert first["plate_no"] == "粤A12345"
    assert first["script_hint"] == "您好，您的爱车即将到期保养，欢迎预约。"
    assert second["customer_name"] == "'=SUM(A1)", "never a formula"
    assert second["campaign_code"] == "", "never a formula"
    assert third["customer_name"] == '欧阳"小明", 先生'
    assert third["script_hint"] == "您好，好久不见，\n本月保养有优惠。"
    assert (third["attempt_no"], third["preferred_slot"], third["days_since_last_visit"]) == ("2", "AFTERNOON", "184")

    sms = [dict(zip(SMS_LIST_COLUMNS, r, strict=True)) for r in read_csv(folder / f"sms_list_D001_{STAMP}.csv")[1:]]
    assert [(r["call_id"], r["customer_name"], r["primary_reason"], r["attempt_no"], r["priority"]) for r in sms] == [
        ("D001-20261120-00004", "陈静", "BIRTHDAY", "", "")
    ]
    assert sms[0]["sms_text"] == "【保客朗逸4S店】祝您生日快乐！生日当月到店保养享专属礼遇。回复TD退订", (
        "the message as sent"
    )
    exceptions = [
        dict(zip(EXCEPTION_COLUMNS, r, strict=True)) for r in read_csv(folder / f"exceptions_D001_{STAMP}.csv")[1:]
    ]
    assert [
        (e["customer_name"], e["mobile"], e["exception_reason"], e["mobile_as_recorded"], e["call_id"])
        for e in exceptions
    ] == [("赵磊", "", "invalid_mobile", "'+86 138-0013-80", "")], (
        "the number as the DMS holds it, to correct (a leading + guarded like any formula start)"
    )

    complaints = [
        dict(zip(COMPLAINT_COLUMNS, r, strict=True)) for r in read_csv(folder / f"complaints_D001_{STAMP}.csv")[1:]
    ]
    assert [(c["case_id"], c["status"], c["registered"], c["breached"]) for c in complaints] == [
        ("CALL-CA-D001-20261115-C00000002", "unregistered", "no", "both"),
        ("CP-D001-7", "responded", "yes", ""),
    ], "the service manager's file: the case waiting longest first, yesterday's rows not there"
    assert complaints[0]["customer_said"] == "'=修了三次还响, 要投诉", "what the customer said, never a formula"
    assert (complaints[1]["customer_name"], complaints[1]["mobile"], complaints[1]["advisor_id"]) == (
        "张伟",
        "13800000001",
        "D001-A01",
    )

    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["business_date"] == "2026-11-20"
    assert manifest["dealer_code"] == "D001"
    assert manifest["status"] == "delivered"
    assert manifest["feed_reports"] == [], "no feed reported a problem"
    assert manifest["format"] == "baoke-outbound/2"
    assert manifest["run_id"].startswith("20261120-D001-")
    assert [(f["name"], f["list_type"], f["format"], f["rows"]) for f in manifest["files"]] == [
        (f"call_list_D001_{STAMP}.csv", "call", "csv", 3),
        (f"call_list_D001_{STAMP}.xlsx", "call", "xlsx", 3),
        (f"sms_list_D001_{STAMP}.csv", "sms", "csv", 1),
        (f"sms_list_D001_{STAMP}.xlsx", "sms", "xlsx", 1),
        (f"exceptions_D001_{STAMP}.csv", "exception", "csv", 1),
        (f"exceptions_D001_{STAMP}.xlsx", "exception", "xlsx", 1),
        (f"complaints_D001_{STAMP}.csv", "complaint", "csv", 2),
        (f"complaints_D001_{STAMP}.xlsx", "complaint", "xlsx", 2),
    ]
    assert manifest["files"][0]["by_primary_reason"] == {
        "LAPSING_WINBACK": 1,
        "MAINTENANCE_DUE": 1,
        "POST_SERVICE_FOLLOWUP": 1,
    }
    assert manifest["files"][0]["by_queue"] == {"service_advisor": 2, "followup_agent": 1}
    assert (
        manifest["files"][4]["by_exception_reason"]
        == manifest["files"][5]["by_exception_reason"]
        == {"invalid_mobile": 1}
    )
    assert manifest["files"][6]["by_status"] == {"responded": 1, "unregistered": 1}
    assert manifest["files"][6]["by_breached"] == {"(none)": 1, "both": 1}
    for entry in manifest["files"]:
        data = (folder / entry["name"]).read_bytes()
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()
        assert entry["bytes"] == len(data)
        assert (folder / "manifest.json").stat().st_mtime_ns >= (folder / entry["name"]).stat().st_mtime_ns

    summary = exports[0].to_dict()
    assert summary["path"] == f"{tmp_path}/2026-11-20/D001"
    assert summary["files"][f"call_list_D001_{STAMP}.csv"]["rows"] == 3
    assert summary["files"][f"exceptions_D001_{STAMP}.csv"]["by_exception_reason"] == {"invalid_mobile": 1}
    assert summary["new_sent_calls"] == 4
    json.dumps(summary)  # fit for XCom


def test_the_manifest_is_written_last(db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    written: list[str] = []
    original = FolderDrop.write_bytes

    def spy(self: FolderDrop, relpath: str, data: bytes):
        written.append(relpath)
        return original(self, relpath, data)

    monkeypatch.setattr(FolderDrop, "write_bytes", spy)
    export(db, str(tmp_path), ["D002"])
    assert written == [
        f"2026-11-20/D002/call_list_D002_{STAMP}.csv",
        f"2026-11-20/D002/call_list_D002_{STAMP}.xlsx",
        f"2026-11-20/D002/sms_list_D002_{STAMP}.csv",
        f"2026-11-20/D002/sms_list_D002_{STAMP}.xlsx",
        f"2026-11-20/D002/exceptions_D002_{STAMP}.csv",
        f"2026-11-20/D002/exceptions_D002_{STAMP}.xlsx",
        f"2026-11-20/D002/complaints_D002_{STAMP}.csv",
        f"2026-11-20/D002/complaints_D002_{STAMP}.xlsx",
        "2026-11-20/D002/manifest.json",
    ]


def test_a_rerun_rewrites_identical_bytes_and_records_each_call_once(db: str, tmp_path: Path) -> None:
    first = export(db, str(tmp_path))
    before = tree(tmp_path)
    again = export(db, str(tmp_path))
    assert tree(tmp_path) == before, "files and manifests byte-identical"
    assert [e.manifest for e in again] == [e.manifest for e in first]
    assert sum(e.new_sent_calls for e in first) == 5
    assert sum(e.new_sent_calls for e in again) == 0
    assert sent_calls(db) == [
        ("D001-20261120-00001", D, "D001", "C00000001", "PHONE"),
        ("D001-20261120-00002", D, "D001", "C00000002", "PHONE"),
        ("D001-20261120-00003", D, "D001", "C00000003", "PHONE"),
        ("D001-20261120-00004", D, "D001", "C00000004", "SMS"),
        ("D002-20261120-00006", D, "D002", "C00000006", "PHONE"),
    ], "call and SMS rows, not exceptions nor yesterday's rows"


def test_a_dealer_with_nothing_due_gets_header_only_files(db: str, tmp_path: Path) -> None:
    [d003] = export(db, str(tmp_path), ["D003"])
    folder = tmp_path / D.isoformat() / "D003"
    assert (folder / f"call_list_D003_{STAMP}.csv").read_bytes() == (
        b"\xef\xbb\xbf" + ",".join(CALL_LIST_COLUMNS).encode() + b"\r\n"
    )
    assert (
        (folder / f"exceptions_D003_{STAMP}.csv")
        .read_bytes()
        .endswith(b",script_hint,queue,queue_zh,exception_reason,mobile_as_recorded\r\n")
    )
    assert [f["rows"] for f in d003.manifest["files"]] == [0, 0, 0, 0, 0, 0, 0, 0]
    assert xlsx_rows((folder / f"call_list_D003_{STAMP}.xlsx").read_bytes()) == [list(CALL_LIST_COLUMNS)]
    assert d003.line() == "D003: call 0, sms 0, exceptions 0, complaints 0"


def test_a_failure_half_way_leaves_no_partial_file_and_no_manifest(
    db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_replace = os.replace

    def fail_on_sms(src: str, dst: str) -> None:
        if os.path.basename(dst).startswith("sms_list_"):
            raise OSError("disk full")
        real_replace(src, dst)

    folder = tmp_path / D.isoformat() / "D001"
    with monkeypatch.context() as mp:
        mp.setattr(os, "replace", fail_on_sms)
        with pytest.raises(OSError, match="disk full"):
            export(db, str(tmp_path), ["D001"])
    assert sorted(os.listdir(folder)) == [f"call_list_D001_{STAMP}.csv", f"call_list_D001_{STAMP}.xlsx"], (
        "no temp file, no sms list, no manifest"
    )
    assert sent_calls(db) == [], "nothing recorded as sent"

    [done] = export(db, str(tmp_path), ["D001"])  # the retry completes the folder
    good = tree(folder)
    assert len(good) == 9
    assert done.new_sent_calls == 4

    # the data changes (e.g. a fixed model is rebuilt) and the rerun fails half-way: the
    # old manifest no longer vouches for the folder, so it is gone
    insert(db, [row("call", "D001", 7, priority=2, primary_reason="NEW_CAR_FOLLOWUP")])
    with monkeypatch.context() as mp:
        mp.setattr(os, "replace", fail_on_sms)
        with pytest.raises(OSError, match="disk full"):
            export(db, str(tmp_path), ["D001"])
    assert sorted(os.listdir(folder)) == [
        f"call_list_D001_{STAMP}.csv",
        f"call_list_D001_{STAMP}.xlsx",
        f"complaints_D001_{STAMP}.csv",
        f"complaints_D001_{STAMP}.xlsx",
        f"exceptions_D001_{STAMP}.csv",
        f"exceptions_D001_{STAMP}.xlsx",
        f"sms_list_D001_{STAMP}.csv",
        f"sms_list_D001_{STAMP}.xlsx",
    ]
    assert (folder / f"call_list_D001_{STAMP}.csv").read_bytes() != good[f"call_list_D001_{STAMP}.csv"]
    [fixed] = export(db, str(tmp_path), ["D001"])
    assert fixed.manifest["files"][0]["rows"] == fixed.manifest["files"][1]["rows"] == 4
    assert fixed.new_sent_calls == 1


def test_a_failing_write_through_the_inbox_leaves_no_manifest(
    db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = FolderDrop.write_bytes

    def second_fails(self: FolderDrop, relpath: str, data: bytes):
        if "/sms_list_" in relpath:
            raise ConnectionError("connection lost")
        return original(self, relpath, data)

    monkeypatch.setattr(FolderDrop, "write_bytes", second_fails)
    with pytest.raises(ConnectionError):
        export(db, str(tmp_path), ["D002"])
    assert sorted(os.listdir(tmp_path / D.isoformat() / "D002")) == [
        f"call_list_D002_{STAMP}.csv",
        f"call_list_D002_{STAMP}.xlsx",
    ]


def test_contract_breaches_are_refused_before_anything_is_written(db: str, tmp_path: Path) -> None:
    insert(db, [row("call", "D002", 6, customer_id="C99999999"), row("fax", "D002", 8)])
    with pytest.raises(ExportError, match=r"unknown list_type fax.*call_id listed twice: D002-20261120-00006"):
        export(db, str(tmp_path), ["D002"])
    assert not (tmp_path / D.isoformat()).exists()
    with pytest.raises(ExportError, match="sms row with channel PHONE"):
        outbound.build_files(D, "D001", [row("sms", "D001", 1, channel="PHONE")])


def test_the_export_waits_for_the_warehouse_of_the_day(fresh_db: str) -> None:
    conn = psycopg2.connect(fresh_db)
    try:
        with pytest.raises(ExportError, match="int_outreach_export does not exist"):
            outbound.export_ready(conn, D)
        with conn, conn.cursor() as cur:
            cur.execute(TABLE)
        with pytest.raises(ExportError, match="int_outreach_decisions does not exist"):
            outbound.export_ready(conn, D)
        with conn, conn.cursor() as cur:
            cur.execute(DECISIONS)
        assert outbound.export_ready(conn, D), "built, nothing due anywhere"
        assert outbound.dealers(conn, D) == [], "no dim_dealer: the dealers with rows"
        insert(fresh_db, [row("call", "D001", 1, business_date=D - dt.timedelta(days=1))])
        assert not outbound.export_ready(conn, D), "still yesterday's build"
        insert(fresh_db, [row("call", "D002", 2)])
        assert outbound.export_ready(conn, D)
        assert outbound.dealers(conn, D) == ["D002"]
    finally:
        conn.close()


def test_the_run_ends_by_saying_where_the_files_are(db: str, tmp_path: Path) -> None:
    assert report.outbound_summary(D, str(tmp_path)) == f"call lists for 2026-11-20: none in {tmp_path}/2026-11-20"
    export(db, str(tmp_path))
    (tmp_path / D.isoformat() / "D009").mkdir()  # a folder without manifest: not delivered
    assert report.outbound_summary(D, str(tmp_path)).splitlines() == [
        f"call lists for 2026-11-20 in {tmp_path}/2026-11-20:",
        "  D001: call 3 (LAPSING_WINBACK 1, MAINTENANCE_DUE 1, POST_SERVICE_FOLLOWUP 1), sms 1 (BIRTHDAY 1),"
        " exceptions 1 (invalid_mobile 1), complaints 2 (responded 1, unregistered 1)",
        "  D002: call 1 (INSURANCE_RENEWAL 1), sms 0, exceptions 0, complaints 0",
        "  D003: call 0, sms 0, exceptions 0, complaints 0",
        "  D009: incomplete (no manifest.json)",
    ]


def reports(url: str, **where: str) -> list[feedreports.FeedReport]:
    with psycopg2.connect(url) as conn:
        found = feedreports.for_day(conn, D, **where)
    conn.close()
    return found


def test_a_dealer_whose_dms_extraction_failed_is_held_and_the_others_go_out(db: str, tmp_path: Path) -> None:
    """feeds.md §5 / outputs.md §3: the held dealer's folder has a manifest saying which
    DMS entities were not extracted for D, and no list file; D gets a 'held' report;
    every other dealer's lists are written; lists an earlier attempt wrote are removed."""
    first = {e.dealer_code: e for e in export(db, str(tmp_path))}
    delivered = tree(tmp_path / D.isoformat() / "D002")
    assert len(delivered) == 9, "an earlier attempt delivered D002 (four files, their twins, the manifest)"
    yesterday = day_start(D) - dt.timedelta(days=1)
    for entity in ("repair_orders", "appointments", "memberships", "recommendations", "complaints"):
        dms_fell_behind(db, entity, "D002", yesterday)  # the D002 task failed at repair_orders

    exports = {e.dealer_code: e for e in export(db, str(tmp_path))}
    folder = tmp_path / D.isoformat() / "D002"
    assert os.listdir(folder) == ["manifest.json"], "no list file beside a held manifest"
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    reason = (
        "DMS repair_orders, appointments, memberships, recommendations, complaints"
        " for D002 not extracted for 2026-11-20"
        " (last extracted up to 2026-11-19 00:00 +0800)"
    )
    assert manifest == {
        "format": "baoke-outbound/2",
        "business_date": "2026-11-20",
        "dealer_code": "D002",
        "status": "held",
        "run_id": manifest["run_id"],
        "held_because": reason,
        "files": [],
        "feed_reports": [],
    }
    assert exports["D002"].held
    assert exports["D002"].line() == f"D002: held — {reason}"
    assert exports["D002"].to_dict()["held_because"] == reason
    [held] = reports(db, feed="outbound")
    assert (held.scope, held.dealer_code, held.kind) == ("D002", "D002", "held")
    assert held.message == f"lists for D002 held: {reason}"
    for dealer in ("D001", "D003"):
        assert exports[dealer].manifest == first[dealer].manifest, f"{dealer}'s lists still go out"
        assert len(os.listdir(tmp_path / D.isoformat() / dealer)) == 9
    assert "  D002: held — DMS repair_orders" in report.outbound_summary(D, str(tmp_path))

    again = tree(tmp_path)
    export(db, str(tmp_path))
    assert tree(tmp_path) == again, "a rerun while still held rewrites the same bytes"
    assert len(reports(db, feed="outbound")) == 1


def test_a_failed_group_listing_holds_every_dealer_naming_it(db: str, tmp_path: Path) -> None:
    dms_fell_behind(db, "campaigns", "", None)
    exports = export(db, str(tmp_path))
    assert [e.held for e in exports] == [True, True, True]
    assert exports[0].manifest["held_because"] == (
        "DMS campaigns (group-wide) not extracted for 2026-11-20 (never extracted)"
    )
    assert [r.scope for r in reports(db, feed="outbound")] == ["D001", "D002", "D003"]


def test_a_rerun_after_the_dms_recovered_delivers_and_drops_the_hold(db: str, tmp_path: Path) -> None:
    dms_fell_behind(db, "customers", "D001", None)
    [held] = export(db, str(tmp_path / "out"), ["D001"])
    assert held.held
    assert held.new_sent_calls == 0, "nothing of a held dealer is recorded as sent"
    assert [r.kind for r in reports(db, dealer_code="D001")] == ["held"]

    dms_extracted(db, D, ["D001"])  # the DMS came back; the run for D is repeated
    [delivered] = export(db, str(tmp_path / "out"), ["D001"])
    assert not delivered.held
    assert delivered.new_sent_calls == 4
    assert reports(db, feed="outbound") == [], "the 'held' report no longer applies"
    export(db, str(tmp_path / "reference"), ["D001"])
    assert tree(tmp_path / "out") == tree(tmp_path / "reference"), "the same bytes as if it had never been held"


def test_delivered_manifests_name_the_feed_reports_affecting_the_dealer(db: str, tmp_path: Path) -> None:
    """outputs.md §3: the manifest names any feed reported degraded or stale for the dealer."""
    with psycopg2.connect(db) as conn, conn.cursor() as cur:
        feedreports.record(cur, D, "dms", "D001", "degraded", "repair_orders [D001] batch 7", "12 of 40 rejected",
                           dealer_code="D001")  # fmt: skip
        feedreports.record(cur, D, "insurer", "PICC", "stale", "files", "insurer PICC: no file dated 2026-11-18")
    conn.close()
    exports = {e.dealer_code: e for e in export(db, str(tmp_path))}
    stale_insurer = {
        "feed": "insurer",
        "scope": "PICC",
        "kind": "stale",
        "subject": "files",
        "message": "insurer PICC: no file dated 2026-11-18",
    }
    assert exports["D001"].manifest["feed_reports"] == [
        {
            "feed": "dms",
            "scope": "D001",
            "kind": "degraded",
            "subject": "repair_orders [D001] batch 7",
            "message": "12 of 40 rejected",
        },
        stale_insurer,
    ]
    assert exports["D002"].manifest["feed_reports"] == [stale_insurer], "another dealer's problem is not D002's"
    written = json.loads((tmp_path / D.isoformat() / "D001" / "manifest.json").read_text(encoding="utf-8"))
    assert written["feed_reports"] == exports["D001"].manifest["feed_reports"]
    assert written["status"] == "delivered"


def unguarded(cell: str) -> str:
    """A CSV cell without the export's formula guard: the text the XLSX twin holds."""
    return cell[1:] if cell[:1] == "'" and cell[1:2] in ("=", "+", "@") else cell


def test_each_list_has_an_xlsx_twin_of_text_cells(db: str, tmp_path: Path) -> None:
    """The same header and rows as the CSV, every cell a text cell: a mobile, a VIN or an
    id never becomes a number (which a spreadsheet does to a CSV's 13800000001). A text
    cell is never a formula, so the twin holds the plain text, without the CSV's guard."""
    [d001] = export(db, str(tmp_path), ["D001"])
    folder = tmp_path / D.isoformat() / "D001"
    for entry in d001.manifest["files"]:
        if entry["format"] != "xlsx":
            continue
        data = (folder / entry["name"]).read_bytes()
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()
        assert entry["bytes"] == len(data)
        twin = [[unguarded(cell) for cell in r] for r in read_csv(folder / entry["name"].replace(".xlsx", ".csv"))]
        cells = xlsx_cells(data)
        assert [[text for _, text in r] + [""] * (len(twin[0]) - len(r)) for r in cells] == twin, entry["name"]
        assert len(cells) - 1 == entry["rows"] >= 1
        header = twin[0]
        for column in ("mobile", "vin", "customer_id", "call_id", "advisor_id", "attempt_no", "priority"):
            if column not in header:
                continue  # the complaints file has no call id, attempt or priority
            values = [r[header.index(column)] for r in cells[1:] if len(r) > header.index(column)]
            assert all(kind == "s" for kind, text in values if text), f"{entry['name']} {column}: text cells"
        assert all(kind == "s" for r in cells for kind, text in r if text), "every cell with a value is text"
    calls = xlsx_rows((folder / f"call_list_D001_{STAMP}.xlsx").read_bytes())
    assert calls[1][CALL_LIST_COLUMNS.index("mobile")] == "13800000001"
    assert calls[1][CALL_LIST_COLUMNS.index("vin")] == "LSVAU2180N0000001"
    name = CALL_LIST_COLUMNS.index("customer_name")
    call_cells = xlsx_cells((folder / f"call_list_D001_{STAMP}.xlsx").read_bytes())
    assert call_cells[2][name] == ("s", "=SUM(A1)"), (
        "the name as typed, in a text cell (never a formula), without the CSV's apostrophe"
    )
    exceptions = xlsx_cells((folder / f"exceptions_D001_{STAMP}.xlsx").read_bytes())
    recorded = EXCEPTION_COLUMNS.index("mobile_as_recorded")
    assert [r[recorded] for r in exceptions[1:]] == [("s", "+86 138-0013-80")], (
        "the number staff must correct, exactly as the DMS holds it, in a text cell"
    )
    csv_exceptions = read_csv(folder / f"exceptions_D001_{STAMP}.csv")
    assert [r[recorded] for r in csv_exceptions[1:]] == ["'+86 138-0013-80"], "the CSV keeps its formula guard"

    with zipfile.ZipFile(folder / f"call_list_D001_{STAMP}.xlsx") as book:
        core = book.read("docProps/core.xml").decode()
        dates = {info.date_time for info in book.infolist()}
    assert "2026-11-20T00:00:00Z" in core, "created on D, not at the wall clock's time"
    assert dates == {(1980, 1, 1, 0, 0, 0)}, "the archive's members carry no wall-clock date"


def test_an_xlsx_rerun_rewrites_identical_bytes(db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    export(db, str(tmp_path), ["D001"])
    folder = tmp_path / D.isoformat() / "D001"
    before = {p.name: p.read_bytes() for p in folder.glob("*.xlsx")}
    assert len(before) == 4
    import time

    time.sleep(1.1)  # another second on the wall clock: nothing in the files may change
    export(db, str(tmp_path), ["D001"])
    assert {p.name: p.read_bytes() for p in folder.glob("*.xlsx")} == before


def test_a_placeholder_left_in_a_script_or_message_is_refused() -> None:
    """A template naming a placeholder the export does not fill (a recall's name before
    that reason exists) must never reach a customer as "{recall_name}"."""
    with pytest.raises(ExportError, match=r"placeholders not filled in: script_hint \{recall_name\}"):
        outbound.build_files(D, "D001", [row("call", "D001", 1, script_hint="您的{recall_name}召回")])
    with pytest.raises(ExportError, match=r"sms_text \{points_balance\}"):
        outbound.build_files(D, "D001", [row("sms", "D001", 2, sms_text="【店】积分{points_balance}分")])


# --- the outreach log ------------------------------------------------------------------


def recorded_exports(url: str) -> list[tuple]:
    """(export_id, business_date, dealer_code, status, run_id, rows_logged), oldest first."""
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute(
            "select export_id, business_date, dealer_code, status, run_id, rows_logged"
            " from etl.outreach_exports order by export_id"
        )
        found = cur.fetchall()
    conn.close()
    return found


def logged(url: str, export_id: int | None) -> Counter:
    """The rows one export logged (a multiset of LOG_COLUMNS tuples)."""
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute(f"select {', '.join(LOG_COLUMNS)} from etl.outreach_log where export_id = %s", (export_id,))
        found = Counter(cur.fetchall())
    conn.close()
    return found


def log_size(url: str) -> int:
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute("select count(*) from etl.outreach_log")
        found = cur.fetchone()[0]
    conn.close()
    return found


def decided(dealer: str, extra: list[dict[str, Any]] | None = None) -> Counter:
    """D's hand-made decision rows the dealer's export records (from the rows, not the database)."""
    rows = [decision(r) for r in ROWS] + OTHER_DECISIONS + (extra or [])
    return Counter(
        tuple(r[c] for c in LOG_COLUMNS) for r in rows if r["business_date"] == D and r["export_dealer_code"] == dealer
    )


def test_each_export_logs_the_dealers_decisions_of_the_day(db: str, tmp_path: Path) -> None:
    """Every disposition of D whose export is the dealer's, a secondary reason of another
    dealer on the dealer's call included; no other day's, no other dealer's."""
    exports = {e.dealer_code: e for e in export(db, str(tmp_path))}
    assert [r[1:] for r in recorded_exports(db)] == [
        (D, "D001", "delivered", exports["D001"].manifest["run_id"], 9),
        (D, "D002", "delivered", exports["D002"].manifest["run_id"], 4),
        (D, "D003", "delivered", exports["D003"].manifest["run_id"], 0),
    ]
    for dealer, e in exports.items():
        assert logged(db, e.export_id) == decided(dealer), dealer
        assert e.rows_logged == sum(decided(dealer).values())
        assert e.to_dict()["rows_logged"] == e.rows_logged
    d001 = logged(db, exports["D001"].export_id)
    position = {c: i for i, c in enumerate(LOG_COLUMNS)}
    assert Counter(r[position["disposition"]] for r in d001.elements()) == {"call": 6, "sms": 1, "exception": 1,
                                                                           "holdout": 1}  # fmt: skip
    assert ("D002", "INSURANCE_RENEWAL") in {(r[position["dealer_code"]], r[position["reason"]]) for r in d001}
    d002 = logged(db, exports["D002"].export_id)
    assert sorted(r[position["disposition"]] for r in d002) == ["call", "expired", "overflow", "suppressed"]
    assert {r[position["disposition"]]: r[position["queue"]] for r in d002} == {
        "call": "renewal_specialist",
        "overflow": "service_advisor",
        "expired": None,
        "suppressed": None,
    }
    listed = {
        r[position["call_id"]]
        for e in exports.values()
        for r in logged(db, e.export_id)
        if r[position["is_list_row"]] and r[position["disposition"]] in ("call", "sms")
    }
    assert listed == {s[0] for s in sent_calls(db)}, "the log's call and SMS list rows are the calls sent"
    assert log_size(db) == 13


def test_a_rerun_appends_a_second_export_with_the_same_rows(db: str, tmp_path: Path) -> None:
    first = export(db, str(tmp_path))
    again = export(db, str(tmp_path))
    recorded = recorded_exports(db)
    assert [r[0] for r in recorded] == [e.export_id for e in first + again], "appended, in order"
    assert [r[1:] for r in recorded[3:]] == [r[1:] for r in recorded[:3]], "same dealers, run ids and counts"
    for before, after in zip(first, again, strict=True):
        assert logged(db, after.export_id) == logged(db, before.export_id) == decided(before.dealer_code)
    assert log_size(db) == 26, "the first export's rows are kept"
    with psycopg2.connect(db) as conn, conn.cursor() as cur:
        cur.execute(
            "select distinct on (business_date, dealer_code) export_id from etl.outreach_exports"
            " order by business_date, dealer_code, export_id desc"
        )
        latest = [r[0] for r in cur.fetchall()]
    conn.close()
    assert latest == [e.export_id for e in again], "the latest export of each date and dealer is the rerun's"


def test_a_held_dealer_records_a_held_export_without_rows(db: str, tmp_path: Path) -> None:
    dms_fell_behind(db, "customers", "D001", None)
    [held] = export(db, str(tmp_path), ["D001"])
    assert held.held
    assert recorded_exports(db) == [(held.export_id, D, "D001", "held", held.manifest["run_id"], 0)]
    assert held.rows_logged == 0
    assert log_size(db) == 0, "nothing was sent, nothing is logged"

    dms_extracted(db, D, ["D001"])
    [delivered] = export(db, str(tmp_path), ["D001"])
    assert [r[3:] for r in recorded_exports(db)] == [("held", held.manifest["run_id"], 0),
                                                     ("delivered", delivered.manifest["run_id"], 9)]  # fmt: skip
    assert logged(db, delivered.export_id) == decided("D001")


def test_the_log_refuses_updates_and_deletes(db: str, tmp_path: Path) -> None:
    [d002] = export(db, str(tmp_path), ["D002"])
    before = (recorded_exports(db), logged(db, d002.export_id))
    conn = psycopg2.connect(db)
    try:
        for statement, refusal in (
            ("update etl.outreach_log set mobile = null", "etl.outreach_log is append-only: UPDATE refused"),
            ("delete from etl.outreach_log", "etl.outreach_log is append-only: DELETE refused"),
            ("delete from etl.outreach_log where false", "etl.outreach_log is append-only: DELETE refused"),
            ("truncate etl.outreach_log", "etl.outreach_log is append-only: TRUNCATE refused"),
            ("update etl.outreach_exports set status = 'held'", "etl.outreach_exports is append-only: UPDATE refused"),
            ("delete from etl.outreach_exports", "etl.outreach_exports is append-only: DELETE refused"),
            ("truncate etl.outreach_exports, etl.outreach_log", "is append-only: TRUNCATE refused"),
        ):
            with pytest.raises(psycopg2.errors.RestrictViolation, match=refusal), conn, conn.cursor() as cur:
                cur.execute(statement)
        with conn, conn.cursor() as cur:
            cur.execute(
                "select r, t, p from unnest(array['etl.outreach_log', 'etl.outreach_exports']) t,"
                " unnest(array['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE']) p,"
                " unnest(array['baoke_loader', 'baoke_transformer', 'baoke_exporter']) r"
                " where has_table_privilege(r, t, p)"
            )
            granted = set(cur.fetchall())
        tables = ("etl.outreach_exports", "etl.outreach_log")
        assert granted == {("baoke_exporter", t, p) for t in tables for p in ("SELECT", "INSERT")} | {
            (r, t, "SELECT") for t in tables for r in ("baoke_transformer", "baoke_loader")
        }, "the export appends, dbt (and the loader) read; nobody may update or delete"
    finally:
        conn.close()
    assert (recorded_exports(db), logged(db, d002.export_id)) == before, "every row still there, unchanged"
    assert sum(before[1].values()) == 4


def test_a_decisions_relation_without_the_log_columns_is_refused_before_anything_is_written(
    db: str, tmp_path: Path
) -> None:
    with psycopg2.connect(db) as conn, conn.cursor() as cur:
        cur.execute(
            "alter table intermediate.int_outreach_decisions drop column mobile, drop column export_dealer_code"
        )
    conn.close()
    message = "int_outreach_decisions lacks the outreach log's columns mobile, export_dealer_code"
    with pytest.raises(ExportError, match=message):
        export(db, str(tmp_path), ["D001"])
    with pytest.raises(ExportError, match=message):
        export(db, str(tmp_path))
    assert not (tmp_path / D.isoformat()).exists()
    assert recorded_exports(db) == []
    assert sent_calls(db) == []


def test_a_dealer_with_suppressed_rows_only_gets_its_export(db: str, tmp_path: Path) -> None:
    quiet = [unlisted("D004", 14, "suppressed", "do_not_call")]
    insert_rows(db, "intermediate.int_outreach_decisions", quiet)
    dms_extracted(db, D, ["D004"])
    exports = {e.dealer_code: e for e in export(db, str(tmp_path))}
    assert list(exports) == ["D001", "D002", "D003", "D004"], "not in dim_dealer, no export row: still exported"
    assert [f["rows"] for f in exports["D004"].manifest["files"]] == [0, 0, 0, 0, 0, 0, 0, 0]
    assert logged(db, exports["D004"].export_id) == decided("D004", quiet) != Counter()


def test_files_and_decisions_that_disagree_are_refused_before_anything_is_written(db: str, tmp_path: Path) -> None:
    insert_rows(db, "intermediate.int_outreach_export", [row("sms", "D002", 8, primary_reason="BIRTHDAY")])
    insert_rows(db, "intermediate.int_outreach_decisions", [decision(row("call", "D002", 9))])
    with pytest.raises(
        ExportError, match="only in the files: D002-20261120-00008; only in the decisions: D002-20261120-00009"
    ):
        export(db, str(tmp_path), ["D002"])
    assert not (tmp_path / D.isoformat()).exists()
    assert recorded_exports(db) == []


def test_the_export_records_its_log_and_sent_calls_in_one_transaction(
    db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refused(cur: Any, files: outbound.DealerFiles) -> int:
        raise psycopg2.OperationalError("connection lost")

    with monkeypatch.context() as mp:
        mp.setattr(outbound, "_record_sent_calls", refused)
        with pytest.raises(psycopg2.OperationalError):
            export(db, str(tmp_path), ["D001"])
    assert (recorded_exports(db), log_size(db), sent_calls(db)) == ([], 0, []), "all or nothing"
    [done] = export(db, str(tmp_path), ["D001"])
    assert (done.rows_logged, done.new_sent_calls, len(recorded_exports(db))) == (9, 4, 1)


@pytest.fixture
def sftp_server(tmp_path: Path):
    root = tmp_path / "sftp-root"
    root.mkdir()
    server = SftpServer(root).start()
    yield server
    server.stop()


def test_delivery_to_sftp(db: str, tmp_path: Path, sftp_server: SftpServer) -> None:
    local = tmp_path / "local"
    export(db, str(local))
    sftp_server.ops.clear()
    location = sftp_server.url("/outbound")
    exports = export(db, location)
    assert tree(sftp_server.root / "outbound") == tree(local), "the same bytes as to a folder"
    assert exports[0].location == f"sftp://127.0.0.1:{sftp_server.port}/outbound/2026-11-20/D001"
    writes = [op[1] for op in sftp_server.ops if op[0] == "write"]
    renames = [op[2] for op in sftp_server.ops if op[0] == "rename"]
    assert len(writes) == 27
    assert all(w.endswith(".part") for w in writes), "never written in place"
    assert renames[8::9] == [f"/outbound/2026-11-20/{d}/manifest.json" for d in ("D001", "D002", "D003")]
    assert all(r.rsplit("/", 1)[1] != "manifest.json" for i, r in enumerate(renames) if i % 9 != 8)

    # a rerun with other content over SFTP removes the stale manifest before rewriting
    insert(db, [row("sms", "D002", 8, primary_reason="BIRTHDAY")])
    original = SftpDrop.write_bytes

    def sms_fails(self: SftpDrop, relpath: str, data: bytes):
        if "/sms_list_" in relpath:
            raise ConnectionError("connection lost")
        return original(self, relpath, data)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(SftpDrop, "write_bytes", sms_fails)
        with pytest.raises(ConnectionError):
            export(db, location, ["D002"])
    assert not (sftp_server.root / "outbound/2026-11-20/D002/manifest.json").exists()
    assert "  D002: incomplete (no manifest.json)" in report.outbound_summary(D, location)
    [d002] = export(db, location, ["D002"])
    assert d002.manifest["files"][2]["rows"] == 1
    assert json.loads((sftp_server.root / "outbound/2026-11-20/D002/manifest.json").read_bytes()) == d002.manifest

    summary = report.outbound_summary(D, location)
    assert summary.startswith(f"call lists for 2026-11-20 in sftp://127.0.0.1:{sftp_server.port}/outbound/2026-11-20:")
    assert "  D002: call 1 (INSURANCE_RENEWAL 1), sms 1 (BIRTHDAY 1), exceptions 0" in summary
    refused = report.outbound_summary(D, sftp_server.url("/outbound", password="wrong-password-42"))
    assert "cannot read sftp://127.0.0.1" in refused
    assert "wrong-password-42" not in refused


@pytest.mark.slow  # Airflow parses the DAG file (DagBag)
def test_the_dag_is_daily_with_one_task_per_dealer(monkeypatch: pytest.MonkeyPatch) -> None:
    """Parsed without any database or network access, like every DAG file."""
    import socket

    from airflow.dag_processing.dagbag import DagBag

    from baoke.config import get_settings

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("I/O while importing the DAG file")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(psycopg2, "connect", refuse)
    bag = DagBag(dag_folder=str(get_settings().dags_dir / "baoke_outbound.py"))
    assert bag.import_errors == {}
    dag = bag.dags["baoke_outbound"]
    assert dag.schedule == "0 1 * * *"
    assert str(dag.timezone) == "Asia/Shanghai"
    assert dag.catchup is False
    assert "baoke" in dag.tags
    assert "manifest.json" in dag.doc_md
    assert dag.task_dict["dealer_files"].is_mapped
    assert dag.task_dict["dealer_files"].upstream_task_ids == {"warehouse_built"}
    assert all(t.owner == "baoke-data" and t.retries >= 1 for t in dag.tasks)


@pytest.mark.slow
def test_the_dag_exports_every_dealer(db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The DAG through Airflow (``dag.test``, as ``baoke run`` does): the readiness sensor
    hands the dealers to one mapped task each."""
    from airflow.dag_processing.dagbag import DagBag

    from baoke import airflow_env
    from baoke.config import get_settings
    from baoke.runner import run_dag

    airflow_env.ensure_metadata_db()
    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE", db)
    (tmp_path / "out").mkdir()  # a configured OUTBOUND_DIR must exist
    monkeypatch.setenv("OUTBOUND_DIR", str(tmp_path / "out"))
    bag = DagBag(dag_folder=str(get_settings().dags_dir / "baoke_outbound.py"))
    assert bag.import_errors == {}
    result = run_dag(bag.dags["baoke_outbound"], D, retries=0)
    assert result.ok, result.tasks
    assert sorted(os.listdir(tmp_path / "out" / D.isoformat())) == ["D001", "D002", "D003"]
    assert len(sent_calls(db)) == 5
