-- Rules §3 reasons 4, 6 and 10, the dates in a vehicle's life, each listed once per vehicle
-- (windows from `outreach_reasons`):
-- NEW_CAR_FOLLOWUP (新车回访): delivered exactly 3 days before D, about delivery + 3;
-- FIRST_SERVICE_DUE (首保提醒): delivered 60-90 days before D and never visited since,
--   about delivery + 90;
-- WARRANTY_EXPIRY (保修到期提醒): the warranty ends 1-30 days after D, about its end date.
{{ config(materialized='view') }}

with reasons as (
    select * from {{ ref('outreach_reasons') }}
),

vehicles as (
    select * from {{ ref('int_outreach_due__vehicles') }}
),

new_car as (
    select
        vehicles.customer_id,
        vehicles.vin,
        vehicles.dealer_code,
        'NEW_CAR_FOLLOWUP' as reason,
        vehicles.vin as event_key,
        vehicles.delivery_date + reasons.window_max_days as due_date
    from vehicles
    inner join reasons on reasons.reason = 'NEW_CAR_FOLLOWUP'
    where {{ days_before_d('vehicles.delivery_date') }} between reasons.window_min_days and reasons.window_max_days
),

first_service as (
    select
        vehicles.customer_id,
        vehicles.vin,
        vehicles.dealer_code,
        'FIRST_SERVICE_DUE' as reason,
        vehicles.vin as event_key,
        vehicles.delivery_date + reasons.window_max_days as due_date
    from vehicles
    inner join reasons on reasons.reason = 'FIRST_SERVICE_DUE'
    where
        vehicles.never_visited
        and {{ days_before_d('vehicles.delivery_date') }} between reasons.window_min_days and reasons.window_max_days
),

warranty as (
    select
        vehicles.customer_id,
        vehicles.vin,
        vehicles.dealer_code,
        'WARRANTY_EXPIRY' as reason,
        vehicles.vin as event_key,
        vehicles.warranty_end_date as due_date
    from vehicles
    inner join reasons on reasons.reason = 'WARRANTY_EXPIRY'
    where vehicles.warranty_end_date - {{ business_date() }} between reasons.window_min_days and reasons.window_max_days
)

select * from new_car
union all
select * from first_service
union all
select * from warranty
