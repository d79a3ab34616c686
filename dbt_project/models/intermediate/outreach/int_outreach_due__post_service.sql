-- Rules §3 reason 2, POST_SERVICE_FOLLOWUP (修后回访): a visit of a vehicle in the active
-- base closed exactly 3 days before D (the `outreach_reasons` window), for the vehicle's
-- current owner, at the visit's dealer. Listed once per visit (the repair order), about
-- the close date + 3.
{{ config(materialized='view') }}

with reasons as (
    select * from {{ ref('outreach_reasons') }}
),

vehicles as (
    select * from {{ ref('int_outreach_due__vehicles') }}
),

visits as (
    select * from {{ ref('int_visits') }}
)

select
    vehicles.customer_id,
    vehicles.vin,
    visits.dealer_code,
    'POST_SERVICE_FOLLOWUP' as reason,
    visits.ro_number as event_key,
    visits.visit_date + reasons.window_max_days as due_date
from visits
inner join vehicles on visits.vin = vehicles.vin
inner join reasons on reasons.reason = 'POST_SERVICE_FOLLOWUP'
where {{ days_before_d('visits.visit_date') }} between reasons.window_min_days and reasons.window_max_days
