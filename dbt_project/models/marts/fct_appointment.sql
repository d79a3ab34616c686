-- A view: millions of rows that are a renamed, masked copy of an indexed table, so the
-- daily build does not copy them again (the BI role reads it as a mart; the view runs
-- with its owner's rights).
{{ config(materialized='view') }}
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
    appointments.created_at
from appointments
left join identity on identity.customer_id = appointments.customer_id
