-- The rows of D's call-center files (outputs.md §3), with the personal data the call
-- center needs: one row per customer per list (call, sms, exception) and dealer.
-- Read by the export DAG (baoke_outbound); not readable by BI users.
with decisions as (
    select * from {{ ref('int_outreach_decisions') }}
    where
        business_date = {{ business_date() }}
        and disposition in ('call', 'sms', 'exception')
),

secondary as (
    select
        call_id,
        string_agg(reason, '|' order by priority, reason) as other_reasons
    from decisions
    where not is_list_row
    group by call_id
),

reasons as (
    select * from {{ ref('outreach_reasons') }}
)

select
    decisions.business_date,
    decisions.disposition as list_type,
    decisions.call_id,
    decisions.business_date as list_date,
    decisions.dealer_code,
    decisions.advisor_id,
    advisors.advisor_name,
    decisions.customer_id,
    customers.customer_name,
    decisions.mobile,
    decisions.vin,
    vehicles.plate_no,
    vehicles.model,
    decisions.reason as primary_reason,
    coalesce(secondary.other_reasons, '') as other_reasons,
    decisions.due_date,
    churn.last_visit_date,
    churn.days_since_last_visit,
    churn.churn_status,
    decisions.attempt_no,
    decisions.preferred_slot,
    decisions.priority,
    decisions.campaign_code,
    replace(reasons.script_hint, '{dealer}', coalesce(dealers.dealer_name, decisions.dealer_code)) as script_hint,
    case when decisions.disposition = 'exception' then decisions.why_not_called end as exception_reason,
    case when decisions.disposition = 'sms' then 'SMS' else 'PHONE' end as channel
from decisions
inner join reasons on decisions.reason = reasons.reason
left join secondary on decisions.call_id = secondary.call_id
left join {{ ref('stg_dms__advisors') }} as advisors on decisions.advisor_id = advisors.advisor_id
left join {{ ref('stg_dms__customers') }} as customers on decisions.customer_id = customers.customer_id
left join {{ ref('stg_dms__vehicles') }} as vehicles on decisions.vin = vehicles.vin
left join {{ ref('int_vehicle_churn') }} as churn on decisions.vin = churn.vin
left join {{ ref('stg_dms__dealers') }} as dealers on decisions.dealer_code = dealers.dealer_code
where decisions.is_list_row
