-- A view: millions of rows that are a renamed, masked copy of an indexed table, so the
-- daily build does not copy them again (the BI role reads it as a mart; the view runs
-- with its owner's rights, so it applies the per-dealer policy itself: the `where`,
-- macros/dealer_access.sql). Its data tests check the rows the last build merged
-- (`merged_for_date` = D; meta build_date_column: macros/tests/as_of_d.sql): the others
-- were tested when they were written.
{{ config(materialized='view', meta={'build_date_column': 'merged_for_date'}) }}
with appointments as (
    select * from {{ ref('stg_dms__appointments') }}
),

identity as (
    select * from {{ ref('int_customers_resolved') }}
)

select
    appointments.appointment_id,
    appointments.dealer_code,
    coalesce(identity.resolved_customer_id, appointments.customer_id) as customer_id,
    appointments.vin,
    appointments.appointment_date,
    appointments.appointment_slot,
    appointments.booking_source,
    appointments.appointment_status,
    appointments.created_at,
    appointments.merged_for_date
from appointments
left join identity on appointments.customer_id = identity.customer_id
where {{ bi_visible_rows('appointments.dealer_code') }}
