-- The first attempt's time slot (三时段, rules §3): the slot of the customer's latest
-- reached call (by called_at, Asia/Shanghai: before 12:00 MORNING, before 17:00
-- AFTERNOON, else EVENING; reached per the outcome_codes seed), so that the call comes
-- when the customer last picked up. A customer never reached gets MORNING (the
-- decisions' default). Each next attempt takes the next slot in the cycle from this one
-- (int_outreach_decisions): the customer was not reached since (that is why they are
-- called again), so their latest reached call is the same one.
-- One row per customer reached at least once.
{{ config(indexes=[{'columns': ['customer_id'], 'unique': true}]) }}

with outcomes as (
    select * from {{ ref('stg_callcenter__outcomes') }}
),

codes as (
    select * from {{ ref('outcome_codes') }}
),

latest_reached as (
    select distinct on (outcomes.customer_id)
        outcomes.customer_id,
        (outcomes.called_at at time zone 'Asia/Shanghai')::time as called_time
    from outcomes
    inner join codes on outcomes.outcome = codes.outcome
    where codes.is_reached
    order by outcomes.customer_id asc, outcomes.called_at desc, outcomes.call_id desc, outcomes.attempt_no desc
)

select
    customer_id,
    case
        when called_time < time '12:00' then 'MORNING'
        when called_time < time '17:00' then 'AFTERNOON'
        else 'EVENING'
    end as first_slot
from latest_reached
