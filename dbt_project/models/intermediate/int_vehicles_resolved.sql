-- Each vehicle with its current owner resolved through customer merges (rules §1), and
-- whether it belongs to the active base (rules §2: not sold or scrapped).
with vehicles as (
    select * from {{ ref('stg_dms__vehicles') }}
),

customers as (
    select * from {{ ref('int_customers_resolved') }}
)

select
    vehicles.vin,
    coalesce(customers.resolved_customer_id, vehicles.customer_id) as customer_id,
    vehicles.selling_dealer_code,
    vehicles.brand,
    vehicles.model,
    vehicles.model_year,
    vehicles.plate_no,
    vehicles.delivery_date,
    vehicles.warranty_end_date,
    vehicles.warranty_end_km,
    vehicles.vehicle_status,
    vehicles.vehicle_status not in ('sold', 'scrapped') as is_owned
from vehicles
left join customers on vehicles.customer_id = customers.customer_id
