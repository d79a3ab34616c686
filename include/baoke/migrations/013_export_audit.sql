-- The export audit (outputs.md §5, issue 17): one row per file sent to the call center
-- (each list's CSV and its XLSX twin, and the manifest; a held dealer's manifest alone),
-- with the run, the business date, the dealer, the file's name, rows, bytes and sha256,
-- where it went (the OUTBOUND_DIR folder or sftp://host/path, never credentials), who
-- sent it (the database session user, the operating-system user, the Airflow run) and
-- when. Written by the outbound export (baoke.outbound.record_export) in the same
-- transaction as the export's etl.outreach_exports row: a file is audited exactly when
-- its export is recorded.
--
-- Append-only: nobody may update or delete a row (a trigger refuses it even to the
-- tables' owner and to superusers, and no role is granted more than select and insert).
-- A rerun of a business date appends rows for the files it sent again.
create table if not exists etl.export_audit (
    audit_id       bigserial   primary key,
    -- the etl.outreach_exports row of the export whose files these are (written in the
    -- same transaction; no foreign key: one would make TRUNCATE of the exports fail on
    -- the key instead of on their append-only trigger)
    export_id      bigint      not null,
    run_id         text        not null,  -- the manifest's run_id
    business_date  date        not null,
    dealer_code    text        not null,
    file_name      text        not null,  -- call_list_D001_20261120.csv, manifest.json
    file_format    text        not null check (file_format in ('csv', 'xlsx', 'json')),
    list_type      text,                  -- call | sms | exception; null for the manifest
    rows           integer     check (rows >= 0),  -- data rows; null for the manifest
    bytes          bigint      not null check (bytes >= 0),
    sha256         text        not null check (sha256 ~ '^[0-9a-f]{64}$'),
    target         text        not null,  -- the dealer's folder: a path or sftp://host/path
    db_user        text        not null default session_user,
    os_user        text        not null,
    airflow_run    text,                  -- dag_id/run_id/task_id when run by Airflow
    sent_at        timestamptz not null default now()
);
create index if not exists export_audit_date on etl.export_audit (business_date, dealer_code);
create index if not exists export_audit_export on etl.export_audit (export_id);

create or replace function etl.refuse_audit_change() returns trigger
language plpgsql as $$
begin
    raise exception '%.% is append-only: % refused', tg_table_schema, tg_table_name, tg_op
        using errcode = 'restrict_violation',
              hint = 'an audit is never rewritten: a rerun appends its own rows';
end
$$;

create or replace trigger export_audit_append_only
    before update or delete or truncate on etl.export_audit
    for each statement execute function etl.refuse_audit_change();

-- the export appends; nobody updates or deletes (grants restated for every role that
-- could hold more through 003's `grant ... on all tables`)
revoke all on etl.export_audit from public;
revoke update, delete, truncate on etl.export_audit from baoke_loader, baoke_transformer;
grant select, insert on etl.export_audit to baoke_loader;
grant usage on sequence etl.export_audit_audit_id_seq to baoke_loader;
-- the exporter role (migration 011, least privilege), where it exists, writes the audit
do $$
begin
    if exists (select from pg_roles where rolname = 'baoke_exporter') then
        grant select, insert on etl.export_audit to baoke_exporter;
        grant usage on sequence etl.export_audit_audit_id_seq to baoke_exporter;
    end if;
end
$$;
