-- Rules §3 reason 14, BIRTHDAY (生日关怀, SMS only): the customer's birthday is exactly 6
-- days after D (the `outreach_reasons` window), for the customer rather than a vehicle,
-- at their home dealer. Listed once a year (`customer@year` of the birthday), about this
-- year's birthday. A duplicate record merged into another customer (rules §1) is not
-- listed itself.
{{ config(materialized='view') }}

with reasons as (
    select * from {{ ref('outreach_reasons') }}
),

customers as (
    select * from {{ ref('stg_dms__customers') }}
),

identity as (
    select * from {{ ref('int_customers_resolved') }}
)

select
    customers.customer_id,
    null::text as vin,
    customers.home_dealer_code as dealer_code,
    'BIRTHDAY' as reason,
    customers.customer_id || '@' || extract(year from {{ business_date() }} + reasons.window_min_days) as event_key,
    {{ business_date() }} + reasons.window_min_days as due_date
from customers
inner join identity on customers.customer_id = identity.customer_id and not identity.is_merged
inner join reasons on reasons.reason = 'BIRTHDAY'
where
    customers.birth_date is not null
    and to_char(customers.birth_date, 'MM-DD') = to_char({{ business_date() }} + reasons.window_min_days, 'MM-DD')
