-- What the call center heard that limits how a customer may be contacted (rules §3), as
-- of D: ever an outcome that blocks calls (DO_NOT_CALL), that blocks SMS (UNSUBSCRIBED) or
-- says the car is gone (VEHICLE_SOLD, MOVED_AWAY) - the outcome_codes seed says which -
-- and whether the mobile the DMS has now was reported wrong on a list row sent to it
-- (WRONG_NUMBER: off phone lists until the DMS number changes). And whether the customer
-- asked to be erased (PIPL: contacted no more, on no list).
-- One row per customer with at least one of them.
{{ config(indexes=[{'columns': ['customer_id'], 'unique': true}]) }}

with outcomes as (
    select * from {{ ref('stg_callcenter__outcomes') }}
),

codes as (
    select * from {{ ref('outcome_codes') }}
),

history as (
    select * from {{ ref('stg_platform__outreach_log') }}
),

call_results as (
    select * from {{ ref('int_outreach_call_results') }}
),

customers as (
    select * from {{ ref('stg_dms__customers') }}
),

erasures as (
    select * from {{ ref('stg_platform__erasures') }}
),

heard as (
    select
        outcomes.customer_id,
        bool_or(codes.blocks_calls) as blocks_calls,
        bool_or(codes.blocks_sms) as blocks_sms,
        bool_or(codes.vehicle_gone) as vehicle_gone
    from outcomes
    inner join codes on outcomes.outcome = codes.outcome
    where codes.blocks_calls or codes.blocks_sms or codes.vehicle_gone
    group by outcomes.customer_id
),

wrong_now as (
    select distinct history.customer_id
    from history
    inner join call_results on history.call_id = call_results.call_id
    inner join customers
        on history.customer_id = customers.customer_id and history.mobile = customers.mobile
    where call_results.follow_up = 'wrong_number'
),

blocked as (
    select customer_id from heard
    union
    select customer_id from wrong_now
    union
    select customer_id from erasures
)

select
    blocked.customer_id,
    coalesce(heard.blocks_calls, false) as blocks_calls,
    coalesce(heard.blocks_sms, false) as blocks_sms,
    coalesce(heard.vehicle_gone, false) as vehicle_gone,
    wrong_now.customer_id is not null as mobile_reported_wrong,
    erasures.customer_id is not null as is_erased
from blocked
left join heard on blocked.customer_id = heard.customer_id
left join wrong_now on blocked.customer_id = wrong_now.customer_id
left join erasures on blocked.customer_id = erasures.customer_id
