-- What the call center reported for each list row it was sent (rules §3), read through
-- the meaning of each outcome code (the outcome_codes seed): how many outcome rows
-- (attempts and SMS), whether any reached the customer or booked a visit, and the last
-- word (the latest outcome by called_at, then attempt) with what it means for the row's
-- reason. One row per call_id with at least one outcome.
{{ config(indexes=[{'columns': ['call_id'], 'unique': true}]) }}

with outcomes as (
    select * from {{ ref('stg_callcenter__outcomes') }}
),

codes as (
    select * from {{ ref('outcome_codes') }}
),

reported as (
    select
        outcomes.call_id,
        count(*) as attempts_reported,
        count(*) filter (where outcomes.channel = 'SMS') as sms_reported,
        coalesce(bool_or(codes.is_reached), false) as reached,
        coalesce(bool_or(codes.is_booked), false) as booked,
        max(outcomes.called_at) as last_called_at
    from outcomes
    left join codes on outcomes.outcome = codes.outcome
    group by outcomes.call_id
),

last_word as (
    select distinct on (call_id)
        call_id,
        attempt_no as reported_attempt,
        outcome,
        callback_date
    from outcomes
    order by call_id asc, called_at desc, attempt_no desc
)

select
    reported.call_id,
    reported.attempts_reported,
    reported.sms_reported,
    reported.reached,
    reported.booked,
    reported.last_called_at,
    last_word.reported_attempt,
    last_word.outcome as final_outcome,
    last_word.callback_date,
    coalesce(codes.completes_reason, true) as completes_reason,
    codes.follow_up
from reported
inner join last_word on reported.call_id = last_word.call_id
left join codes on last_word.outcome = codes.outcome
