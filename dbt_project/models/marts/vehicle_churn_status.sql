-- One row per vehicle in the active base per business date (history kept): each run
-- replaces its own date's rows, so reruns and backfills of a date are idempotent.
-- A run replaces all of its date's rows (unique_key business_date).
-- Its data tests check the rows of D only (meta build_date_column: macros/tests/as_of_d.sql).
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='business_date',
    indexes=[{'columns': ['business_date']}],
    on_schema_change='append_new_columns',
    meta={'build_date_column': 'business_date'}
) }}

select
    business_date,
    vin,
    customer_id,
    dealer_code,
    churn_status,
    churn_band,
    days_since_last_visit,
    last_visit_date,
    delivery_date,
    is_local,
    in_warranty,
    followup_class,
    oem_status,
    oem_period
from {{ ref('int_vehicle_churn') }}
