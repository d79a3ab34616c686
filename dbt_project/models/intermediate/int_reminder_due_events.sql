-- The due events of the outreach (rules §3) and whether each was reminded (rules §4
-- 提醒率): one row per due event, from the day it was newly due (a `due` row of the
-- history) with every row that followed it (further attempts, callbacks, failed
-- reminders, rows carried over the cap, an expiry) until it was newly due again.
-- It could be contacted when it reached a call or SMS list, or was carried over the cap
-- (and expired there, or is still carried): neither held out nor only suppressed (or
-- only in the exceptions file, which has no number to call). It was reminded when the
-- call center reported at least one attempt (call or SMS) on any of its list rows.
with history as (
    select * from {{ ref('int_outreach_history') }}
),

call_results as (
    select * from {{ ref('int_outreach_call_results') }}
),

chained as (
    select
        history.*,
        count(*) filter (where history.source = 'due') over (
            partition by history.customer_id, history.reason, history.event_key
            order by history.business_date, history.source <> 'due'
            rows between unbounded preceding and current row
        ) as due_no
    from history
),

events as (
    select
        chained.customer_id,
        chained.reason,
        chained.event_key,
        chained.due_no,
        min(chained.business_date) as first_due_date,
        (array_agg(chained.dealer_code order by chained.business_date, chained.source <> 'due'))[1] as dealer_code,
        max(chained.business_date) as last_decision_date,
        (array_agg(chained.disposition order by chained.business_date desc, chained.source = 'due'))[1]
            as last_disposition,
        bool_or(chained.disposition = 'holdout') as is_held_out,
        bool_or(chained.disposition in ('call', 'sms')) as is_listed,
        bool_or(chained.disposition = 'overflow') as is_carried,
        bool_or(chained.disposition = 'expired') as is_expired,
        coalesce(bool_or(call_results.attempts_reported > 0 and chained.disposition in ('call', 'sms')), false)
            as is_attempted
    from chained
    left join call_results on chained.call_id = call_results.call_id
    where chained.due_no > 0
    group by chained.customer_id, chained.reason, chained.event_key, chained.due_no
)

select
    customer_id,
    reason,
    event_key,
    dealer_code,
    first_due_date,
    date_trunc('month', first_due_date)::date as month,
    last_decision_date,
    last_disposition,
    is_held_out,
    is_listed,
    is_carried,
    is_expired,
    not is_held_out and (is_listed or is_expired or last_disposition = 'overflow') as is_contactable,
    is_attempted,
    -- still on D's decisions, or carried to tomorrow: attempts may still come
    last_decision_date >= {{ business_date() }} or last_disposition = 'overflow' as is_open
from events
