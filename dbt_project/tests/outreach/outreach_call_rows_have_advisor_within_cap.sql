-- Rules §3 "who calls": every call-list row has an advisor, and on D no advisor has more
-- than max_calls_per_advisor call-list rows (the rest overflow to the next day; earlier
-- days may have run with another cap). Returns the offending advisors.
-- Each build checks the day it decides (D); earlier days were checked by their own builds.
select
    business_date,
    advisor_id,
    count(*) as rows_assigned
from {{ ref('int_outreach_decisions') }}
where disposition = 'call' and is_list_row and business_date = {{ business_date() }}
group by business_date, advisor_id
having advisor_id is null or count(*) > {{ var('max_calls_per_advisor') }}
