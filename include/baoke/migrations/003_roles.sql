-- Roles the platform manages (issue: the warehouse, "access and privacy").
--   bi_reader          BI tools: read the marts, nothing else (marts hold personal data
--                      only masked; dbt grants select on every mart it builds)
--   baoke_loader       the extraction DAGs: write raw and etl, nothing else
--   baoke_transformer  dbt: read raw and etl, build rules/staging/intermediate/marts
-- All are group roles (NOLOGIN): grant them to the login roles of each deployment.
do $$
begin
    if not exists (select from pg_roles where rolname = 'bi_reader') then
        create role bi_reader nologin;
    end if;
    if not exists (select from pg_roles where rolname = 'baoke_loader') then
        create role baoke_loader nologin;
    end if;
    if not exists (select from pg_roles where rolname = 'baoke_transformer') then
        create role baoke_transformer nologin;
    end if;
end
$$;

revoke all on schema raw, etl, rules, staging, intermediate, marts from public;

grant usage on schema marts to bi_reader;

grant usage, create on schema raw, etl to baoke_loader;
grant select, insert, update on all tables in schema etl to baoke_loader;
grant usage on all sequences in schema etl to baoke_loader;

grant usage on schema raw, etl to baoke_transformer;
grant usage, create on schema rules, staging, intermediate, marts to baoke_transformer;
alter default privileges in schema raw grant select on tables to baoke_transformer;
grant select on all tables in schema etl to baoke_transformer;

-- staging's file filter and the loader's ledger look files up by batch
create index if not exists files_batch on etl.files (batch_id);
