-- Every list row and holdout row ever decided (rules §3, §5), with what the call center
-- reported for it: attempts, whether the customer was reached, booked, and the final
-- outcome. One row per list row (call, sms, exception) or holdout (customer x reason).
with decisions as (
    select * from {{ ref('int_outreach_decisions') }}
    where (is_list_row and disposition in ('call', 'sms', 'exception')) or disposition = 'holdout'
),

outcomes as (
    select * from {{ ref('stg_callcenter__outcomes') }}
),

results as (
    select
        call_id,
        count(*) as attempts_reported,
        bool_or(outcome in ('BOOKED', 'CALLBACK_REQUESTED', 'DECLINED')) as reached,
        bool_or(outcome = 'BOOKED') as booked,
        (array_agg(outcome order by called_at desc, attempt_no desc))[1] as final_outcome,
        max(called_at) as last_called_at
    from outcomes
    group by call_id
),

secondary as (
    select
        call_id,
        string_agg(reason, '|' order by priority, reason) as other_reasons
    from {{ ref('int_outreach_decisions') }}
    where not is_list_row and disposition in ('call', 'sms', 'exception')
    group by call_id
)

select
    decisions.call_id,
    decisions.business_date as list_date,
    decisions.dealer_code,
    decisions.customer_id,
    decisions.vin,
    decisions.disposition as list_type,
    decisions.reason as primary_reason,
    coalesce(secondary.other_reasons, '') as other_reasons,
    decisions.priority,
    decisions.campaign_code,
    decisions.event_key,
    decisions.due_date,
    decisions.source,
    decisions.attempt_no,
    decisions.preferred_slot,
    decisions.advisor_id,
    decisions.why_not_called as exception_reason,
    decisions.is_failed_reminder,
    coalesce(results.attempts_reported, 0) as attempts_reported,
    coalesce(results.reached, false) as reached,
    coalesce(results.booked, false) as booked,
    results.final_outcome,
    results.last_called_at
from decisions
left join results on decisions.call_id = results.call_id
left join secondary on decisions.call_id = secondary.call_id
