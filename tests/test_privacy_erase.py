"""Erasure (outputs.md §5): ``baoke privacy erase --customer ID`` on a warehouse built by
dbt from raw records of two dealers. Afterwards the customer's name and mobile appear in
no text or jsonb column of any table of any schema, the dealers' KPIs are the same, a
later DMS version of the customer lands pseudonymised, and a second erase changes nothing."""

from __future__ import annotations

import contextlib
import datetime as dt
import json

import psycopg2
import pytest
from typer.testing import CliRunner

from baoke import privacy
from baoke.dbt import run_dbt
from baoke.extract.catalog import CALLCENTER_OUTCOMES, DMS, INSURER, OEM_LOST_CUSTOMERS
from baoke.extract.loader import Batch, ensure_raw_tables
from dbt_support import target_for

pytestmark = pytest.mark.slow  # runs dbt

D = dt.date(2026, 11, 20)
NAME, MOBILE, ADDRESS, BIRTH = "欧阳娜娜", "13912345678", "广州市天河区体育西路191号", "1987-06-15"
OTHER_NAME, OTHER_MOBILE = "李雷", "13700000002"


def _load(conn, entity, scope: str, records: list[dict], version: str = "updated_at", business_date: dt.date = D):
    """Records as an extraction run leaves them (the contract's other fields null)."""
    with Batch.open(conn, entity, scope, "test", business_date) as batch:
        for n, record in enumerate(records):
            full = {**dict.fromkeys(entity.columns), **record}
            batch.add(full, f"row {n + 1}", str(full[version]), full.get("updated_at"))
        result = batch.load()
    with conn, conn.cursor() as cur:  # settled: a build merges batches committed a minute before it
        cur.execute(
            "update etl.load_batches set finished_at = finished_at - interval '2 minutes' where batch_id = %s",
            (result.batch_id,),
        )
    return result


def customer(customer_id: str, dealer: str, name: str, mobile: str, updated_at: str, **more) -> dict:
    return {
        "customer_id": customer_id,
        "dealer_code": dealer,
        "name": name,
        "gender": "F",
        "birth_date": BIRTH if customer_id == "C1" else "1990-01-01",
        "mobile": mobile,
        "city": "广州",
        "address": ADDRESS if customer_id == "C1" else "深圳市南山区",
        "consent_call": True,
        "consent_sms": True,
        "member_tier": "gold",
        "created_at": "2020-01-01T10:00:00+08:00",
        "updated_at": updated_at,
        **more,
    }


def order(ro: str, dealer: str, vin: str, customer_id: str, day: str, amount: str) -> dict:
    return {
        "ro_number": ro,
        "dealer_code": dealer,
        "vin": vin,
        "customer_id": customer_id,
        "advisor_id": f"{dealer}-A01",
        "open_date": day,
        "close_date": day,
        "mileage_km": 20000,
        "service_type": "MAINTENANCE",
        "status": "closed",
        "labor_amount": amount,
        "parts_amount": "0.00",
        "total_amount": amount,
        "updated_at": f"{day}T18:00:00+08:00",
    }


def vehicle(vin: str, customer_id: str, dealer: str) -> dict:
    return {
        "vin": vin,
        "customer_id": customer_id,
        "dealer_code": dealer,
        "brand": "大众",
        "model": "朗逸",
        "model_year": 2020,
        "plate_no": "粤A12345",
        "delivery_date": "2020-03-01",
        "warranty_end_date": "2023-03-01",
        "warranty_end_km": 100000,
        "status": "active",
        "updated_at": "2020-03-01T10:00:00+08:00",
    }


def build(url: str) -> None:
    dbt_vars = json.dumps({"business_date": D.isoformat()})
    for command in (["seed"], ["run"]):
        assert run_dbt([*command, "--quiet", "--vars", dbt_vars, *target_for(dbt_vars)], url), command


@pytest.fixture
def warehouse(dbt_db: str) -> str:
    """Two dealers' DMS records, an insurer's policy on the customer's car, a rejected
    version of the customer, a logged call to it, and the warehouse dbt builds from them."""
    with contextlib.closing(psycopg2.connect(dbt_db)) as conn:
        ensure_raw_tables(conn)
        dealers = [
            {"dealer_code": d, "name": f"{d}店", "brand": "大众", "city": "广州", "province": "广东",
             "opened_date": "2015-01-01", "updated_at": "2015-01-01T00:00:00+08:00"}
            for d in ("D001", "D002")
        ]  # fmt: skip
        _load(conn, DMS["dealers"], "", dealers)
        _load(
            conn,
            DMS["advisors"],
            "D001",
            [
                {"advisor_id": f"{d}-A01", "dealer_code": d, "name": "王芳", "active": True,
                 "role": "service_advisor", "updated_at": "2020-01-01T00:00:00+08:00"}
                for d in ("D001", "D002")
            ],
        )  # fmt: skip
        _load(
            conn,
            DMS["customers"],
            "D001",
            [
                customer("C1", "D001", NAME, "+86 139-1234-5678", "2024-01-01T10:00:00+08:00"),
                customer("C1", "D001", NAME, MOBILE, "2025-01-01T10:00:00+08:00"),
                customer("C2", "D002", OTHER_NAME, OTHER_MOBILE, "2024-01-01T10:00:00+08:00"),
            ],
        )
        _load(  # a version rejected (a birth date that is no date): its payload is kept in etl.rejects
            conn,
            DMS["customers"],
            "D001",
            [customer("C1", "D001", NAME, MOBILE, "2025-02-01T10:00:00+08:00", birth_date="1987-13-45")],
        )
        _load(conn, DMS["vehicles"], "D001", [vehicle("VIN0000000000001", "C1", "D001")])
        _load(conn, DMS["vehicles"], "D002", [vehicle("VIN0000000000002", "C2", "D002")])
        orders = [
            order(f"R{n}", dealer, vin, cid, day, amount)
            for n, (dealer, vin, cid, day, amount) in enumerate(
                [
                    ("D001", "VIN0000000000001", "C1", "2026-06-10", "800.00"),
                    ("D001", "VIN0000000000001", "C1", "2026-10-12", "650.00"),
                    ("D002", "VIN0000000000002", "C2", "2026-09-01", "500.00"),
                ]
            )
        ]
        _load(conn, DMS["repair_orders"], "D001", orders)
        policy = {
            **dict.fromkeys(INSURER["POLICY"].columns, ""),
            "保单号": "P1",
            "车架号": "VIN0000000000001",
            "车牌号": "粤A12345",
            "被保险人": NAME,
            "联系电话": MOBILE,
            "险种": "商业险",
            "起保日期": "2026-01-01",
            "终保日期": "2026-12-31",
            "签单日期": "2025-12-20",
            "保费": "3000.00",
            "出单机构": "PICC广州",
        }
        with Batch.open(conn, INSURER["POLICY"], "PICC", "POLICY_PICC_20251221.csv", D) as batch:
            batch.add(policy, "line 2", "sha:2", "2025-12-21T00:00:00+08:00")
            batch_id = batch.load().batch_id
        with conn, conn.cursor() as cur:
            cur.execute(
                "insert into etl.files (feed, name, folder, file_date, size_bytes, sha256, status, batch_id)"
                " values ('insurer', 'POLICY_PICC_20251221.csv', 'PICC', '2025-12-21', 1, 'sha', 'loaded', %s)",
                (batch_id,),
            )
            cur.execute(
                "update etl.load_batches set finished_at = finished_at - interval '2 minutes' where batch_id = %s",
                (batch_id,),
            )
            cur.execute(
                "insert into etl.outreach_exports (business_date, dealer_code, status, run_id, rows_logged)"
                " values ('2026-11-01', 'D001', 'delivered', 'r1', 1) returning export_id"
            )
            cur.execute(
                "insert into etl.outreach_log (export_id, business_date, customer_id, vin, dealer_code, reason,"
                " channel, disposition, is_list_row, call_id, mobile)"
                " values (%s, '2026-11-01', 'C1', 'VIN0000000000001', 'D001', 'MAINTENANCE_DUE', 'PHONE', 'call',"
                " true, 'D001-20261101-00001', %s)",
                (cur.fetchone()[0], MOBILE),
            )
    build(dbt_db)
    return dbt_db


def where_found(url: str, *needles: str) -> list[str]:
    """Every schema.table.column (text or jsonb, any table of any schema) holding a needle."""
    found = []
    with contextlib.closing(psycopg2.connect(url)) as conn, conn.cursor() as cur:
        cur.execute(
            "select c.table_schema, c.table_name, c.column_name, c.data_type from information_schema.columns c"
            " join information_schema.tables t using (table_schema, table_name)"
            " where t.table_type = 'BASE TABLE' and c.table_schema not in ('pg_catalog', 'information_schema')"
            " and c.data_type in ('text', 'character varying', 'character', 'jsonb', 'json')"
        )
        for schema, table, column, _ in cur.fetchall():
            for needle in needles:
                cur.execute(
                    f'select exists (select from "{schema}"."{table}" where "{column}"::text like %s)',
                    (f"%{needle}%",),
                )
                if cur.fetchone()[0]:
                    found.append(f"{schema}.{table}.{column}: {needle}")
    return sorted(found)


def kpis(url: str) -> list[tuple]:
    with contextlib.closing(psycopg2.connect(url)) as conn, conn.cursor() as cur:
        cur.execute("select * from marts.kpi_dealer_monthly order by dealer_code, month")
        return cur.fetchall()


def test_an_erased_customer_is_nowhere_and_the_kpis_are_unchanged(warehouse: str) -> None:
    before = kpis(warehouse)
    assert before, "the warehouse has KPIs to compare"
    seen = where_found(warehouse, NAME, MOBILE)
    for where in (
        "raw.dms_customers.record",
        "raw.insurer_policies.record",
        "etl.rejects.record",
        "etl.outreach_log.mobile",
        "staging.stg_dms__customers.customer_name",
    ):
        assert any(s.startswith(where) for s in seen), f"the fixture puts the customer in {where}"

    result = CliRunner().invoke(
        __import__("baoke.cli", fromlist=["app"]).app,
        ["privacy", "erase", "--customer", "C1", "--reason", "PIPL-2026-001"],
        env={"AIRFLOW_CONN_WAREHOUSE": warehouse},
    )
    assert result.exit_code == 0, result.output
    assert "customer C1 erased" in result.output

    assert where_found(warehouse, NAME, MOBILE, ADDRESS, "139-1234-5678", BIRTH, "1987-13-45") == []
    assert where_found(warehouse, OTHER_NAME, OTHER_MOBILE), "the other customer is untouched"
    assert kpis(warehouse) == before
    pseudonyms = privacy.Pseudonyms.of("C1")
    with contextlib.closing(psycopg2.connect(warehouse)) as conn, conn.cursor() as cur:
        cur.execute(
            "select record ->> 'name', record ->> 'mobile', record ->> 'address', record ->> 'birth_date',"
            " record ->> 'customer_id' from raw.dms_customers where record_key = 'C1'"
        )
        assert set(cur.fetchall()) == {(pseudonyms.name, pseudonyms.mobile, pseudonyms.address, None, "C1")}
        cur.execute("select count(*) from intermediate.int_visits where customer_id = 'C1'")
        assert cur.fetchone()[0] == 2, "visits kept"
        cur.execute("select customer_id, reason, pseudonym_name, rows_changed > 0 from etl.erasures")
        assert cur.fetchall() == [("C1", "PIPL-2026-001", pseudonyms.name, True)]
        cur.execute("select mobile from etl.outreach_log")
        assert cur.fetchall() == [(pseudonyms.mobile,)]

    # a second request changes nothing and records nothing
    snapshot = where_found(warehouse, pseudonyms.name, pseudonyms.mobile)
    again = CliRunner().invoke(
        __import__("baoke.cli", fromlist=["app"]).app,
        ["privacy", "erase", "--customer", "C1"],
        env={"AIRFLOW_CONN_WAREHOUSE": warehouse},
    )
    assert again.exit_code == 0, again.output
    assert "nothing to do" in again.output
    assert where_found(warehouse, pseudonyms.name, pseudonyms.mobile) == snapshot
    with contextlib.closing(psycopg2.connect(warehouse)) as conn, conn.cursor() as cur:
        cur.execute("select count(*) from etl.erasures")
        assert cur.fetchone()[0] == 1

    # a later DMS version of the customer lands pseudonymised, and so does a rebuild from raw;
    # so do a later insurer policy and OEM lost-list item on the customer's car, while the
    # OEM's item on the other customer's car lands as sent
    with contextlib.closing(psycopg2.connect(warehouse)) as conn:
        _load(
            conn,
            DMS["customers"],
            "D001",
            [customer("C1", "D001", NAME, MOBILE, "2026-11-15T10:00:00+08:00", member_tier="diamond")],
            business_date=D,
        )
        renewal = {
            **dict.fromkeys(INSURER["POLICY"].columns, ""),
            "保单号": "P2", "车架号": "VIN0000000000001", "被保险人": NAME, "联系电话": f"+86 {MOBILE}",
            "险种": "商业险", "起保日期": "2027-01-01", "终保日期": "2027-12-31", "签单日期": "2026-11-18",
        }  # fmt: skip
        with Batch.open(conn, INSURER["POLICY"], "PICC", "POLICY_PICC_20261118.csv", D) as batch:
            batch.add(renewal, "line 2", "sha:3", "2026-11-18T00:00:00+08:00")
            assert batch.load().loaded == 1
        lost = [
            {"vin": vin, "customer_name": name, "mobile_masked": f"{mobile[:3]}****{mobile[-4:]}",
             "last_service_dealer_code": "D001", "last_service_date": "2026-03-01", "oem_status": "LOST",
             "reason_hint": None}
            for vin, name, mobile in (
                ("VIN0000000000001", NAME, MOBILE), ("VIN0000000000002", OTHER_NAME, OTHER_MOBILE)
            )
        ]  # fmt: skip
        with Batch.open(conn, OEM_LOST_CUSTOMERS, "D001", "2026-10", D) as batch:
            for n, item in enumerate(lost):
                batch.add(item, f"item {n + 1}", "2026-10", "2026-11-03T00:00:00+08:00")
            assert batch.load().loaded == 2
    build(warehouse)
    assert where_found(warehouse, NAME, MOBILE, ADDRESS, f"{MOBILE[:3]}****{MOBILE[-4:]}") == []
    assert where_found(warehouse, f"{OTHER_MOBILE[:3]}****{OTHER_MOBILE[-4:]}"), "the other car's item as sent"
    with contextlib.closing(psycopg2.connect(warehouse)) as conn, conn.cursor() as cur:
        cur.execute("select member_tier, customer_name from staging.stg_dms__customers where customer_id = 'C1'")
        assert cur.fetchall() == [("diamond", pseudonyms.name)], "the new version loaded, pseudonymised"


def test_an_unknown_customer_is_refused(fresh_db: str) -> None:
    with contextlib.closing(psycopg2.connect(fresh_db)) as conn:
        ensure_raw_tables(conn)
        with pytest.raises(privacy.ErasureError, match="no customer C404"):
            privacy.erase(conn, "C404")
        with conn.cursor() as cur:
            cur.execute("select count(*) from etl.erasures")
            assert cur.fetchone()[0] == 0


def test_the_outreach_log_lets_only_an_erasure_change_a_mobile(fresh_db: str) -> None:
    with contextlib.closing(psycopg2.connect(fresh_db)) as conn:
        with conn, conn.cursor() as cur:
            cur.execute(
                "insert into etl.outreach_exports (business_date, dealer_code, status, run_id, rows_logged)"
                " values ('2026-11-01', 'D001', 'delivered', 'r1', 1) returning export_id"
            )
            cur.execute(
                "insert into etl.outreach_log (export_id, business_date, customer_id, mobile, reason)"
                " values (%s, '2026-11-01', 'C1', %s, 'BIRTHDAY')",
                (cur.fetchone()[0], MOBILE),
            )
        refused = pytest.raises(psycopg2.errors.RestrictViolation, match=r"etl\.outreach_log is append-only: UPDATE")
        with refused, conn, conn.cursor() as cur:
            cur.execute("update etl.outreach_log set mobile = 'erased-x'")  # not erased
        with conn, conn.cursor() as cur:
            cur.execute(
                "insert into etl.erasures (customer_id, pseudonym_name, pseudonym_mobile, pseudonym_address,"
                " rows_changed, os_user) values ('C1', 'n', 'erased-x', 'a', 0, 'me')"
            )
        for statement in (
            "update etl.outreach_log set mobile = 'something else'",
            "update etl.outreach_log set mobile = 'erased-x', reason = 'MAINTENANCE_DUE'",
        ):
            with refused, conn, conn.cursor() as cur:
                cur.execute(statement)
        with conn, conn.cursor() as cur:
            cur.execute("update etl.outreach_log set mobile = 'erased-x'")
            cur.execute("select mobile, reason from etl.outreach_log")
            assert cur.fetchall() == [("erased-x", "BIRTHDAY")]


def test_the_loader_pseudonymises_an_erased_customers_versions_even_when_it_rejects_them(fresh_db: str) -> None:
    pseudonyms = privacy.Pseudonyms.of("C1")
    with contextlib.closing(psycopg2.connect(fresh_db)) as conn:
        ensure_raw_tables(conn)
        with conn, conn.cursor() as cur:
            cur.execute(
                "insert into etl.erasures (customer_id, pseudonym_name, pseudonym_mobile, pseudonym_address,"
                " rows_changed, os_user) values ('C1', %s, %s, %s, 0, 'me')",
                (pseudonyms.name, pseudonyms.mobile, pseudonyms.address),
            )
        result = _load(
            conn,
            DMS["customers"],
            "D001",
            [
                customer("C1", "D001", NAME, MOBILE, "2026-11-15T10:00:00+08:00"),
                customer("C1", "D001", NAME, MOBILE, "2026-11-16T10:00:00+08:00", gender="X"),  # rejected
                customer("C2", "D002", OTHER_NAME, OTHER_MOBILE, "2026-11-15T10:00:00+08:00"),
            ],
        )
        assert (result.loaded, result.rejected) == (2, 1)
        outcome = {
            **dict.fromkeys(CALLCENTER_OUTCOMES.columns),
            "call_id": "CA-D001-20261115-00001", "list_date": "2026-11-15", "dealer_code": "D001",
            "attempt_no": "1", "called_at": "2026-11-15T10:00:00+08:00", "channel": "PHONE", "outcome": "DECLINED",
        }  # fmt: skip
        notes = {"C1": f"{NAME}说不需要, 打{MOBILE}", "C2": f"{OTHER_NAME}说下周再约"}
        with Batch.open(conn, CALLCENTER_OUTCOMES, "D001", "OUTCOMES_D001_20261115.csv", D) as batch:
            for n, (customer_id, note) in enumerate(notes.items()):
                record = {**outcome, "customer_id": customer_id, "call_id": f"CA-{n}", "note": note}
                batch.add(record, f"line {n + 2}", f"v{n}")
            assert batch.load().loaded == 2
        with conn.cursor() as cur:
            cur.execute("select record_key, record ->> 'note' from raw.callcenter_outcomes order by 1")
            assert cur.fetchall() == [("CA-0", ""), ("CA-1", notes["C2"])], "only the erased customer's note"
            cur.execute("select record from raw.dms_customers where record_key = 'C1'")
            [(stored,)] = cur.fetchall()
            cur.execute("select record from etl.rejects")
            [(rejected,)] = cur.fetchall()
            cur.execute("select record ->> 'name' from raw.dms_customers where record_key = 'C2'")
            assert cur.fetchall() == [(OTHER_NAME,)], "other customers land as sent"
    assert (stored["name"], stored["mobile"], stored["address"], stored["birth_date"]) == (
        pseudonyms.name,
        pseudonyms.mobile,
        pseudonyms.address,
        None,
    )
    assert (stored["member_tier"], stored["consent_call"]) == ("gold", True), "the rest as sent"
    assert pseudonyms.name in rejected
    for value in (NAME, MOBILE, ADDRESS, BIRTH):
        assert value not in rejected
    assert where_found(fresh_db, NAME, MOBILE, ADDRESS) == []


def test_erasing_a_duplicate_record_erases_the_person_it_was_merged_into(fresh_db: str) -> None:
    """C6 is a duplicate the DMS merged into C5: one person. A request naming either
    erases both records and records both ids."""
    with contextlib.closing(psycopg2.connect(fresh_db)) as conn:
        ensure_raw_tables(conn)
        _load(
            conn,
            DMS["customers"],
            "D001",
            [
                customer("C5", "D001", NAME, MOBILE, "2026-01-01T10:00:00+08:00"),
                customer("C6", "D001", NAME, "13912345679", "2026-01-02T10:00:00+08:00", merged_into_customer_id="C5"),
                customer("C7", "D001", OTHER_NAME, OTHER_MOBILE, "2026-01-01T10:00:00+08:00"),
            ],
        )
        result = privacy.erase(conn, "C6", "PIPL-2026-002")
        assert result.rows_changed >= 2
        with conn.cursor() as cur:
            cur.execute("select customer_id, reason from etl.erasures order by 1")
            assert cur.fetchall() == [("C5", "same person as C6: PIPL-2026-002"), ("C6", "PIPL-2026-002")]
    assert where_found(fresh_db, NAME, MOBILE, "13912345679") == []
    assert where_found(fresh_db, OTHER_NAME), "someone else is untouched"
