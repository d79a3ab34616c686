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
