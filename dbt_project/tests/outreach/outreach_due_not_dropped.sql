-- Rules §3 "nothing due is silently dropped" / "listed once": every reason due on D
-- (int_outreach_due) has a decision on D, unless the same due event was listed before
-- (on a list, held out, carried over the cap, or in the exceptions file with the number
-- the DMS still has) and - for a reason with a cooldown - less than cooldown_days ago.
-- Returns the due rows with no decision.
with due as (
    select * from {{ ref('int_outreach_due') }}
),

decisions as (
    select * from {{ ref('int_outreach_history') }}
),

reasons as (
    select * from {{ ref('outreach_reasons') }}
),

customers as (
    select * from {{ ref('stg_dms__customers') }}
)

select
    due.business_date,
    due.customer_id,
    due.reason,
    due.event_key
from due
inner join reasons on due.reason = reasons.reason
where not exists (
    select 1 from decisions
    where
        decisions.business_date = due.business_date
        and decisions.customer_id = due.customer_id
        and decisions.reason = due.reason
        and decisions.event_key = due.event_key
)
and not exists (
    select 1 from decisions
    where
        decisions.business_date < due.business_date
        and decisions.customer_id = due.customer_id
        and decisions.reason = due.reason
        and decisions.event_key = due.event_key
        and (
            decisions.disposition in ('call', 'sms', 'holdout', 'overflow')
            or (decisions.disposition = 'exception' and decisions.mobile is not distinct from (
                select customers.mobile from customers
                where customers.customer_id = due.customer_id
            ))
        )
        and (reasons.cooldown_days is null or due.business_date - decisions.business_date < reasons.cooldown_days)
)
