-- Rules §3: a customer who said DO_NOT_CALL (an outcome that blocks calls) is never on a phone list again once the
-- outcome was received (in an outcome file loaded before the list's business date).
-- Returns the call-list rows that break it.
-- Each build checks the day it decides (D); earlier days were checked by their own builds.
select
    decisions.business_date,
    decisions.customer_id,
    decisions.call_id,
    outcomes.call_id as do_not_call_on
from {{ ref('int_outreach_decisions') }} as decisions
inner join {{ ref('stg_callcenter__outcomes') }} as outcomes
    on
        decisions.customer_id = outcomes.customer_id
        and decisions.business_date > outcomes.file_date
inner join {{ ref('outcome_codes') }} as codes on outcomes.outcome = codes.outcome and codes.blocks_calls
where decisions.disposition = 'call' and decisions.business_date = {{ business_date() }}
