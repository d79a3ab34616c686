-- Rules §6: while a customer's complaint case is open, no `marketing` reason and no
-- DECLINED_WORK of theirs is on a call or SMS list (as the case stands in
-- fct_complaint_case for D, the service manager's view). Returns the rows that break it.
-- Each build checks the day it decides (D); earlier days were checked by their own builds.
select
    cases.case_id,
    decisions.call_id,
    decisions.reason,
    decisions.customer_id
from {{ ref('int_outreach_decisions') }} as decisions
inner join {{ ref('outreach_reasons') }} as reasons on decisions.reason = reasons.reason
inner join {{ ref('fct_complaint_case') }} as cases
    on decisions.customer_id = cases.customer_id and cases.is_open
where
    decisions.disposition in ('call', 'sms')
    and decisions.business_date = {{ business_date() }}
    and (reasons.kind = 'marketing' or decisions.reason = 'DECLINED_WORK')
