-- What the calls changed (rules §5), per campaign, dealer and month (of a unit's due day).
-- Every outreach reason is a standing campaign measured against its holdout, by
-- intention to treat: the treated group is every due customer the reason would lead the
-- list row for (on a phone or SMS list, reached or not) and who was not held out; the
-- control group, the same customers held out. A unit returns if the customer has a visit within the
-- reason's attribution window after its due day; for INSURANCE_RENEWAL the outcome is
-- a renewal through the group instead (rules §7, int_policy_renewals): a later policy of
-- the due policy's coverage on the vehicle, starting from 45 days before to 30 days after
-- the due policy's end, sold by a group dealer; its window is open until 30 days after
-- that end. Uplift = treated rate − holdout rate, with
-- Newcomb's 95% score interval and a two-proportion z-test p-value (none, and said so,
-- without a holdout). DMS campaigns are measured by their redemptions (repair orders
-- carrying the campaign code), with their cost spread over the days of their run, so
-- that each month of the run shows its cost beside its revenue.
-- A unit's attempts, reach, bookings and cost are those of its list row and of the rows
-- that follow it up (further attempts, a callback, a row carried over the advisor cap):
-- the same customer, reason and due event, until the event is due again.
-- A unit is a due event on the day it is newly due (intention to treat): held out, or
-- treated whatever came next - called, carried over the advisors' cap and called later,
-- or carried until it expired. The holdout is drawn that day, before the cap (rules §5).
-- Counting a carried unit from the day it got its place instead would drop the customers
-- who came back while they waited, and keep them in the holdout.
with due_events as (
    select
        *,
        lead(business_date) over (partition by customer_id, reason, event_key order by business_date)
            as next_due_date
    from {{ ref('int_outreach_history') }}
    where source = 'due'
),

decisions as (
    select * from due_events
    where routing_without_holdout in ('call', 'sms') and leads_without_holdout
),

list_rows as (
    select distinct
        business_date,
        customer_id,
        reason,
        event_key,
        call_id
    from {{ ref('int_outreach_history') }}
    where disposition in ('call', 'sms')
),

-- the due events still carried over the cap tonight: their unit may yet be called, so its
-- month's figures are not final
still_carried as (
    select distinct
        customer_id,
        reason,
        event_key
    from {{ ref('int_outreach_history') }}
    where business_date = {{ business_date() }} and disposition = 'overflow'
),

reasons as (
    select * from {{ ref('outreach_reasons') }}
),

-- (not materialized: the return lookup below must reach int_visits' customer index)
visits as not materialized (
    select * from {{ ref('int_visits') }}
),

-- INSURANCE_RENEWAL units: the due policy (the unit's event) renewed through the group,
-- per rules §7 (int_policy_renewals: a later policy of the same coverage starting from 45
-- days before to 30 days after its end date, sold by a group dealer)
policy_renewals as (
    select * from {{ ref('int_policy_renewals') }}
),

unit_calls as (
    select distinct
        decisions.business_date,
        decisions.customer_id,
        decisions.reason,
        decisions.event_key,
        list_rows.call_id
    from decisions
    inner join list_rows
        on
            decisions.customer_id = list_rows.customer_id
            and decisions.reason = list_rows.reason
            and decisions.event_key = list_rows.event_key
            and decisions.business_date <= list_rows.business_date
            and (decisions.next_due_date is null or decisions.next_due_date > list_rows.business_date)
),

-- the units that got a list row (on their due day, or carried and placed later), with
-- what the call center reported for it and its follow-ups
results as (
    select
        unit_calls.business_date,
        unit_calls.customer_id,
        unit_calls.reason,
        unit_calls.event_key,
        sum(call_results.attempts_reported) as attempts,
        bool_or(call_results.reached) as reached,
        bool_or(call_results.booked) as booked,
        sum(call_results.sms_reported) as sms_sent
    from unit_calls
    left join {{ ref('int_outreach_call_results') }} as call_results on unit_calls.call_id = call_results.call_id
    group by unit_calls.business_date, unit_calls.customer_id, unit_calls.reason, unit_calls.event_key
),

units as (
    select
        decisions.campaign_code,
        decisions.reason,
        decisions.dealer_code,
        date_trunc('month', decisions.business_date)::date as month,
        decisions.disposition = 'holdout' as is_holdout,
        results.customer_id is not null as is_listed,
        coalesce(results.attempts, 0) > 0 as is_attempted,
        coalesce(results.reached, false) as is_reached,
        coalesce(results.booked, false) as is_booked,
        coalesce(results.attempts, 0) - coalesce(results.sms_sent, 0) as calls_made,
        coalesce(results.sms_sent, 0) as sms_sent,
        still_carried.customer_id is null and case
            -- a renewal can come until 30 days after the due policy's end
            when decisions.reason = 'INSURANCE_RENEWAL'
                then coalesce(
                    policy_renewals.is_window_closed,
                    decisions.due_date + {{ var('renewal_days_after_end') }} < {{ business_date() }}
                )
            else decisions.business_date + reasons.attribution_days < {{ business_date() }}
        end as window_complete,
        case
            when decisions.reason = 'INSURANCE_RENEWAL' then policy_renewals.group_renewal_premium
            else return_visit.total_amount
        end as return_revenue,
        case
            when decisions.reason = 'INSURANCE_RENEWAL' then coalesce(policy_renewals.is_renewed_via_group, false)
            else return_visit.ro_number is not null
        end as has_returned
    from decisions
    inner join reasons on decisions.reason = reasons.reason
    left join still_carried
        on
            decisions.next_due_date is null
            and decisions.customer_id = still_carried.customer_id
            and decisions.reason = still_carried.reason
            and decisions.event_key = still_carried.event_key
    left join results
        on
            decisions.business_date = results.business_date
            and decisions.customer_id = results.customer_id
            and decisions.reason = results.reason
            and decisions.event_key = results.event_key
    left join policy_renewals
        on decisions.reason = 'INSURANCE_RENEWAL' and decisions.event_key = policy_renewals.policy_no
    left join lateral (
        select
            visits.ro_number,
            visits.total_amount
        from visits
        where
            decisions.reason <> 'INSURANCE_RENEWAL'
            and visits.customer_id = decisions.customer_id
            and visits.visit_date > decisions.business_date
            and visits.visit_date <= decisions.business_date + reasons.attribution_days
        order by visits.visit_date, visits.ro_number
        limit 1
    ) as return_visit on true
),

reason_campaigns as (
    select
        campaign_code,
        reason,
        'outreach' as campaign_source,
        dealer_code,
        month,
        count(*) as due,
        count(*) filter (where is_holdout) as held_out,
        count(*) filter (where not is_holdout and is_listed) as listed,
        count(*) filter (where is_attempted) as attempted,
        count(*) filter (where is_reached) as reached,
        count(*) filter (where is_booked) as booked,
        bool_and(window_complete) as attribution_complete,
        count(*) filter (where not is_holdout) as treated_units,
        count(*) filter (where not is_holdout and has_returned) as treated_returned,
        count(*) filter (where is_holdout and has_returned) as holdout_returned,
        coalesce(sum(return_revenue) filter (where not is_holdout), 0) as return_revenue,
        sum(calls_made) * {{ var('cost_per_call') }} + sum(sms_sent) * {{ var('cost_per_sms') }} as cost
    from units
    group by campaign_code, reason, dealer_code, month
),

tested as (
    select
        reason_campaigns.*,
        reason_campaigns.treated_returned::numeric / nullif(reason_campaigns.treated_units, 0) as treated_rate,
        reason_campaigns.holdout_returned::numeric / nullif(reason_campaigns.held_out, 0) as holdout_rate,
        {{ newcomb_bound('reason_campaigns.treated_returned', 'reason_campaigns.treated_units',
                         'reason_campaigns.holdout_returned', 'reason_campaigns.held_out', 'lower') }} as ci_low,
        {{ newcomb_bound('reason_campaigns.treated_returned', 'reason_campaigns.treated_units',
                         'reason_campaigns.holdout_returned', 'reason_campaigns.held_out', 'upper') }} as ci_high,
        {{ two_proportion_p_value('reason_campaigns.treated_returned', 'reason_campaigns.treated_units',
                                  'reason_campaigns.holdout_returned', 'reason_campaigns.held_out') }} as p
    from reason_campaigns
),

-- DMS campaigns. The run: start_date .. end_date (an end before the start: the start day
-- alone; no start: from the first redemption; no end, open-ended: through D - 1, and its
-- months stay not final while the end is unknown). Its cost is spread over the run's days;
-- a month's share of it beside the month's redemptions. The months shown span the run and
-- every redemption (before the start or after the end too), up to the month of D - 1. A
-- campaign of one dealer is reported at that dealer (wherever redeemed); a group-wide one
-- (no dealer) at each dealer redeeming in the month, the month's cost split by the month's
-- redemptions (a month without any: equally among the group's dealers opened by its end),
-- so a later redemption never changes a month already final.
dms_campaigns as (
    select * from {{ ref('stg_dms__campaigns') }}
),

dealers as (
    select * from {{ ref('stg_dms__dealers') }}
),

redeeming_visits as (
    select
        dms_campaigns.campaign_code,
        coalesce(dms_campaigns.dealer_code, visits.dealer_code) as dealer_code,
        visits.visit_date,
        visits.total_amount
    from visits
    inner join dms_campaigns on visits.campaign_code = dms_campaigns.campaign_code
    where visits.visit_date < {{ business_date() }}
),

redemptions as (
    select
        campaign_code,
        dealer_code,
        date_trunc('month', visit_date)::date as month,
        count(*) as redemptions,
        sum(total_amount) as revenue
    from redeeming_visits
    group by campaign_code, dealer_code, date_trunc('month', visit_date)::date
),

redemption_span as (
    select
        campaign_code,
        min(visit_date) as first_date,
        max(visit_date) as last_date
    from redeeming_visits
    group by campaign_code
),

-- the run's first day: the start date, else the first redemption (else the end date)
dms_starts as (
    select
        dms_campaigns.campaign_code,
        dms_campaigns.dealer_code,
        dms_campaigns.cost_amount,
        dms_campaigns.end_date,
        redemption_span.first_date,
        redemption_span.last_date,
        coalesce(dms_campaigns.start_date, redemption_span.first_date, dms_campaigns.end_date) as run_start
    from dms_campaigns
    left join redemption_span on dms_campaigns.campaign_code = redemption_span.campaign_code
),

-- the run's last day: the end date (not before the start); open-ended, through D - 1.
-- Campaigns that started before D, or were redeemed already.
dms_runs as (
    select
        campaign_code,
        dealer_code,
        cost_amount,
        end_date is null as is_open_ended,
        run_start,
        greatest(coalesce(end_date, {{ business_date() }} - 1), run_start) as run_end,
        first_date,
        last_date
    from dms_starts
    where run_start < {{ business_date() }} or first_date is not null
),

dms_months as (
    select
        dms_runs.campaign_code,
        dms_runs.dealer_code as campaign_dealer_code,
        dms_runs.is_open_ended,
        run_month::date as month,
        dms_runs.cost_amount
        * greatest(
            least(dms_runs.run_end, (run_month + interval '1 month - 1 day')::date)
            - greatest(dms_runs.run_start, run_month::date) + 1,
            0
        )::numeric / (dms_runs.run_end - dms_runs.run_start + 1) as month_cost
    from dms_runs
    cross join lateral generate_series(
        date_trunc('month', least(dms_runs.run_start, dms_runs.first_date)),
        date_trunc('month', least(greatest(dms_runs.run_end, dms_runs.last_date), {{ business_date() }} - 1)),
        interval '1 month'
    ) as run_month
),

-- who carries each month's cost, and their share of it
dms_dealer_months as (
    select
        campaign_code,
        month,
        campaign_dealer_code as dealer_code,
        1.0 as cost_share
    from dms_months
    where campaign_dealer_code is not null
    union all
    select
        redemptions.campaign_code,
        redemptions.month,
        redemptions.dealer_code,
        redemptions.redemptions::numeric
        / sum(redemptions.redemptions) over (partition by redemptions.campaign_code, redemptions.month)
            as cost_share
    from redemptions
    inner join dms_months
        on redemptions.campaign_code = dms_months.campaign_code and redemptions.month = dms_months.month
    where dms_months.campaign_dealer_code is null
    union all
    select
        dms_months.campaign_code,
        dms_months.month,
        dealers.dealer_code,
        1.0 / count(*) over (partition by dms_months.campaign_code, dms_months.month) as cost_share
    from dms_months
    inner join dealers
        on dealers.opened_date is null or dealers.opened_date < (dms_months.month + interval '1 month')::date
    where
        dms_months.campaign_dealer_code is null
        and not exists (
            select from redemptions
            where redemptions.campaign_code = dms_months.campaign_code and redemptions.month = dms_months.month
        )
),

dms_rows as (
    select
        dms_months.campaign_code,
        dms_dealer_months.dealer_code,
        dms_months.month,
        dms_months.is_open_ended,
        coalesce(redemptions.redemptions, 0) as redemptions,
        coalesce(redemptions.revenue, 0) as revenue,
        dms_months.month_cost * dms_dealer_months.cost_share as cost
    from dms_months
    inner join dms_dealer_months
        on dms_months.campaign_code = dms_dealer_months.campaign_code and dms_months.month = dms_dealer_months.month
    left join redemptions
        on
            dms_months.campaign_code = redemptions.campaign_code
            and dms_dealer_months.dealer_code = redemptions.dealer_code
            and dms_months.month = redemptions.month
)

select
    campaign_code::text as campaign_code,
    reason::text as reason,
    campaign_source::text as campaign_source,
    dealer_code::text as dealer_code,
    month::date as month,
    (case when reason = 'INSURANCE_RENEWAL' then 'renewal' else 'return_visit' end)::text as outcome,
    due::bigint as due,
    held_out::bigint as held_out,
    treated_units::bigint as treated,
    listed::bigint as listed,
    attempted::bigint as attempted,
    reached::bigint as reached,
    booked::bigint as booked,
    (treated_returned + holdout_returned)::bigint as returned,
    treated_returned::bigint as treated_returned,
    holdout_returned::bigint as holdout_returned,
    round(treated_rate, 4)::numeric(7, 4) as treated_return_rate,
    round(holdout_rate, 4)::numeric(7, 4) as holdout_return_rate,
    round(treated_rate - holdout_rate, 4)::numeric(7, 4) as uplift,
    round(ci_low::numeric, 4)::numeric(7, 4) as uplift_ci_low,
    round(ci_high::numeric, 4)::numeric(7, 4) as uplift_ci_high,
    round(p::numeric, 4)::numeric(7, 4) as p_value,
    (held_out > 0)::boolean as has_holdout,
    (case
        when held_out = 0 then 'no holdout: nobody held out (a reason required for everyone, or none drawn)'
        when treated_units = 0 then 'no treated units'
    end)::text as uplift_note,
    return_revenue::numeric(14, 2) as revenue,
    cost::numeric(14, 2) as cost,
    attribution_complete::boolean as attribution_complete,
    (attribution_complete and (month + interval '1 month')::date <= {{ business_date() }})::boolean as is_final
from tested
union all
select
    campaign_code::text,
    null::text,
    'dms'::text,
    dealer_code::text,
    month::date,
    'redemption'::text,
    null::bigint,
    null::bigint,
    null::bigint,
    null::bigint,
    null::bigint,
    null::bigint,
    null::bigint,
    redemptions::bigint,
    null::bigint,
    null::bigint,
    null::numeric(7, 4),
    null::numeric(7, 4),
    null::numeric(7, 4),
    null::numeric(7, 4),
    null::numeric(7, 4),
    null::numeric(7, 4),
    false as has_holdout,
    'no holdout: a DMS campaign is measured by its redemptions'::text,
    revenue::numeric(14, 2),
    cost::numeric(14, 2),
    true as attribution_complete,
    -- an open-ended campaign's cost per month moves with D until the DMS records an end
    (not is_open_ended and (month + interval '1 month')::date <= {{ business_date() }})
from dms_rows
