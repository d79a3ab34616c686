-- Rules §5: nobody is held out of a list row led by a reason whose holdout share is 0
-- (the reminders the documents require for everyone), unless the run set `holdout_pct`
-- for every reason. Returns the held-out lead rows that break it.
-- Each build checks the day it decides (D); earlier days were checked by their own builds.
select
    decisions.business_date,
    decisions.customer_id,
    decisions.reason,
    decisions.event_key,
    decisions.call_id
from {{ ref('int_outreach_decisions') }} as decisions
inner join {{ ref('outreach_reasons') }} as reasons on decisions.reason = reasons.reason
where
    decisions.disposition = 'holdout'
    and decisions.leads_without_holdout
    and reasons.holdout_pct = 0
    and decisions.business_date = {{ business_date() }}
    -- a run's holdout_pct applies to every reason: then there is nothing to check
    and {{ var('holdout_pct', none) is none }}
