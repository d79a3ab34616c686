-- Visits (回厂, rules §1): repair orders closed before D, other than PDI, dated by their
-- close date, each counted for the customer it belongs to after merges.
--
-- Incremental: a daily build recomputes only the repair orders touched since the last
-- one (macros/visits_increment.sql); a backfill or a superseded DMS file rebuilds it all.
-- Each row carries the D of the build that wrote it (`merged_for_date`), and the data
-- tests check those rows (meta build_date_column: macros/tests/as_of_d.sql).
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='append_new_columns',
    pre_hook="{{ prepare_visits_increment() }}",
    post_hook=["{{ record_staging_build(source('raw', 'dms_repair_orders'), merged_by='stg_dms__repair_orders') }}",
               "{{ index_visits_of_merged_customers() }}"],
    indexes=[{'columns': ['ro_number'], 'unique': true}, {'columns': ['vin', 'visit_date']},
             {'columns': ['customer_id', 'visit_date']}, {'columns': ['merged_for_date']}],
    meta={'build_date_column': 'merged_for_date'}
) }}
-- depends_on: {{ source('raw', 'dms_repair_orders') }}

with repair_orders as (
    select * from {{ ref('stg_dms__repair_orders') }}
    {%- if is_incremental() and visits_increment().mode == 'incremental' %}
        where ro_number in (select int_visits__touched.ro_number from int_visits__touched)
    {%- endif %}
),

customers as (
    select * from {{ ref('int_customers_resolved') }}
)

select
    repair_orders.ro_number,
    repair_orders.dealer_code,
    repair_orders.vin,
    coalesce(customers.resolved_customer_id, repair_orders.customer_id) as customer_id,
    repair_orders.customer_id as ro_customer_id,
    coalesce(customers.is_merged, false) as is_merged_customer,
    repair_orders.advisor_id,
    repair_orders.open_date,
    repair_orders.close_date as visit_date,
    repair_orders.mileage_km,
    repair_orders.service_type,
    repair_orders.labor_amount,
    repair_orders.parts_amount,
    repair_orders.total_amount,
    repair_orders.appointment_id,
    repair_orders.campaign_code,
    repair_orders.insurance_claim_no,
    {{ business_date() }} as merged_for_date
from repair_orders
left join customers on repair_orders.customer_id = customers.customer_id
where
    repair_orders.ro_status = 'closed'
    and repair_orders.service_type <> 'PDI'
    and repair_orders.close_date < {{ business_date() }}
