-- What each build of the churn history rewrote (README, the intermediate layer), so that
-- the models following its ended months (int_oem_churn_reconciliation) recompute only
-- that, instead of comparing 24 months × every vehicle each day. dbt writes it in the
-- churn model's transaction (its first post-hook, macros/churn_history_changes.sql):
--   - a row with a VIN: every month of that vehicle was recomputed (its history changed);
--   - a row without a VIN, with `from_month`: every vehicle's months from then on (the
--     months still open at the churn model's last build);
--   - a row without a VIN nor `from_month`: every month of every vehicle (a full build).
-- A follower reads the rows recorded after its own last build. Kept 92 days; a follower
-- last built longer ago rebuilds in full.
create table if not exists etl.churn_history_changes (
    business_date  date not null,   -- the D of the build
    vin            text,
    from_month     date,
    recorded_at    timestamptz not null default clock_timestamp()
);

create index if not exists churn_history_changes_recorded_at on etl.churn_history_changes (recorded_at);

grant select on etl.churn_history_changes to baoke_transformer;
grant select, insert, delete on etl.churn_history_changes to baoke_builder;
