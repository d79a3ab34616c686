-- Satisfaction scores (满意度, rules §6): each follow-up call on which the customer gave a
-- `csi_score` (its first scored outcome), with the month it was given in and the visit
-- followed up and its service advisor (POST_SERVICE_FOLLOWUP: the list row's repair
-- order). One row per call.
with outcomes as (
    select * from {{ ref('stg_callcenter__outcomes') }}
),

sent as (
    select * from {{ ref('stg_platform__outreach_log') }}
),

visits as (
    select * from {{ ref('int_visits') }}
),

scores as (
    select distinct on (call_id)
        call_id,
        dealer_code,
        customer_id,
        called_at,
        csi_score
    from outcomes
    where csi_score is not null
    order by call_id asc, called_at asc, attempt_no asc
),

list_rows as (
    select distinct on (call_id)
        call_id,
        reason,
        event_key
    from sent
    where is_list_row
    order by call_id asc, business_date desc
)

select
    scores.call_id,
    scores.dealer_code,
    scores.customer_id,
    scores.called_at,
    date_trunc('month', scores.called_at at time zone 'Asia/Shanghai')::date as month,
    scores.csi_score,
    list_rows.reason as call_reason,
    visits.ro_number,
    visits.advisor_id
from scores
left join list_rows on scores.call_id = list_rows.call_id
left join visits on list_rows.reason = 'POST_SERVICE_FOLLOWUP' and list_rows.event_key = visits.ro_number
