{#- int_visits is incremental: a daily build recomputes only the repair orders whose
    visit may have changed since its last build, instead of rewriting millions of rows.

    Those are the orders
      - whose DMS record changed: the records stg_dms__repair_orders merged since (its
        rows' `merged_for_date`: the D of the build that merged them);
      - counted for another customer now: a merge (or its undoing) moved them;
      - closed on a day that was still ahead at the last build (close dates are D-1 at
        the latest in the feed, but a version can carry a later one).
    The pre-hook collects them (a temporary table) and deletes their rows; the model then
    inserts those of them that are visits. Each kind is found by index, without reading
    the millions of visits and orders. int_visits rebuilds from all of staging when
    `staging_increment` says so: the first build, a backfill, a superseded DMS file. -#}
{% macro visits_increment() -%}
    {{ return(staging_increment(source('raw', 'dms_repair_orders'), merged_by='stg_dms__repair_orders')) }}
{%- endmacro %}


{#- Pre-hook of int_visits (inside its transaction): empty it for a full build, or
    collect and delete the orders to recompute. -#}
{% macro prepare_visits_increment() -%}
    {%- if not execute or not is_incremental() -%}{{ return('') }}{%- endif -%}
    {%- set increment = visits_increment() -%}
    {%- if increment.mode == 'full' -%}
    truncate {{ this }}
    {%- else -%}
    create temporary table int_visits__touched on commit drop as
    -- changed in the DMS: every record stg_dms__repair_orders merged since this model's
    -- last build (each carries the D of the build that merged it; by its index): by the
    -- builds after it, or, rebuilding the same D, by this one. Not those of the last build
    -- itself, which it read: after a full build every order carries that D. Not the raw
    -- batches staging has recorded as merged: a batch committed less than a minute
    -- before the build is merged by staging but recorded only at its next build, and its
    -- late-written orders would reach the visits a day late.
    select repair_orders.ro_number
    from {{ ref('stg_dms__repair_orders') }} as repair_orders
    where repair_orders.merged_for_date >= {{ increment.merged_since }}
    union
    -- merged since: their visits still count for the merged record. By the customer_id
    -- index: as an array, PostgreSQL does not expect each merged record to have visits
    -- (they have none once their visits count for the survivor) and scan them all.
    select visits.ro_number
    from {{ this }} as visits
    where visits.customer_id = any (array(
        select customers.customer_id from {{ ref('int_customers_resolved') }} as customers where customers.is_merged))
    union
    -- counted for a merged record's survivor at the last build: still the same one? (by
    -- the partial index on is_merged_customer)
    select visits.ro_number
    from {{ this }} as visits
    left join {{ ref('int_customers_resolved') }} as customers on customers.customer_id = visits.ro_customer_id
    where visits.is_merged_customer
      and customers.resolved_customer_id is distinct from visits.customer_id
    union
    -- closed on a day reached since (staging's close_date index)
    select repair_orders.ro_number
    from {{ ref('stg_dms__repair_orders') }} as repair_orders
    where repair_orders.close_date >= {{ increment.last_date }} and repair_orders.close_date < {{ business_date() }};

    delete from {{ this }} where ro_number in (select ro_number from int_visits__touched)
    {%- endif -%}
{%- endmacro %}


{#- Post-hook of int_visits: the partial index of the visits of merged customer records,
    which the next build checks. dbt's `indexes` config has no partial indexes. -#}
{% macro index_visits_of_merged_customers() -%}
    create index if not exists int_visits_of_merged_customers on {{ this }} (ro_customer_id)
        where is_merged_customer
{%- endmacro %}
