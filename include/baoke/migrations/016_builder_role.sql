-- dbt builds as a role of its own (docs/outputs.md §5). Until now dbt acted as the owner
-- of every schema, so a dbt session could have deleted raw records or rewritten the
-- platform's ledgers (etl), append-only triggers aside. Now:
--
--   baoke_owner    NOLOGIN: owns raw, etl and access (what the feeds and the platform
--                  recorded, and the row-level security's functions)
--   baoke_builder  NOLOGIN: owns rules, staging, intermediate and marts (what dbt builds)
--                  and everything in them; reads raw and etl, and writes there only the
--                  staging models' own bookkeeping (etl.staging_builds, staging_batches)
--
-- A transformer login may SET ROLE baoke_builder (dbt's profile says `role:
-- baoke_builder`) without inheriting its rights, and no longer the owner. The migration
-- runner (baoke.migrate) hands the built schemas and their objects to the builder.
do $$
begin
    create role baoke_builder nologin;
exception when duplicate_object then null;  -- another database of the cluster made it
end
$$;

do $$
begin
    if current_setting('server_version_num')::int >= 160000 then
        execute 'grant baoke_builder to baoke_transformer with inherit false, set true';
    else
        execute 'grant baoke_builder to baoke_transformer';
    end if;
end
$$;
revoke baoke_owner from baoke_transformer;
do $$
begin  -- a revoke removes only this grantor's grant: make sure none is left
    if pg_has_role('baoke_transformer', 'baoke_owner', 'MEMBER') then
        raise exception 'baoke_transformer is still a member of baoke_owner (granted by another role)'
            using hint = 'revoke baoke_owner from baoke_transformer granted by <that role>, then migrate again';
    end if;
end
$$;

grant usage on schema raw, etl to baoke_builder;
grant select on all tables in schema raw, etl to baoke_builder;
alter default privileges for role baoke_owner in schema raw grant select on tables to baoke_builder;
alter default privileges for role baoke_owner in schema etl grant select on tables to baoke_builder;
grant insert, update, delete on etl.staging_builds, etl.staging_batches to baoke_builder;
