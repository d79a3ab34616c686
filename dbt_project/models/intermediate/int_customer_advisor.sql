-- The customer's advisor (rules §3 "who calls"): the advisor of the customer's latest
-- visit (by visit date, then repair-order number; the customer after merges), and
-- whether that advisor is still active. Defined once: the outreach assigns calls by it.
-- One row per customer with a visit.
-- Incremental: a daily build recomputes only the customers whose visits changed, or whose
-- advisor's DMS record did, since the last one (macros/visit_summaries.sql).
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='append_new_columns',
    pre_hook="{{ prepare_visit_summary_increment('customer_id', ['last_visit_ro_number'],
                                                 also_touched=customers_of_changed_advisors) }}",
    post_hook=["{{ record_staging_build(source('raw', 'dms_repair_orders'), merged_by='stg_dms__repair_orders') }}",
               "{{ index_if_missing(['merged_for_date']) }}"],
    indexes=[{'columns': ['customer_id'], 'unique': true}, {'columns': ['merged_for_date']}],
    meta={'build_date_column': 'merged_for_date'}
) }}
-- depends_on: {{ source('raw', 'dms_repair_orders') }}, {{ ref('stg_dms__repair_orders') }}

with visits as (
    {{ visits_of_touched_keys('customer_id') }}
),

advisors as (
    select * from {{ ref('stg_dms__advisors') }}
),

latest_visits as (
    select distinct on (customer_id)
        customer_id,
        advisor_id,
        ro_number
    from visits
    order by customer_id asc, visit_date desc, ro_number desc
)

select
    latest_visits.customer_id,
    latest_visits.advisor_id,
    coalesce(advisors.is_active, false) as advisor_is_active,
    latest_visits.ro_number as last_visit_ro_number,
    {{ business_date() }} as merged_for_date
from latest_visits
left join advisors on latest_visits.advisor_id = advisors.advisor_id
