-- The vehicles whose churn history a build rewrote (README, the intermediate layer): one row per
-- build of int_vehicle_churn_monthly and vehicle whose past months it recomputed, or one
-- row with no VIN for a build that recomputed every vehicle. dbt writes it in the model's
-- transaction (its post-hook, macros/churn_history_changes.sql). The models that follow
-- the churn history's ended months (int_oem_churn_reconciliation) read it to recompute
-- only those vehicles, instead of comparing 24 months × every vehicle each day. Kept 92
-- days; a follower built longer ago than that rebuilds in full.
create table if not exists etl.churn_history_changes (
    business_date  date not null,   -- the D of the build
    vin            text,            -- null: the build recomputed every vehicle
    recorded_at    timestamptz not null default clock_timestamp()
);

create index if not exists churn_history_changes_business_date on etl.churn_history_changes (business_date);

grant select on etl.churn_history_changes to baoke_transformer;
grant select, insert, delete on etl.churn_history_changes to baoke_builder;
