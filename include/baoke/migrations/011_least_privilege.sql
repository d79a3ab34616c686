-- Least privilege (docs/outputs.md, "Access and privacy"): no step of a run connects as a
-- superuser, and no login role owns a table.
--
--   baoke_owner        NOLOGIN: owns the six schemas and every table, view and sequence
--                      in them (the migration runner hands over whatever a migration
--                      created, see baoke.migrate)
--   baoke_loader       extraction: reads and appends to raw, keeps its books in etl
--   baoke_transformer  dbt: builds rules/staging/intermediate/marts. dbt replaces the
--                      relations it builds (drop, rename, alter), which only their owner
--                      may do, so a transformer login may SET ROLE baoke_owner (dbt's
--                      profile says `role: baoke_owner`) without inheriting its rights:
--                      what it builds is owned by baoke_owner, not by the login
--   baoke_exporter     the export: reads the export's models (dbt grants them) and the
--                      few etl tables it needs, appends to the outreach log, the sent
--                      calls and the exports
-- Logins (one per step) are members of these groups; `baoke.migrate` creates them from
-- the step connections (warehouse_loader, warehouse_transformer, warehouse_exporter).
do $$
begin
    create role baoke_owner nologin;
exception when duplicate_object then null;  -- another database of the cluster made it
end
$$;
do $$
begin
    create role baoke_exporter nologin;
exception when duplicate_object then null;
end
$$;

-- A transformer may act as the owner (to replace what dbt built) but does not hold the
-- owner's rights otherwise; PostgreSQL before 16 has no such grant option.
do $$
begin
    if current_setting('server_version_num')::int >= 160000 then
        execute 'grant baoke_owner to baoke_transformer with inherit false, set true';
    else
        execute 'grant baoke_owner to baoke_transformer';
    end if;
end
$$;

-- Nothing but the owner creates in the schemas: an object a login created would be the
-- login's.
revoke create on schema raw, etl from baoke_loader;
revoke create on schema rules, staging, intermediate, marts from baoke_transformer;

-- loader: raw is append-only; etl is its ledger (batches, files, rejects, state,
-- reports, runs)
grant select, insert on all tables in schema raw to baoke_loader;
grant delete on etl.feed_reports to baoke_loader;  -- a rerun of D replaces its reports
alter default privileges for role baoke_owner in schema raw grant select, insert on tables to baoke_loader;
alter default privileges for role baoke_owner in schema raw grant select on tables to baoke_transformer;
alter default privileges for role baoke_owner in schema etl grant select on tables to baoke_transformer;
alter default privileges for role baoke_owner in schema etl grant usage on sequences to baoke_loader;
grant select on all tables in schema raw to baoke_transformer;

-- exporter: what outbound.py reads and writes, nothing of raw or staging
grant usage on schema etl, intermediate, marts to baoke_exporter;
grant select on etl.schema_migrations, etl.extract_state to baoke_exporter;
grant select, insert, delete on etl.feed_reports to baoke_exporter;  -- a held dealer's report
grant select, insert on etl.outreach_exports, etl.outreach_log, etl.sent_calls to baoke_exporter;
-- the export was the loader's until now: it is not any more
revoke insert, update on etl.outreach_exports, etl.outreach_log, etl.sent_calls from baoke_loader;
grant usage on all sequences in schema etl to baoke_exporter;

-- every step reads the ledger of migrations (to tell whether the warehouse needs one)
grant select on etl.schema_migrations to baoke_loader, baoke_transformer;
