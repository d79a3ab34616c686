-- Rules §3: after a DO_NOT_CALL outcome a customer gets SMS for `service` reasons only (an
-- objection to being contacted for marketing covers SMS too): no `marketing` reason of
-- theirs is on an SMS list, or on anyone's list, once the outcome was received (in an
-- outcome file loaded before the list's business date). Returns the rows that break it.
-- Each build checks the day it decides (D); earlier days were checked by their own builds.
select
    decisions.business_date,
    decisions.customer_id,
    decisions.reason,
    decisions.disposition,
    decisions.call_id,
    outcomes.call_id as do_not_call_on
from {{ ref('int_outreach_decisions') }} as decisions
inner join {{ ref('outreach_reasons') }} as reasons
    on decisions.reason = reasons.reason and reasons.kind = 'marketing'
inner join {{ ref('stg_callcenter__outcomes') }} as outcomes
    on
        decisions.customer_id = outcomes.customer_id
        and decisions.business_date > outcomes.file_date
inner join {{ ref('outcome_codes') }} as codes on outcomes.outcome = codes.outcome and codes.blocks_calls
where decisions.disposition in ('call', 'sms') and decisions.business_date = {{ business_date() }}
