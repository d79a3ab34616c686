-- Rules §3 reasons 11-13, bringing back a vehicle or customer that stays away:
-- LAPSING_WINBACK (拟流失招揽): the vehicle's status is `lapsing` (rules §2), about D;
-- LOST_WINBACK (流失客户招揽): status `at_risk`, or the manufacturer flags the VIN in its
--   latest list - unless the group had a visit of the vehicle in the last
--   `oem_recent_visit_days` (90) days before D (the OEM sees only its own channel, the
--   group its own workshop) - about D;
--   both per vehicle, about its current lapse (`int_outreach_due__vehicles.lapse_key`:
--   listed again after the reason's cooldown within a lapse unless completed; a return
--   visit starts a new lapse);
-- POINTS_EXPIRY (积分到期提醒): per customer, once for all their vehicles - no visit of any
--   vehicle they own for >= 300 days (the `outreach_reasons` window; the latest `last`,
--   rules §2, of their vehicles) and points not yet expired left (int_customer_points);
--   about the earliest expiry date of those points, or D if none. The row names the vehicle of that latest
--   `last` (its dealer, the car in the workshop or not); the due event is the customer's
--   absence, `customer@latest last`, so that any vehicle's return ends it.
{{ config(materialized='view') }}

with reasons as (
    select * from {{ ref('outreach_reasons') }}
),

vehicles as (
    select * from {{ ref('int_outreach_due__vehicles') }}
),

points as (
    select * from {{ ref('int_customer_points') }}
),

lapsing as (
    select
        customer_id,
        vin,
        dealer_code,
        'LAPSING_WINBACK' as reason,
        lapse_key as event_key,
        {{ business_date() }} as due_date
    from vehicles
    where churn_status = 'lapsing'
),

lost as (
    select
        customer_id,
        vin,
        dealer_code,
        'LOST_WINBACK' as reason,
        lapse_key as event_key,
        {{ business_date() }} as due_date
    from vehicles
    where
        churn_status = 'at_risk'
        or (
            oem_status is not null
            and (never_visited or days_since_last_visit > {{ var('oem_recent_visit_days') }})
        )
),

latest_vehicle as (  -- per customer: the vehicle of their latest `last` (ties: the lowest VIN)
    select distinct on (customer_id)
        customer_id,
        vin,
        dealer_code,
        days_since_last_visit,
        coalesce(last_visit_date, delivery_date) as latest_last
    from vehicles
    order by customer_id, days_since_last_visit, vin
),

points_expiry as (
    select
        latest_vehicle.customer_id,
        latest_vehicle.vin,
        latest_vehicle.dealer_code,
        'POINTS_EXPIRY' as reason,
        latest_vehicle.customer_id || '@' || latest_vehicle.latest_last as event_key,
        coalesce(points.points_expire_date, {{ business_date() }}) as due_date
    from latest_vehicle
    inner join points on latest_vehicle.customer_id = points.customer_id
    inner join reasons on reasons.reason = 'POINTS_EXPIRY'
    where
        points.points_balance > 0
        and latest_vehicle.days_since_last_visit >= reasons.window_min_days
)

select * from lapsing
union all
select * from lost
union all
select * from points_expiry
