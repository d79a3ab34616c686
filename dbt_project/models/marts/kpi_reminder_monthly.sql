-- 提醒率 per reason (rules §4): per dealer, month and outreach reason, of the due events
-- that could be contacted (on a list, carried over the cap, or expired there; not held
-- out, not suppressed), the share with at least one attempt reported. The documents
-- require 100% for 首保 and 定保 reminders, and fine staff below 95%.
-- kpi_dealer_monthly carries the same rate over all reasons.
with events as (
    select * from {{ ref('int_reminder_due_events') }}
    where month >= {{ kpi_first_month() }} and first_due_date < {{ business_date() }}
),

reasons as (
    select * from {{ ref('outreach_reasons') }}
)

select
    events.dealer_code,
    events.month,
    events.reason,
    reasons.term_zh as reason_zh,
    count(*) as due_events,
    count(*) filter (where events.is_held_out) as held_out,
    count(*) filter (where events.is_contactable) as reminders_due,
    count(*) filter (where events.is_contactable and events.is_expired) as expired,
    count(*) filter (where events.is_contactable and events.is_attempted) as reminders_attempted,
    round(
        (count(*) filter (where events.is_contactable and events.is_attempted))::numeric
        / nullif(count(*) filter (where events.is_contactable), 0),
        4
    )::numeric(5, 4) as reminder_completion_rate,
    (events.month + interval '1 month')::date <= {{ business_date() }}
    and not coalesce(bool_or(events.is_open) filter (where events.is_contactable), false)
        as is_final
from events
left join reasons on events.reason = reasons.reason
group by events.dealer_code, events.month, events.reason, reasons.term_zh
