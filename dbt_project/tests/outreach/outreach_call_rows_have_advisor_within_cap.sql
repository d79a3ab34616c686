-- Rules §3 "who calls": every call-list row has a person who calls and a queue, and on D
-- nobody has more call-list rows than their role's cap (seed queue_caps, else
-- max_calls_per_advisor; the rest overflow to the next day; earlier days may have run
-- with another cap). Returns the offending people.
-- Each build checks the day it decides (D); earlier days were checked by their own builds.
with decisions as (
    select * from {{ ref('int_outreach_decisions') }}
    where disposition = 'call' and is_list_row and business_date = {{ business_date() }}
),

queue_caps as (
    select * from {{ ref('queue_caps') }}
)

select
    decisions.business_date,
    decisions.advisor_id,
    decisions.queue,
    count(*) as rows_assigned
from decisions
left join queue_caps on decisions.queue = queue_caps.queue
group by decisions.business_date, decisions.advisor_id, decisions.queue
having
    decisions.advisor_id is null or decisions.queue is null
    or count(*) > coalesce(max(queue_caps.max_calls), {{ var('max_calls_per_advisor') }})
