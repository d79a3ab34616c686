-- Incremental staging models now keep, on each row, the raw version it was taken from
-- (`source_version_at`, `source_batch_id`, `source_locator`) and the D of the build that
-- wrote it (`merged_for_date`): a daily build compares new versions with the row held
-- instead of reading every version of the record again, and tests the rows it wrote.
-- The small models' keys are enforced by unique indexes too (`unique_index` tests).
-- int_visits, incremental too, stamps its rows the same way (`merged_for_date`).
--
-- A warehouse built before gets the columns and indexes here (dbt adds neither to an
-- existing incremental table), and these models are marked unbuilt, so that the next
-- build fills the new columns from all of raw. A fresh warehouse has none of these
-- tables yet: dbt creates them with their columns and indexes.
do $$
declare
    staging record;
begin
    for staging in
        select * from (values
            ('stg_dms__dealers', 'dealer_code'), ('stg_dms__campaigns', 'campaign_code'),
            ('stg_dms__advisors', 'advisor_id'), ('stg_dms__customers', 'customer_id'),
            ('stg_dms__vehicles', 'vin'), ('stg_dms__repair_orders', 'ro_number'),
            ('stg_dms__appointments', 'appointment_id'), ('stg_dms__memberships', 'card_no'),
            ('stg_insurer__policies', 'policy_no'), ('stg_insurer__claims', 'claim_no')
        ) as models (model, key_column)
    loop
        if to_regclass('staging.' || staging.model) is not null then
            execute format(
                'alter table staging.%I add column if not exists source_version_at timestamptz,'
                ' add column if not exists source_batch_id bigint,'
                ' add column if not exists source_locator text,'
                ' add column if not exists merged_for_date date', staging.model);
            -- the big models have had theirs since dbt created them (under dbt's own name):
            -- a second one would only double the writes
            if not exists (
                select 1
                from pg_index as ix
                join pg_attribute as col on col.attrelid = ix.indrelid and col.attnum = ix.indkey[0]
                where ix.indrelid = ('staging.' || staging.model)::regclass
                  and ix.indisunique and ix.indnkeyatts = 1 and ix.indpred is null and ix.indexprs is null
                  and col.attname = staging.key_column
            ) then
                execute format('create unique index %I on staging.%I (%I)',
                               staging.model || '_' || staging.key_column || '_key', staging.model, staging.key_column);
            end if;
            execute format('create index if not exists %I on staging.%I (merged_for_date)',
                           staging.model || '_merged_for_date', staging.model);
        end if;
        delete from etl.staging_builds where model = staging.model;
    end loop;
    if to_regclass('intermediate.int_visits') is not null then
        alter table intermediate.int_visits add column if not exists merged_for_date date;
        create index if not exists int_visits_merged_for_date on intermediate.int_visits (merged_for_date);
    end if;
    delete from etl.staging_builds where model = 'int_visits';
end
$$;
