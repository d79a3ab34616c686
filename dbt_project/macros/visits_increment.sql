{#- int_visits is incremental: a daily build recomputes only the repair orders whose
    visit may have changed since its last build, instead of rewriting millions of rows.

    Those are the orders
      - whose DMS record changed: the records stg_dms__repair_orders merged since
        (`staging_increment` with `merged_by`: the same versions and batches);
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
    -- changed in the DMS (raw indexes on version_at and batch_id)
    select touched.record_key as ro_number
    from ({{ touched_record_keys(source('raw', 'dms_repair_orders'), increment) }}) as touched
    union
    -- merged since: their visits still count for the merged record (by index on customer_id)
    select visits.ro_number
    from {{ ref('int_customers_resolved') }} as customers
    join {{ this }} as visits on visits.customer_id = customers.customer_id
    where customers.is_merged
    union
    -- counted for another record at the last build: is that still so? (by the partial index)
    select visits.ro_number
    from {{ this }} as visits
    left join {{ ref('int_customers_resolved') }} as customers on customers.customer_id = visits.ro_customer_id
    where visits.customer_id <> visits.ro_customer_id
      and customers.resolved_customer_id is distinct from visits.customer_id
    union
    -- closed on a day reached since (staging's close_date index)
    select repair_orders.ro_number
    from {{ ref('stg_dms__repair_orders') }} as repair_orders
    where repair_orders.close_date >= {{ increment.last_date }} and repair_orders.close_date < {{ business_date() }};

    delete from {{ this }} where ro_number in (select ro_number from int_visits__touched)
    {%- endif -%}
{%- endmacro %}


{#- Post-hook of int_visits: the partial index of the visits counted for another customer
    record than the order names (merged customers), which the next build checks. dbt's
    `indexes` config has no partial indexes. -#}
{% macro index_visits_counted_for_another() -%}
    create index if not exists int_visits_counted_for_another on {{ this }} (ro_customer_id)
        where customer_id <> ro_customer_id
{%- endmacro %}
