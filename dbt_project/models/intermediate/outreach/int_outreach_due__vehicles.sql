-- The vehicles outreach reasons 1-13 are about (rules §3, "The reasons": evaluated for the
-- vehicles in the active base, for their current owner), one row per vehicle: its churn
-- facts as of D (rules §2), its warranty end date, and its current lapse. The lapse is
-- the vehicle's current absence, `vin@last visit date` (or `vin@delivery date` if never
-- visited): the due event of reasons 11-13. A return visit ends it; the next is a new event.
-- A table, not a view like the families: five of them read it, and as a view its join
-- would be recomputed by each.
{{ config(materialized='table') }}

with churn as (
    select * from {{ ref('int_vehicle_churn') }}
),

owned as (
    select * from {{ ref('int_vehicles_resolved') }}
)

select
    churn.vin,
    churn.customer_id,
    churn.dealer_code,
    churn.churn_status,
    churn.oem_status,
    churn.delivery_date,
    churn.last_visit_date,
    churn.never_visited,
    churn.days_since_last_visit,
    owned.warranty_end_date,
    churn.vin || '@' || coalesce(churn.last_visit_date, churn.delivery_date) as lapse_key
from churn
inner join owned on churn.vin = owned.vin
