-- Every list row and holdout row ever decided (rules §3, §5), with what the call center
-- reported for it: attempts, whether the customer was reached, booked, and the final
-- outcome. One row per list row (call, sms, exception) or holdout (customer x reason).
with history as (
    select * from {{ ref('int_outreach_history') }}
),

decisions as (
    select * from history
    where (is_list_row and disposition in ('call', 'sms', 'exception')) or disposition = 'holdout'
),

results as (
    select * from {{ ref('int_outreach_call_results') }}
),

secondary as (
    select
        call_id,
        string_agg(reason, '|' order by priority, reason) as other_reasons
    from history
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
    decisions.queue,
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
