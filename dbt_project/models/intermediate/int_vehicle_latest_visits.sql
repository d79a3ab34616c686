-- The shared facts about a vehicle's visits (rules §1-§3), defined once and read by the
-- churn status, the maintenance due dates and the outreach: its latest visit (date,
-- dealer, repair order) and its latest maintenance visit (FIRST_SERVICE or MAINTENANCE).
-- "Latest" is by visit date, then repair-order number. One row per vehicle with a visit.
-- Incremental: a daily build recomputes only the vehicles whose visits changed since the
-- last one (macros/visit_summaries.sql).
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='append_new_columns',
    pre_hook="{{ prepare_visit_summary_increment('vin', ['last_visit_ro_number', 'last_maintenance_ro_number']) }}",
    post_hook=["{{ record_staging_build(source('raw', 'dms_repair_orders'), merged_by='stg_dms__repair_orders') }}",
               "{{ index_if_missing(['merged_for_date']) }}"],
    indexes=[{'columns': ['vin'], 'unique': true}, {'columns': ['merged_for_date']}],
    meta={'build_date_column': 'merged_for_date'}
) }}
-- depends_on: {{ source('raw', 'dms_repair_orders') }}, {{ ref('stg_dms__repair_orders') }}

with visits as (
    {{ visits_of_touched_keys('vin') }}
),

latest_visits as (
    select distinct on (vin)
        vin,
        visit_date as last_visit_date,
        dealer_code as last_visit_dealer_code,
        ro_number as last_visit_ro_number
    from visits
    order by vin asc, visit_date desc, ro_number desc
),

latest_maintenance as (
    select distinct on (vin)
        vin,
        visit_date as last_maintenance_date,
        ro_number as last_maintenance_ro_number
    from visits
    where service_type in ('FIRST_SERVICE', 'MAINTENANCE')
    order by vin asc, visit_date desc, ro_number desc
)

select
    latest_visits.vin,
    latest_visits.last_visit_date,
    latest_visits.last_visit_dealer_code,
    latest_visits.last_visit_ro_number,
    latest_maintenance.last_maintenance_date,
    latest_maintenance.last_maintenance_ro_number,
    {{ business_date() }} as merged_for_date
from latest_visits
left join latest_maintenance on latest_visits.vin = latest_maintenance.vin
