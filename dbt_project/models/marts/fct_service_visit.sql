-- A view: millions of rows that are a renamed, masked copy of an indexed table, so the
-- daily build does not copy them again (the BI role reads it as a mart; the view runs
-- with its owner's rights).
{{ config(materialized='view') }}
select
    ro_number,
    dealer_code,
    vin,
    customer_id,
    advisor_id,
    open_date,
    visit_date,
    mileage_km,
    service_type,
    labor_amount,
    parts_amount,
    total_amount,
    appointment_id,
    appointment_id is not null as came_with_appointment,
    campaign_code,
    insurance_claim_no
from {{ ref('int_visits') }}
