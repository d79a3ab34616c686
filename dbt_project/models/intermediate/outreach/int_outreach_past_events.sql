-- What the outreach history says about each due event before D (rules §3 "listed once"):
-- when it was last listed - on a list, held out, carried over the advisor cap, or in
-- the exceptions file with the number the DMS still has (a corrected number gets the
-- call) - and whether a call or SMS of it was completed (the outcome_codes seed: a
-- reached or closing outcome, not a not-reached call or a failed SMS). A customer's
-- secondary reasons on a call count as listed, and complete with the call.
-- One row per (customer, reason, due event) in the history.
{{ config(indexes=[{'columns': ['customer_id', 'reason', 'event_key'], 'unique': true}]) }}

with history as (
    select * from {{ ref('stg_platform__outreach_log') }}
),

call_results as (
    select * from {{ ref('int_outreach_call_results') }}
),

customers as (
    select * from {{ ref('stg_dms__customers') }}
)

select
    history.customer_id,
    history.reason,
    history.event_key,
    max(history.business_date) filter (
        where
        history.disposition in ('call', 'sms', 'holdout', 'overflow')
        or (history.disposition = 'exception' and history.mobile is not distinct from customers.mobile)
    ) as last_listed,
    coalesce(bool_or(call_results.completes_reason), false) as is_completed
from history
left join customers on history.customer_id = customers.customer_id
left join call_results on history.call_id = call_results.call_id
group by history.customer_id, history.reason, history.event_key
