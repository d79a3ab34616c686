-- The insurer staging models now declare a unique index on their key (the daily merge
-- deletes the touched policies and claims by key; the `unique_index` test relies on it).
-- dbt creates an incremental model's indexes only when it creates the table, so a
-- warehouse built before gets them here. A fresh warehouse has no staging tables yet:
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
end
$$;
