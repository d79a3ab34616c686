{#- Summaries of int_visits kept incrementally: one row per key (a vehicle, a customer)
    holding its latest visit by some order (`int_vehicle_latest_visits`,
    `int_customer_advisor`). A daily build recomputes only the keys whose summary may have
    changed since its last build, instead of sorting every visit again.

    A key's latest visit can change only when
      - one of its visits changed or is new: a repair order int_visits wrote since (a
        changed order, a customer merge, a close date reached), or that staging merged
        since (a voided order leaves int_visits without a row to say so): its key now;
      - the visit the summary holds as latest changed or left the key (voided, moved to
        another vehicle, counted for a merged customer's survivor): every summary column
        naming a repair order (`order_columns`) is checked against those orders;
      - `also_touched` says so: a macro given the first D to look at, returning a query of
        keys (e.g. the customers whose advisor left).
    The pre-hook collects those keys (a temporary table `<model>__touched`) and deletes
    their rows; the model then inserts the summaries of those of them that still have
    visits. It rebuilds from all visits when int_visits' increment would (the first build,
    a backfill, a superseded DMS file), or when the advisors' staging was rebuilt since. -#}
{% macro visit_summary_increment() -%}
    {%- set increment = staging_increment(source('raw', 'dms_repair_orders'), merged_by='stg_dms__repair_orders') -%}
    {#- an advisor a corrected file dropped leaves no stamp to find its customers by -#}
    {%- if increment.mode == 'incremental' and staging_rebuilt_since(['stg_dms__advisors'], increment.merged_since) -%}
        {{ return({'mode': 'full'}) }}
    {%- endif -%}
    {{ return(increment) }}
{%- endmacro %}


{#- The repair orders whose visit may have changed since `since` (the first D to look at):
    those int_visits wrote since (a changed order, a customer merge, a close date reached),
    and those staging merged since (a voided order leaves int_visits without a row). -#}
{% macro orders_changed_since(since) -%}
    select visits.ro_number from {{ ref('int_visits') }} as visits where visits.merged_for_date >= {{ since }}
    union
    select orders.ro_number from {{ ref('stg_dms__repair_orders') }} as orders
    where orders.merged_for_date >= {{ since }}
{%- endmacro %}


{#- The model's visits: all of them, or on a daily build those of the touched keys. -#}
{% macro visits_of_touched_keys(key) -%}
    select * from {{ ref('int_visits') }}
    {%- if is_incremental() and visit_summary_increment().mode == 'incremental' %}
    where {{ key }} in (select touched.{{ key }} from {{ this.identifier }}__touched as touched)
    {%- endif %}
{%- endmacro %}


{#- Pre-hook (inside the model's transaction): empty the summary for a full build, or
    collect the touched keys and delete their rows. -#}
{% macro prepare_visit_summary_increment(key, order_columns, also_touched=none) -%}
    {%- if not execute or not is_incremental() -%}{{ return('') }}{%- endif -%}
    {%- set increment = visit_summary_increment() -%}
    {%- if increment.mode == 'full' -%}
    truncate {{ this }}
    {%- else -%}
    {%- set since = increment.merged_since -%}
    create temporary table {{ this.identifier }}__touched on commit drop as
    with changed_orders as (
        {{ orders_changed_since(since) }}
    )
    select visits.{{ key }} from {{ ref('int_visits') }} as visits
    where visits.ro_number in (select changed_orders.ro_number from changed_orders)
    {%- for column in order_columns %}
    union
    select held.{{ key }} from {{ this }} as held
    where held.{{ column }} in (select changed_orders.ro_number from changed_orders)
    {%- endfor %}
    {%- if also_touched %}
    union
    {{ also_touched(since) }}
    {%- endif %};

    delete from {{ this }} where {{ key }} in (select touched.{{ key }} from {{ this.identifier }}__touched as touched)
    {%- endif -%}
{%- endmacro %}


{#- int_customer_advisor's other reason to recompute a customer: the DMS record of the
    advisor it holds changed since `since` (left, or came back). -#}
{% macro customers_of_changed_advisors(since) -%}
    select held.customer_id from {{ this }} as held
    where held.advisor_id in (
        select advisors.advisor_id from {{ ref('stg_dms__advisors') }} as advisors
        where advisors.merged_for_date >= {{ since }}
    )
{%- endmacro %}
