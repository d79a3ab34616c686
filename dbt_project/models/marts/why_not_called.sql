-- The dealer's question "why wasn't this customer called?" (rules §3): every candidate
-- of the day that is not the lead reason of a phone-list row, with the reason it is
-- not (holdout, completed, in workshop, sold or moved, no consent, invalid or wrong
-- number, advisor cap, SMS only, listed as another reason of the same call...).
select
    business_date,
    customer_id,
    vin,
    dealer_code,
    reason,
    event_key,
    due_date,
    source,
    disposition,
    coalesce(
        why_not_called,
        case when disposition = 'sms' then 'sms_list' end
    ) as why_not_called,
    call_id
from {{ ref('int_outreach_decisions') }}
where not (disposition = 'call' and is_list_row)
