-- Complaint cases (投诉处理, rules §6) as of D, with their service levels and visit: answered within
-- `response_hours` (1) of opening and closed within `closure_hours` (24), both from the
-- DMS times (an unregistered case from the call: it has no answer on record, and one
-- that lapsed breached both). A level not yet due is `pending`; an open case past it
-- is `breached` already. One row per case.
with cases as (
    select * from {{ ref('int_complaint_cases') }}
),

visits as (
    select * from {{ ref('int_visits') }}
),

service_quality_rules as (
    select * from {{ ref('service_quality_rules') }}
),

timed as (
    select
        cases.*,
        cases.service_level_start + make_interval(hours => service_quality_rules.response_hours) as respond_by,
        cases.service_level_start + make_interval(hours => service_quality_rules.closure_hours) as close_by
    from cases
    cross join service_quality_rules
),

levels as (
    select
        timed.*,
        case
            when not timed.is_registered then 'breached'
            -- a complaint closed with no answer on record was answered by its closing
            when coalesce(timed.first_response_at, timed.closed_at) <= timed.respond_by then 'met'
            when coalesce(timed.first_response_at, timed.closed_at) is not null then 'breached'
            when timed.closed_at is not null or timed.respond_by < {{ business_day_start() }} then 'breached'
            else 'pending'
        end as response_sla,
        case
            when timed.case_status = 'lapsed_unregistered' then 'breached'
            when timed.closed_at <= timed.close_by then 'met'
            when timed.closed_at is not null then 'breached'
            when timed.close_by < {{ business_day_start() }} then 'breached'
            else 'pending'
        end as closure_sla
    from timed
)

select
    levels.case_id,
    levels.dealer_code,
    levels.customer_id,
    coalesce(levels.vin, visits.vin) as vin,
    levels.ro_number,
    visits.visit_date,
    visits.service_type,
    visits.advisor_id,
    levels.complaint_id,
    levels.call_id,
    levels.case_source,
    levels.complaint_category,
    levels.severity,
    levels.csi_score,
    levels.customer_said,
    levels.opened_at,
    (levels.opened_at at time zone 'Asia/Shanghai')::date as opened_date,
    levels.service_level_start,
    levels.first_response_at,
    levels.closed_at,
    (levels.closed_at at time zone 'Asia/Shanghai')::date as closed_date,
    levels.is_registered,
    levels.case_status,
    levels.case_status in ('open', 'responded', 'unregistered') as is_open,
    levels.respond_by,
    levels.close_by,
    levels.response_sla,
    levels.closure_sla,
    levels.response_sla = 'met' as responded_within_1h,
    levels.closure_sla = 'met' as closed_within_24h,
    case
        when levels.response_sla = 'breached' and levels.closure_sla = 'breached' then 'both'
        when levels.response_sla = 'breached' then 'response'
        when levels.closure_sla = 'breached' then 'closure'
    end as breached
from levels
left join visits on levels.ro_number = visits.ro_number
