-- The monthly report (月度汇报, rules §4) per dealer, for the `kpi_months` months up to
-- the month of D-1 (the current month so far). Rates are null when nothing was due.
with months as (
    select
        month_start::date as month_start,
        least((month_start + interval '1 month - 1 day')::date, {{ business_date() }} - 1) as month_end
    from {{ kpi_month_series() }} as month_start
),

dealers as (
    select dealer_code from {{ ref('stg_dms__dealers') }}
),

grid as (
    select
        dealers.dealer_code,
        months.month_start,
        months.month_end
    from dealers cross join months
),

-- (not materialized: each figure below reads the visits by its own plan, instead of a
-- copy of every visit)
visits as not materialized (
    select * from {{ ref('int_visits') }}
),

visit_figures as (
    select
        dealer_code,
        date_trunc('month', visit_date)::date as month_start,
        count(*) as visits,
        count(*) filter (where appointment_id is not null) as visits_with_appointment,
        sum(total_amount) as revenue
    from visits
    where visit_date >= (select min(months.month_start) from months)
    group by 1, 2
),

-- 首保回厂率: vehicles whose 180-day window after delivery ended in the month
first_service_windows as (
    select
        vehicles.vin,
        vehicles.selling_dealer_code as dealer_code,
        vehicles.delivery_date,
        date_trunc('month', vehicles.delivery_date + {{ var('first_service_window_days') }})::date as month_start
    from {{ ref('stg_dms__vehicles') }} as vehicles
    where
        vehicles.delivery_date + {{ var('first_service_window_days') }} < {{ business_date() }}
        and vehicles.delivery_date + {{ var('first_service_window_days') }}
        >= (select min(months.month_start) from months)
        and vehicles.selling_dealer_code is not null
),

first_service_returns as (
    select distinct windows.vin
    from first_service_windows as windows
    inner join visits
        on
            windows.vin = visits.vin and visits.service_type = 'FIRST_SERVICE'
            and windows.delivery_date < visits.visit_date
            and visits.visit_date <= windows.delivery_date + {{ var('first_service_window_days') }}
),

first_service as (
    select
        windows.dealer_code,
        windows.month_start,
        count(*) as first_service_due,
        count(returns.vin) as first_service_returned
    from first_service_windows as windows
    left join first_service_returns as returns on windows.vin = returns.vin
    group by 1, 2
),

-- 定保回厂率: maintenance due dates in the month, returned within ±30 days
maintenance_dues as (
    select
        due.vin,
        due.visit_date,
        due.due_date,
        due.dealer_code,
        date_trunc('month', due.due_date)::date as month_start
    from {{ ref('int_maintenance_due') }} as due
    where
        due.due_date < {{ business_date() }}
        and due.due_date >= (select min(months.month_start) from months)
),

maintenance_returns as (
    select distinct
        dues.vin,
        dues.visit_date,
        dues.due_date
    from maintenance_dues as dues
    inner join visits
        on
            dues.vin = visits.vin and visits.service_type in ('FIRST_SERVICE', 'MAINTENANCE')
            and dues.visit_date < visits.visit_date
            and visits.visit_date between dues.due_date - {{ var('maintenance_return_days') }}
            and dues.due_date + {{ var('maintenance_return_days') }}
),

maintenance as (
    select
        dues.dealer_code,
        dues.month_start,
        count(*) as maintenance_due,
        count(returns.vin) as maintenance_returned
    from maintenance_dues as dues
    left join maintenance_returns as returns
        on dues.vin = returns.vin and dues.visit_date = returns.visit_date and dues.due_date = returns.due_date
    group by 1, 2
),

-- 提醒率: of the month's due events that could be contacted, the share attempted
-- (int_reminder_due_events; per reason: kpi_reminder_monthly)
reminders as (
    select
        dealer_code,
        month as month_start,
        count(*) as reminders_due,
        count(*) filter (where is_attempted) as reminders_attempted,
        bool_or(is_open) as any_open
    from {{ ref('int_reminder_due_events') }}
    where
        is_contactable
        and first_due_date < {{ business_date() }}
        and month >= (select min(months.month_start) from months)
    group by 1, 2
),

-- 流失率: the active base at month end, from the visit history (rules §2 applied on the
-- day after the month's last day, or on D for the current month)
churn as (
    select
        dealer_code,
        month as month_start,
        sum(vehicles)::bigint as active_base,
        coalesce(sum(vehicles) filter (where churn_status in ('at_risk', 'churned')), 0)::bigint as churned_or_at_risk
    from {{ ref('int_churn_monthly_counts') }}
    group by 1, 2
),

-- 续保率 (rules §7): commercial policies the dealer sold (出单机构) ending in the month, up
-- to D-1, renewed (int_policy_renewals: a later commercial policy on the VIN starting 45
-- days before to 30 days after the end) through the group, or anywhere
renewals as (
    select
        issuing_dealer_code as dealer_code,
        date_trunc('month', end_date)::date as month_start,
        count(*) as renewals_due,
        count(*) filter (where is_renewed_via_group) as renewed_via_dealer,
        count(*) filter (where is_renewed_anywhere) as renewed_anywhere
    from {{ ref('int_policy_renewals') }}
    where
        coverage = 'commercial'
        and end_date < {{ business_date() }}
        and end_date >= (select min(months.month_start) from months)
    group by 1, 2
),

-- 召回完成率: the vehicles on the dealer's recall listings by the month's last day (a
-- recall published by then), and the share complete by then (int_recall_status)
recall_figures as (
    select
        grid.dealer_code,
        grid.month_start,
        count(*) as recall_vehicles_affected,
        count(*) filter (where recalls.completed_date <= grid.month_end) as recall_vehicles_completed
    from grid
    inner join {{ ref('int_recall_status') }} as recalls
        on grid.dealer_code = recalls.dealer_code and grid.month_end >= recalls.published_date
    group by 1, 2
),

-- 未修项目回修率: the month's declined or deferred recommendations (by the visit's
-- date), the share done within 90 days, for the followed-up and the held-out
declined_work as (
    select
        dealer_code,
        date_trunc('month', recommended_date)::date as month_start,
        count(*) as declined_work,
        count(*) filter (where is_recaptured) as declined_work_recaptured,
        count(*) filter (where followup_group = 'followed_up') as declined_work_followed_up,
        count(*) filter (where followup_group = 'followed_up' and is_recaptured)
            as declined_work_followed_up_recaptured,
        count(*) filter (where followup_group = 'held_out') as declined_work_held_out,
        count(*) filter (where followup_group = 'held_out' and is_recaptured) as declined_work_held_out_recaptured
    from {{ ref('int_recommendation_followups') }}
    where
        recommended_date < {{ business_date() }}
        and recommended_date >= (select min(months.month_start) from months)
    group by 1, 2
),

-- 满意度, 客诉率, 24小时结案率 (rules §6): the month's scores, and the cases opened in it
service_quality_rules as (
    select * from {{ ref('service_quality_rules') }}
),

csi as (
    select
        dealer_code,
        month as month_start,
        count(*) as csi_responses,
        avg(csi_score) as csi_mean
    from {{ ref('int_csi_responses') }}
    where month >= (select min(months.month_start) from months)
    group by 1, 2
),

complaints as (
    select
        dealer_code,
        date_trunc('month', opened_date)::date as month_start,
        count(*) as complaint_cases,
        count(*) filter (where closure_sla <> 'pending') as complaints_closure_due,
        count(*) filter (where closure_sla = 'met') as complaints_closed_in_24h,
        count(*) filter (where closure_sla = 'pending') as complaints_pending
    from {{ ref('int_complaint_case_levels') }}
    where opened_date >= (select min(months.month_start) from months) and opened_date < {{ business_date() }}
    group by 1, 2
),

-- is_final: no window feeding the figure is still open on D
finality as (
    select
        grid.dealer_code,
        grid.month_start,
        grid.month_start + interval '1 month' <= {{ business_date() }} as month_complete,
        (grid.month_start + interval '1 month')::date + {{ var('maintenance_return_days') }}
        <= {{ business_date() }} as maintenance_windows_closed,
        -- a renewal can start up to 30 days after the end date: the month's last end
        -- date's window closes 30 days after the month's last day
        (grid.month_start + interval '1 month')::date + {{ var('renewal_days_after_end') }}
        <= {{ business_date() }} as renewal_windows_closed,
        (grid.month_start + interval '1 month')::date - 1 + {{ var('recapture_days') }}
        < {{ business_date() }} as recapture_windows_closed
    from grid
)

select
    grid.dealer_code,
    grid.month_start as month,
    grid.month_end as figures_through,
    coalesce(visit_figures.visits, 0) as visits,
    coalesce(visit_figures.revenue, 0)::numeric(14, 2) as revenue,
    round(visit_figures.revenue / nullif(visit_figures.visits, 0), 2)::numeric(12, 2) as revenue_per_visit,
    round(visit_figures.visits_with_appointment::numeric / nullif(visit_figures.visits, 0), 4)::numeric(5, 4)
        as appointment_rate,
    coalesce(first_service.first_service_due, 0) as first_service_due,
    round(first_service.first_service_returned::numeric / nullif(first_service.first_service_due, 0), 4)::numeric(5, 4)
        as first_service_return_rate,
    coalesce(maintenance.maintenance_due, 0) as maintenance_due,
    round(maintenance.maintenance_returned::numeric / nullif(maintenance.maintenance_due, 0), 4)::numeric(5, 4)
        as maintenance_return_rate,
    coalesce(reminders.reminders_due, 0) as reminders_due,
    round(reminders.reminders_attempted::numeric / nullif(reminders.reminders_due, 0), 4)::numeric(5, 4)
        as reminder_completion_rate,
    coalesce(churn.active_base, 0) as active_base,
    round(churn.churned_or_at_risk::numeric / nullif(churn.active_base, 0), 4)::numeric(5, 4) as churn_rate,
    coalesce(renewals.renewals_due, 0) as renewals_due,
    round(renewals.renewed_via_dealer::numeric / nullif(renewals.renewals_due, 0), 4)::numeric(5, 4)
        as renewal_rate_via_dealer,
    round(renewals.renewed_anywhere::numeric / nullif(renewals.renewals_due, 0), 4)::numeric(5, 4)
        as renewal_rate_anywhere,
    coalesce(csi.csi_responses, 0) as csi_responses,
    round(csi.csi_mean / 5 * 100, 2)::numeric(5, 2) as csi_index,
    service_quality_rules.csi_target::numeric(5, 2) as csi_target,
    coalesce(complaints.complaint_cases, 0) as complaint_cases,
    round(coalesce(complaints.complaint_cases, 0)::numeric / nullif(visit_figures.visits, 0), 4)::numeric(7, 4)
        as complaint_rate,
    round(
        complaints.complaints_closed_in_24h::numeric / nullif(complaints.complaints_closure_due, 0), 4
    )::numeric(5, 4) as complaints_closed_in_24h_rate,
    finality.month_complete as visits_is_final,
    finality.month_complete as revenue_is_final,
    finality.month_complete as appointment_rate_is_final,
    -- the windows counted in the month are those that ended in it, up to D-1
    finality.month_complete as first_service_return_rate_is_final,
    finality.maintenance_windows_closed as maintenance_return_rate_is_final,
    finality.month_complete and not coalesce(reminders.any_open, false) as reminder_completion_rate_is_final,
    finality.month_complete as churn_rate_is_final,
    finality.renewal_windows_closed as renewal_rate_via_dealer_is_final,
    finality.renewal_windows_closed as renewal_rate_anywhere_is_final,
    coalesce(recall_figures.recall_vehicles_affected, 0) as recall_vehicles_affected,
    round(
        recall_figures.recall_vehicles_completed::numeric / nullif(recall_figures.recall_vehicles_affected, 0), 4
    )::numeric(5, 4) as recall_completion_rate,
    finality.month_complete as recall_completion_rate_is_final,
    coalesce(declined_work.declined_work, 0) as declined_work,
    round(declined_work.declined_work_recaptured::numeric / nullif(declined_work.declined_work, 0), 4)::numeric(5, 4)
        as declined_work_recapture_rate,
    coalesce(declined_work.declined_work_followed_up, 0) as declined_work_followed_up,
    round(
        declined_work.declined_work_followed_up_recaptured::numeric
        / nullif(declined_work.declined_work_followed_up, 0),
        4
    )::numeric(5, 4) as declined_work_recapture_rate_followed_up,
    coalesce(declined_work.declined_work_held_out, 0) as declined_work_held_out,
    round(
        declined_work.declined_work_held_out_recaptured::numeric / nullif(declined_work.declined_work_held_out, 0), 4
    )::numeric(5, 4) as declined_work_recapture_rate_held_out,
    finality.recapture_windows_closed as declined_work_recapture_rate_is_final,
    finality.month_complete as csi_index_is_final,
    finality.month_complete as complaint_rate_is_final,
    finality.month_complete and coalesce(complaints.complaints_pending, 0) = 0 as complaints_closed_in_24h_rate_is_final
from grid
cross join service_quality_rules
inner join finality using (dealer_code, month_start)
left join visit_figures using (dealer_code, month_start)
left join first_service using (dealer_code, month_start)
left join maintenance using (dealer_code, month_start)
left join reminders using (dealer_code, month_start)
left join churn using (dealer_code, month_start)
left join renewals using (dealer_code, month_start)
left join recall_figures using (dealer_code, month_start)
left join declined_work using (dealer_code, month_start)
left join csi using (dealer_code, month_start)
left join complaints using (dealer_code, month_start)
