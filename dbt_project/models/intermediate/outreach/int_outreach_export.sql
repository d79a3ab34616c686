-- The rows of D's call-center files (outputs.md §3), with the personal data the call
-- center needs: one row per customer per list (call, sms, exception) and dealer.
-- Read by the export DAG (baoke_outbound); not readable by BI users.
-- What the call center reads (rules §3): each code with its Chinese label beside it, the
-- lead reason's script filled in for the customer (`script_hint`), and on the SMS list
-- the message as it is sent (`sms_text`: 【dealer】, the message of every reason on the
-- row, each filled with its own facts, 回复TD退订 once if one of them is marketing); the
-- exceptions file has the mobile as the DMS holds it.
with decisions as (
    select * from {{ ref('int_outreach_decisions') }}
    where
        business_date = {{ business_date() }}
        and disposition in ('call', 'sms', 'exception')
),

reasons as (
    select * from {{ ref('outreach_reasons') }}
),

scripts as (
    select * from {{ ref('outreach_scripts') }}
),

labels as (
    select * from {{ ref('code_labels') }}
),

churn_statuses as (
    select * from {{ ref('churn_status_thresholds') }}
),

policies as (
    select * from {{ ref('stg_insurer__policies') }}
),

points as (  -- the points still good on D, as POINTS_EXPIRY counts them
    select * from {{ ref('int_customer_points') }}
),

recalls as (  -- RECALL_OPEN's event is `recall_code|vin`
    select * from {{ ref('stg_oem__recalls') }}
),

recommendations as (  -- DECLINED_WORK's event is `recommendation_id@trigger`
    select * from {{ ref('stg_dms__recommendations') }}
),

other_reasons as (  -- each other reason once (two lost cars of one customer: one 流失客户招揽)
    select distinct
        call_id,
        reason,
        priority
    from decisions
    where not is_list_row
),

secondary as (
    select
        other_reasons.call_id,
        string_agg(other_reasons.reason, '|' order by other_reasons.priority, other_reasons.reason)
            as other_reasons,
        string_agg(
            coalesce(reasons.term_zh, other_reasons.reason), '|' order by other_reasons.priority, other_reasons.reason
        ) as other_reasons_zh
    from other_reasons
    left join reasons on other_reasons.reason = reasons.reason
    group by other_reasons.call_id
),

-- Each reason on a row (the lead and the merged ones) with its own facts: its vehicle,
-- the date it is about, the policy a renewal is about (its event is the policy number);
-- the dealer is the one whose files carry the row, for every reason on it.
reason_facts as (
    select
        decisions.*,
        reasons.term_zh as reason_zh,
        reasons.kind,
        scripts.script_template,
        scripts.sms_template,
        coalesce(dealers.dealer_name, decisions.export_dealer_code) as dealer_name,
        vehicles.plate_no,
        vehicles.model,
        case when decisions.reason = 'INSURANCE_RENEWAL' then policies.end_date end as policy_end_date,
        points.points_balance,
        points.points_expire_date,
        recalls.recall_name,
        recommendations.description as recommended_work,
        recommendations.est_amount
    from decisions
    inner join reasons on decisions.reason = reasons.reason
    left join scripts on decisions.reason = scripts.reason
    left join {{ ref('stg_dms__vehicles') }} as vehicles on decisions.vin = vehicles.vin
    left join {{ ref('stg_dms__dealers') }} as dealers on decisions.export_dealer_code = dealers.dealer_code
    left join policies on decisions.reason = 'INSURANCE_RENEWAL' and decisions.event_key = policies.policy_no
    left join points on decisions.customer_id = points.customer_id
    left join recalls
        on decisions.reason = 'RECALL_OPEN' and decisions.event_key = recalls.recall_code || '|' || recalls.vin
    left join recommendations
        on
            decisions.reason = 'DECLINED_WORK'
            and split_part(decisions.event_key, '@', 1) = recommendations.recommendation_id
),

{#- What the templates' placeholders are filled with (seeds/outreach_scripts.csv): each
    value has a fallback, so that a missing plate or an unknown expiry reads naturally. -#}
{%- set placeholders = {
    'dealer': "dealer_name",
    'vehicle': "coalesce(model, '爱车') || coalesce('（' || plate_no || '）', '')",
    'plate_no': "coalesce(plate_no, '未上牌')",
    'model': "coalesce(model, '爱车')",
    'due_date': "coalesce(" ~ spoken_date('due_date') ~ ", '近期')",
    'policy_end_date': "coalesce(" ~ spoken_date('policy_end_date') ~ ", " ~ spoken_date('due_date') ~ ", '近期')",
    'points_balance': "coalesce(points_balance::text, '0')",
    'points_validity': "coalesce('将于' || " ~ spoken_date('points_expire_date') ~ " || '到期', '请尽快使用')",
    'recall_name': "coalesce(recall_name, '厂家召回')",
    'recommended_work': "coalesce(recommended_work, '做上次建议的维修项目')",
    'estimate': "coalesce('（预估' || to_char(est_amount, 'FM999999990') || '元）', '')",
} %}

filled as (
    select
        *,
        {{ fill_template('script_template', placeholders) }} as script_text,
        {{ fill_template('sms_template', placeholders) }} as sms_message,
        -- the order the row's reasons are said in: the lead first, then by priority
        row_number() over (
            partition by call_id order by not is_list_row, priority, due_date, reason, event_key
        ) as said_order
    from reason_facts
),

-- The SMS as it is sent: one signature, every reason's message in order (a message
-- already said on the row, e.g. two cars alike, once), the opt-out once at the end if
-- any of the row's reasons is marketing (each reason on the row is logged as sent).
sms_messages as (
    select
        call_id,
        dealer_name,
        kind,
        sms_message,
        said_order,
        row_number() over (partition by call_id, sms_message order by said_order) as occurrence
    from filled
    where disposition = 'sms'
),

sms_texts as (
    select
        call_id,
        '【' || dealer_name || '】'
        || string_agg(sms_message, '' order by said_order) filter (where occurrence = 1)
        || case when bool_or(kind = 'marketing') then '回复TD退订' else '' end as sms_text
    from sms_messages
    group by call_id, dealer_name
),

list_rows as (
    select
        filled.*,
        advisors.advisor_name,
        customers.customer_name,
        secondary.other_reasons,
        secondary.other_reasons_zh,
        churn.last_visit_date,
        churn.days_since_last_visit,
        churn.churn_status,
        churn_statuses.term_zh as churn_status_zh,
        slots.label_zh as preferred_slot_zh,
        queues.label_zh as queue_zh,
        sms_texts.sms_text
    from filled
    left join secondary on filled.call_id = secondary.call_id
    left join sms_texts on filled.call_id = sms_texts.call_id
    left join {{ ref('stg_dms__advisors') }} as advisors on filled.advisor_id = advisors.advisor_id
    left join {{ ref('stg_dms__customers') }} as customers on filled.customer_id = customers.customer_id
    left join {{ ref('int_vehicle_churn') }} as churn on filled.vin = churn.vin
    left join churn_statuses on churn.churn_status = churn_statuses.churn_status
    left join labels as slots on slots.code_type = 'preferred_slot' and filled.preferred_slot = slots.code
    left join labels as queues on queues.code_type = 'queue' and filled.queue = queues.code
    where filled.is_list_row
)

select
    business_date,
    disposition as list_type,
    call_id,
    business_date as list_date,
    dealer_code,
    advisor_id,
    advisor_name,
    customer_id,
    customer_name,
    mobile,
    vin,
    plate_no,
    model,
    reason as primary_reason,
    reason_zh as primary_reason_zh,
    coalesce(other_reasons, '') as other_reasons,
    coalesce(other_reasons_zh, '') as other_reasons_zh,
    due_date,
    last_visit_date,
    days_since_last_visit,
    churn_status,
    churn_status_zh,
    attempt_no,
    preferred_slot,
    preferred_slot_zh,
    priority,
    campaign_code,
    script_text as script_hint,
    queue,
    queue_zh,
    case when disposition = 'sms' then sms_text end as sms_text,
    case when disposition = 'exception' then why_not_called end as exception_reason,
    case when disposition = 'exception' then mobile_as_recorded end as mobile_as_recorded,
    case when disposition = 'sms' then 'SMS' else 'PHONE' end as channel
from list_rows
