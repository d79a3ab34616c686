"""The export audit (outputs.md §5): every file the export sends is recorded, in the
export's transaction, in an append-only ``etl.export_audit`` that nobody may update or
delete, not even the role that writes it; a rerun adds rows."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import psycopg2
import pytest

from test_outbound import D, db, export  # noqa: F401  (db: the export's fixture)

AUDIT_COLUMNS = (
    "export_id, run_id, business_date, dealer_code, file_name, file_format, list_type, rows, bytes, sha256,"
    " target, db_user, os_user, airflow_run"
)


def audit_rows(url: str) -> list[dict]:
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute(f"select {AUDIT_COLUMNS} from etl.export_audit order by audit_id")
        names = [c.name for c in cur.description]
        found = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    conn.close()
    return found


def test_every_file_sent_is_audited_as_its_manifest_describes_it(
    db: str,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("DAG_ID", "DAG_RUN_ID", "TASK_ID"):  # an earlier test may have run a DAG in this process
        monkeypatch.delenv(f"AIRFLOW_CTX_{name}", raising=False)
    exports = export(db, str(tmp_path), ["D001", "D002"])
    rows = audit_rows(db)
    for done in exports:
        folder = tmp_path / D.isoformat() / done.dealer_code
        manifest_bytes = (folder / "manifest.json").read_bytes()
        manifest = json.loads(manifest_bytes)
        expected = [
            (f["name"], f["format"], f["list_type"], f["rows"], f["bytes"], f["sha256"]) for f in manifest["files"]
        ] + [("manifest.json", "json", None, None, len(manifest_bytes), hashlib.sha256(manifest_bytes).hexdigest())]
        mine = [r for r in rows if r["dealer_code"] == done.dealer_code]
        assert [
            (r["file_name"], r["file_format"], r["list_type"], r["rows"], r["bytes"], r["sha256"]) for r in mine
        ] == expected
        assert len(mine) == 9, "four CSV files, their XLSX twins and the manifest"
        for r in mine:
            assert (r["export_id"], r["run_id"], r["business_date"]) == (done.export_id, manifest["run_id"], D)
            assert r["target"] == str(folder)
            assert r["sha256"] == hashlib.sha256((folder / r["file_name"]).read_bytes()).hexdigest()
            assert r["db_user"]
            assert r["os_user"]
            assert r["airflow_run"] is None, "not run by Airflow"


def test_a_rerun_adds_rows(db: str, tmp_path: Path) -> None:  # noqa: F811
    [first] = export(db, str(tmp_path), ["D001"])
    [second] = export(db, str(tmp_path), ["D001"])
    rows = audit_rows(db)
    assert len(rows) == 18
    assert [r["export_id"] for r in rows] == [first.export_id] * 9 + [second.export_id] * 9
    strip = [{k: v for k, v in r.items() if k != "export_id"} for r in rows]
    assert strip[:9] == strip[9:], "the same files, sent again, audited again"


def test_an_export_that_fails_to_record_audits_nothing(
    db: str,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from baoke import outbound

    def refused(cur, files) -> int:
        raise psycopg2.OperationalError("connection lost")

    monkeypatch.setattr(outbound, "_record_sent_calls", refused)
    with pytest.raises(psycopg2.OperationalError):
        export(db, str(tmp_path), ["D001"])
    assert audit_rows(db) == [], "the audit is written in the export's transaction"


def test_the_audit_refuses_updates_and_deletes_to_everyone(db: str, tmp_path: Path) -> None:  # noqa: F811
    export(db, str(tmp_path), ["D002"])
    before = audit_rows(db)
    conn, writer = psycopg2.connect(db), psycopg2.connect(db)
    with writer, writer.cursor() as cur:
        cur.execute("set role baoke_exporter")  # the role the export writes the audit as
    try:
        for statement in (
            "update etl.export_audit set rows = 0",
            "delete from etl.export_audit",
            "delete from etl.export_audit where false",
            "truncate etl.export_audit",
        ):
            op = statement.split()[0].upper()
            # the superuser (who owns the table): the trigger refuses
            with (
                pytest.raises(psycopg2.errors.RestrictViolation, match=f"etl.export_audit is append-only: {op}"),
                conn,
                conn.cursor() as cur,
            ):
                cur.execute(statement)
            # the role the export writes it as: not even granted
            with pytest.raises(psycopg2.errors.InsufficientPrivilege), writer, writer.cursor() as cur:
                cur.execute(statement)
        with conn, conn.cursor() as cur:
            cur.execute(
                "select r, p from unnest(array['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE']) p,"
                " unnest(array['baoke_loader', 'baoke_transformer', 'baoke_exporter', 'bi_reader']) r"
                " where has_table_privilege(r, 'etl.export_audit', p)"
            )
            granted = set(cur.fetchall())
        assert granted == {("baoke_exporter", "SELECT"), ("baoke_exporter", "INSERT"), ("baoke_loader", "SELECT")}
        with writer, writer.cursor() as cur:  # the writer role can append
            cur.execute(
                "insert into etl.export_audit (export_id, run_id, business_date, dealer_code, file_name, file_format,"
                " bytes, sha256, target, os_user)"
                " select export_id, run_id, business_date, dealer_code, 'x.csv', 'csv', 0, repeat('0', 64), '/x', 'me'"
                " from etl.outreach_exports limit 1"
            )
    finally:
        conn.close()
        writer.close()
    assert audit_rows(db)[: len(before)] == before, "every row still there, unchanged"


def test_an_airflow_run_is_named(db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    for name, value in (("DAG_ID", "baoke_outbound"), ("DAG_RUN_ID", "scheduled__x"), ("TASK_ID", "dealer_files")):
        monkeypatch.setenv(f"AIRFLOW_CTX_{name}", value)
    export(db, str(tmp_path), ["D003"])
    assert {r["airflow_run"] for r in audit_rows(db)} == {"baoke_outbound/scheduled__x/dealer_files"}
