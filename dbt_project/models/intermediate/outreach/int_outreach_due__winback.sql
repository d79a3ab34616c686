-- Rules §3 reasons 11-13, bringing back a vehicle that stays away, each about the vehicle's
-- current lapse (`int_outreach_due__vehicles.lapse_key`: listed again after the reason's
-- cooldown within a lapse unless completed; a return visit starts a new lapse):
-- LAPSING_WINBACK (拟流失招揽): the vehicle's status is `lapsing` (rules §2), about D;
-- LOST_WINBACK (流失客户招揽): status `at_risk`, or the manufacturer flags the VIN in its
--   latest list whatever the status, about D;
-- POINTS_EXPIRY (积分到期提醒): no visit for >= 300 days (the `outreach_reasons` window)
--   and the owner holds membership points, counted over the records merged into them
--   (rules §1); about the earliest expiry date not yet past, or D if none.
{{ config(materialized='view') }}

with reasons as (
    select * from {{ ref('outreach_reasons') }}
),

vehicles as (
    select * from {{ ref('int_outreach_due__vehicles') }}
),

memberships as (
    select * from {{ ref('stg_dms__memberships') }}
),

identity as (
    select * from {{ ref('int_customers_resolved') }}
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
    where churn_status = 'at_risk' or oem_status is not null
),

points as (
    select
        identity.resolved_customer_id as customer_id,
        sum(memberships.points_balance) as points_balance,
        min(memberships.points_expire_date) filter (where memberships.points_expire_date >= {{ business_date() }})
            as points_expire_date
    from memberships
    inner join identity on memberships.customer_id = identity.customer_id
    group by identity.resolved_customer_id
),

points_expiry as (
    select
        vehicles.customer_id,
        vehicles.vin,
        vehicles.dealer_code,
        'POINTS_EXPIRY' as reason,
        vehicles.lapse_key as event_key,
        coalesce(points.points_expire_date, {{ business_date() }}) as due_date
    from vehicles
    inner join points on vehicles.customer_id = points.customer_id
    inner join reasons on reasons.reason = 'POINTS_EXPIRY'
    where
        points.points_balance > 0
        and vehicles.days_since_last_visit >= reasons.window_min_days
)

select * from lapsing
union all
select * from lost
union all
select * from points_expiry
