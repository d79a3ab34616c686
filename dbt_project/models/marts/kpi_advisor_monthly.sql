-- The advisor scorecard (rules §4, §6): per advisor and month, for the `kpi_months` months
-- up to the month of D-1: the calls they were given (listed, reached, booked, and the
-- customers who came back within the reason's attribution window), their visits, the
-- satisfaction scores of the visits they did (CSI index), and the complaint cases about
-- those visits (客诉率, closed within 24 hours).
with months as (
    select
        month_start::date as month_start,
        (month_start + interval '1 month')::date <= {{ business_date() }} as month_complete
    from {{ kpi_month_series() }} as month_start
),

advisors as (
    select * from {{ ref('stg_dms__advisors') }}
),

service_quality_rules as (
    select * from {{ ref('service_quality_rules') }}
),

reasons as (
    select * from {{ ref('outreach_reasons') }}
),

-- (not materialized: the return lookup below must reach int_visits' customer index)
all_visits as not materialized (
    select * from {{ ref('int_visits') }}
),

grid as (
    select
        advisors.advisor_id,
        advisors.dealer_code,
        months.month_start,
        months.month_complete
    from advisors cross join months
),

call_rows as (
    select
        outreach.advisor_id,
        outreach.list_date,
        outreach.reached,
        outreach.booked,
        outreach.list_date + reasons.attribution_days as window_end,
        exists(
            select from all_visits
            where
                all_visits.customer_id = outreach.customer_id
                and all_visits.visit_date > outreach.list_date
                and all_visits.visit_date <= outreach.list_date + reasons.attribution_days
                and all_visits.visit_date < {{ business_date() }}
        ) as returned
    from {{ ref('fct_outreach') }} as outreach
    inner join reasons on outreach.primary_reason = reasons.reason
    where outreach.list_type = 'call' and outreach.advisor_id is not null
),

calls as (
    select
        advisor_id,
        date_trunc('month', list_date)::date as month_start,
        count(*) as calls_listed,
        count(*) filter (where reached) as calls_reached,
        count(*) filter (where booked) as calls_booked,
        count(*) filter (where returned) as calls_returned,
        max(window_end) as last_window_end
    from call_rows
    group by 1, 2
),

visits as (
    select
        advisor_id,
        date_trunc('month', visit_date)::date as month_start,
        count(*) as visits
    from all_visits
    where visit_date < {{ business_date() }}
    group by 1, 2
),

csi as (
    select
        advisor_id,
        month as month_start,
        count(*) as csi_responses,
        avg(csi_score) as csi_mean
    from {{ ref('int_csi_responses') }}
    where advisor_id is not null
    group by 1, 2
),

complaints as (
    select
        advisor_id,
        date_trunc('month', opened_date)::date as month_start,
        count(*) as complaint_cases,
        count(*) filter (where closure_sla <> 'pending') as complaints_closure_due,
        count(*) filter (where closure_sla = 'met') as complaints_closed_in_24h,
        count(*) filter (where closure_sla = 'pending') as complaints_pending
    from {{ ref('int_complaint_case_levels') }}
    where advisor_id is not null and opened_date < {{ business_date() }}
    group by 1, 2
)

select
    grid.advisor_id,
    grid.dealer_code,
    grid.month_start as month,
    coalesce(calls.calls_listed, 0) as calls_listed,
    coalesce(calls.calls_reached, 0) as calls_reached,
    coalesce(calls.calls_booked, 0) as calls_booked,
    coalesce(calls.calls_returned, 0) as calls_returned,
    coalesce(visits.visits, 0) as visits,
    coalesce(csi.csi_responses, 0) as csi_responses,
    round(csi.csi_mean / 5 * 100, 2)::numeric(5, 2) as csi_index,
    service_quality_rules.csi_target::numeric(5, 2) as csi_target,
    coalesce(complaints.complaint_cases, 0) as complaint_cases,
    round(complaints.complaint_cases::numeric / nullif(visits.visits, 0), 4)::numeric(7, 4) as complaint_rate,
    round(
        complaints.complaints_closed_in_24h::numeric / nullif(complaints.complaints_closure_due, 0), 4
    )::numeric(5, 4) as complaints_closed_in_24h_rate,
    grid.month_complete as is_final,
    grid.month_complete and coalesce(calls.last_window_end < {{ business_date() }}, true) as calls_returned_is_final,
    grid.month_complete and coalesce(complaints.complaints_pending, 0) = 0 as complaints_closed_in_24h_rate_is_final
from grid
cross join service_quality_rules
left join calls on grid.advisor_id = calls.advisor_id and grid.month_start = calls.month_start
left join visits on grid.advisor_id = visits.advisor_id and grid.month_start = visits.month_start
left join csi on grid.advisor_id = csi.advisor_id and grid.month_start = csi.month_start
left join complaints on grid.advisor_id = complaints.advisor_id and grid.month_start = complaints.month_start
