-- Hardening of the access and audit tables of migrations 011-014 (docs/outputs.md §5),
-- after a review of how they work together:
-- 1. The export's login writes the export audit, whenever migration 013 ran (013 granted
--    it only if the exporter role already existed); the loader, which no longer exports,
--    may not insert audit rows.
-- 2. Erasures are recorded by `baoke privacy erase` (the admin): the loader only reads
--    them (a forged erasure would pseudonymise a customer's later loads for good).
-- 3. Who wrote a row of the export audit, the purges and the erasures is the session's
--    user, stamped by a trigger: not a value the writer chooses.
-- 4. The append-only triggers fire in every session, replica ones included.
-- 5. Ownership of the `access` schema's functions (SECURITY DEFINER) goes to the owner
--    role like everything else: the migration runner settles it after this file.

grant select, insert on etl.export_audit to baoke_exporter;
grant usage on sequence etl.export_audit_audit_id_seq to baoke_exporter;
revoke insert, update, delete, truncate on etl.export_audit from baoke_loader;
revoke usage on sequence etl.export_audit_audit_id_seq from baoke_loader;

revoke insert, update, delete, truncate on etl.erasures from baoke_loader;

create or replace function etl.stamp_session_user() returns trigger
language plpgsql as $$
begin
    new.db_user := session_user;
    return new;
end
$$;

create or replace trigger export_audit_stamp_user
    before insert on etl.export_audit
    for each row execute function etl.stamp_session_user();
create or replace trigger purges_stamp_user
    before insert on etl.purges
    for each row execute function etl.stamp_session_user();
create or replace trigger erasures_stamp_user
    before insert on etl.erasures
    for each row execute function etl.stamp_session_user();

alter table etl.export_audit enable always trigger export_audit_append_only;
alter table etl.purges enable always trigger purges_append_only;
alter table etl.erasures enable always trigger erasures_append_only;
alter table etl.outreach_exports enable always trigger outreach_exports_append_only;
alter table etl.outreach_log enable always trigger outreach_log_append_only;
alter table etl.outreach_log enable always trigger outreach_log_erasure_only;
