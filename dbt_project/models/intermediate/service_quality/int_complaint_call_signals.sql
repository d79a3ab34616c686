-- What the call center heard that opens a complaint case (rules §6): a customer who
-- complained on a call (`complaint_category`), or gave a `csi_score` of 2 or less on a
-- follow-up call (a hot alert). One row per call (list row), at its first such outcome,
-- with the visit the call followed up (the repair order of a POST_SERVICE_FOLLOWUP row,
-- from the lists as sent: D's own decisions depend on the cases, not the reverse).
with outcomes as (
    select * from {{ ref('stg_callcenter__outcomes') }}
),

sent as (
    select * from {{ ref('stg_platform__outreach_log') }}
),

service_quality_rules as (
    select * from {{ ref('service_quality_rules') }}
),

signals as (
    select distinct on (outcomes.call_id)
        outcomes.call_id,
        outcomes.dealer_code,
        outcomes.customer_id,
        outcomes.called_at,
        outcomes.complaint_category,
        outcomes.csi_score,
        outcomes.note,
        outcomes.complaint_category is null as is_hot_alert
    from outcomes
    cross join service_quality_rules
    where
        outcomes.complaint_category is not null
        or outcomes.csi_score <= service_quality_rules.hot_alert_max_csi
    order by outcomes.call_id asc, outcomes.called_at asc, outcomes.attempt_no asc
),

list_rows as (
    select distinct on (call_id)
        call_id,
        reason,
        vin,
        event_key
    from sent
    where is_list_row
    order by call_id asc, business_date desc
)

select
    signals.call_id,
    signals.dealer_code,
    signals.customer_id,
    list_rows.vin,
    case when list_rows.reason = 'POST_SERVICE_FOLLOWUP' then list_rows.event_key end as ro_number,
    list_rows.reason as call_reason,
    signals.called_at,
    signals.complaint_category,
    signals.csi_score,
    signals.is_hot_alert,
    signals.note
from signals
left join list_rows on signals.call_id = list_rows.call_id
