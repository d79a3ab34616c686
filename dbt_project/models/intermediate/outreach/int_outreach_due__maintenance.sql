-- Rules §3 reason 7, MAINTENANCE_DUE (定保提醒): the vehicle's next maintenance (its latest
-- due date in `int_maintenance_due`, rules §3 "The next maintenance due date") is due 0-7
-- days after D (the `outreach_reasons` window). Listed once per due date
-- (`vin@due date`), about that date.
{{ config(materialized='view') }}

with reasons as (
    select * from {{ ref('outreach_reasons') }}
),

vehicles as (
    select * from {{ ref('int_outreach_due__vehicles') }}
),

maintenance_due as (
    select * from {{ ref('int_maintenance_due') }}
)

select
    vehicles.customer_id,
    vehicles.vin,
    vehicles.dealer_code,
    'MAINTENANCE_DUE' as reason,
    maintenance_due.vin || '@' || maintenance_due.due_date as event_key,
    maintenance_due.due_date
from maintenance_due
inner join vehicles on maintenance_due.vin = vehicles.vin
inner join reasons on reasons.reason = 'MAINTENANCE_DUE'
where
    maintenance_due.is_latest
    and maintenance_due.due_date - {{ business_date() }} between reasons.window_min_days and reasons.window_max_days
