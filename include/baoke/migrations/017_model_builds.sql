-- The marts' builds (docs/outputs.md §3, the monthly report): one row per mart, the
-- business date D it was last built for. dbt writes it after building each mart (the
-- marts' post-hook, macros/model_builds.sql); the monthly report waits until every mart
-- it reads was built for D, so that it never mixes D's figures with the day before's
-- (the warehouse builds one mart per task, the report's DAG runs beside it).
create table if not exists etl.model_builds (
    model          text primary key,                          -- e.g. kpi_dealer_monthly
    business_date  date not null,                             -- the D it was last built for
    built_at       timestamptz not null default clock_timestamp()
);

grant select on etl.model_builds to baoke_transformer, baoke_exporter;
grant insert, update on etl.model_builds to baoke_builder;
