-- Incremental staging (issue: the warehouse, daily build time). Each staging model merges
-- only the raw batches it has not seen yet; these two tables say which ones it has seen
-- and for which business date it was last built. dbt writes them in the same
-- transaction as the model (post-hook), so they never disagree with the model's rows.
create table if not exists etl.staging_builds (
    model          text primary key,   -- e.g. stg_dms__repair_orders
    business_date  date not null,      -- the D it was last built for
    full_rebuild   boolean not null,   -- whether that build read all of raw
    built_at       timestamptz not null default clock_timestamp()
);

create table if not exists etl.staging_batches (
    model     text   not null,
    batch_id  bigint not null,
    included  boolean not null,  -- false: its file was superseded or incomplete when merged
    primary key (model, batch_id)
);

grant select, insert, update, delete on etl.staging_builds, etl.staging_batches to baoke_transformer;
