-- Indexes that incremental models now declare: unique keys for the insurer staging
-- models (the daily merge deletes the touched policies and claims by key) and int_visits
-- (a table until now), which the `unique_index` tests rely on; and the repair orders'
-- close date, by which int_visits finds the orders whose close date has been reached.
-- dbt creates an incremental model's indexes only when it creates the table, so a
-- warehouse built before gets them here; a fresh warehouse has no such tables yet, and
-- dbt creates them with the indexes.
do $$
begin
    if to_regclass('staging.stg_insurer__policies') is not null then
        create unique index if not exists stg_insurer__policies_policy_no_key
            on staging.stg_insurer__policies (policy_no);
    end if;
    if to_regclass('staging.stg_insurer__claims') is not null then
        create unique index if not exists stg_insurer__claims_claim_no_key
            on staging.stg_insurer__claims (claim_no);
    end if;
    if to_regclass('staging.stg_dms__repair_orders') is not null then
        create index if not exists stg_dms__repair_orders_close_date
            on staging.stg_dms__repair_orders (close_date);
    end if;
    if to_regclass('intermediate.int_visits') is not null then
        create unique index if not exists int_visits_ro_number_key on intermediate.int_visits (ro_number);
    end if;
end
$$;
