-- Rules §3 reason 8 and §8, DECLINED_WORK (未修项目跟进): work an advisor recommended
-- (stg_dms__recommendations) and the customer has not had done, for the vehicle's current
-- owner (a vehicle in the active base), at the dealer of the visit it was recommended on.
-- Two triggers, each its own due event (`recommendation_id@trigger`):
--   `declined` on a visit closed exactly `declined_followup_days` (3) days before D -
--     about the close date + 3 (`recommendation_id@visit`);
--   `deferred` with `defer_until` in the reason's window (0-7 days after D) - about
--     `defer_until` (`recommendation_id@defer_until`), so a new deferral date is a new event.
-- Work `done` (or with a `done_ro_number`) is never due.
{{ config(materialized='view') }}

with reasons as (
    select * from {{ ref('outreach_reasons') }}
),

vehicles as (
    select * from {{ ref('int_outreach_due__vehicles') }}
),

recommendations as (
    select * from {{ ref('stg_dms__recommendations') }}
    where recommendation_status <> 'done' and done_ro_number is null
),

visits as (
    select * from {{ ref('int_visits') }}
),

declined as (
    select
        vehicles.customer_id,
        vehicles.vin,
        coalesce(visits.dealer_code, recommendations.dealer_code) as dealer_code,
        'DECLINED_WORK' as reason,
        recommendations.recommendation_id || '@visit' as event_key,
        visits.visit_date + {{ var('declined_followup_days') }} as due_date
    from recommendations
    inner join visits on recommendations.ro_number = visits.ro_number
    inner join vehicles on recommendations.vin = vehicles.vin
    where
        recommendations.recommendation_status = 'declined'
        and {{ days_before_d('visits.visit_date') }} = {{ var('declined_followup_days') }}
),

deferred as (
    select
        vehicles.customer_id,
        vehicles.vin,
        recommendations.dealer_code,
        'DECLINED_WORK' as reason,
        recommendations.recommendation_id || '@' || recommendations.defer_until as event_key,
        recommendations.defer_until as due_date
    from recommendations
    inner join vehicles on recommendations.vin = vehicles.vin
    inner join reasons on reasons.reason = 'DECLINED_WORK'
    where
        recommendations.recommendation_status = 'deferred'
        and recommendations.defer_until - {{ business_date() }}
        between reasons.window_min_days and reasons.window_max_days
)

select * from declined
union all
select * from deferred
