-- Rules §3 "nothing due is silently dropped": every candidate has a disposition, and a
-- why_not_called unless it is the lead row of a call (a call-list row). Returns the rows
-- that break it.
-- Each build checks the day it decides (D); earlier days were checked by their own builds.
select
    business_date,
    customer_id,
    reason,
    event_key,
    source,
    disposition,
    is_list_row,
    why_not_called
from {{ ref('int_outreach_decisions') }}
where
    business_date = {{ business_date() }}
    and (
        disposition is null
        or disposition not in ('call', 'sms', 'exception', 'holdout', 'overflow', 'expired', 'suppressed')
        or (why_not_called is null and not (disposition = 'call' and is_list_row))
        or (why_not_called is not null and disposition = 'call' and is_list_row)
    )
