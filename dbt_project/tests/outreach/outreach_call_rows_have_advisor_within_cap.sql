-- Rules §3 "who calls": every call-list row has an advisor, and on D no advisor has more
-- than max_calls_per_advisor call-list rows (the rest overflow to the next day; earlier
-- days may have run with another cap). Returns the offending advisors.
select business_date, advisor_id, count(*) as rows_assigned
from {{ ref('int_outreach_decisions') }}
where disposition = 'call' and is_list_row
group by business_date, advisor_id
having advisor_id is null
    or (count(*) > {{ var('max_calls_per_advisor') }} and business_date = {{ business_date() }})
