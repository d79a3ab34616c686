select
    vin,
    customer_id,
    selling_dealer_code,
    brand,
    model,
    model_year,
    plate_no,
    delivery_date,
    warranty_end_date,
    warranty_end_km,
    vehicle_status
from {{ ref('int_vehicles_resolved') }}
