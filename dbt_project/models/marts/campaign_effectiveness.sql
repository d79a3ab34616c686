-- What the calls changed (rules §5), per campaign, dealer and month of the list date.
-- Every outreach reason is a standing campaign measured against its holdout, by
-- intention to treat: the treated group is every due customer the reason would lead the
-- list row for (on a phone or SMS list, reached or not) and who was not held out; the
-- control group, the same customers held out. A unit returns if the customer has a visit within the
-- reason's attribution window after the list date. Uplift = treated rate − holdout rate,
-- with a 95% confidence interval and a two-proportion z-test p-value. DMS campaigns are
-- measured by their redemptions (repair orders carrying the campaign code).
-- A unit's attempts, reach, bookings and cost are those of its list row and of the rows
-- that follow it up (further attempts, a callback, a row carried over the advisor cap):
-- the same customer, reason and due event, until the event is due again.
-- A unit is a due event's first place on a list or in the holdout: the day it is newly
-- due, or, carried over the advisors' cap, the day it gets a place (the holdout is drawn
-- then, among the customers who are called that day: like with like).
with first_places as (
    select
        *,
        lead(business_date) over (partition by customer_id, reason, event_key order by business_date)
            as next_due_date
    from {{ ref('int_outreach_history') }}
    where source in ('due', 'overflow') and disposition <> 'overflow'
),

decisions as (
    select * from first_places
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

reasons as (
    select * from {{ ref('outreach_reasons') }}
),

-- (not materialized: the return lookup below must reach int_visits' customer index)
visits as not materialized (
    select * from {{ ref('int_visits') }}
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
    inner join {{ ref('int_outreach_call_results') }} as call_results on unit_calls.call_id = call_results.call_id
    group by unit_calls.business_date, unit_calls.customer_id, unit_calls.reason, unit_calls.event_key
),

units as (
    select
        decisions.campaign_code,
        decisions.reason,
        decisions.dealer_code,
        date_trunc('month', decisions.business_date)::date as month,
        decisions.disposition = 'holdout' as is_holdout,
        decisions.disposition in ('call', 'sms', 'overflow', 'exception') as is_listed,
        coalesce(results.attempts, 0) > 0 as is_attempted,
        coalesce(results.reached, false) as is_reached,
        coalesce(results.booked, false) as is_booked,
        coalesce(results.attempts, 0) - coalesce(results.sms_sent, 0) as calls_made,
        coalesce(results.sms_sent, 0) as sms_sent,
        decisions.business_date + reasons.attribution_days < {{ business_date() }} as window_complete,
        return_visit.total_amount as return_revenue,
        return_visit.ro_number is not null as has_returned
    from decisions
    inner join reasons on decisions.reason = reasons.reason
    left join results
        on
            decisions.business_date = results.business_date
            and decisions.customer_id = results.customer_id
            and decisions.reason = results.reason
            and decisions.event_key = results.event_key
    left join lateral (
        select
            visits.ro_number,
            visits.total_amount
        from visits
        where
            visits.customer_id = decisions.customer_id
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

rates as (
    select
        reason_campaigns.*,
        reason_campaigns.treated_returned::numeric / nullif(reason_campaigns.treated_units, 0) as treated_rate,
        reason_campaigns.holdout_returned::numeric / nullif(reason_campaigns.held_out, 0) as holdout_rate,
        (reason_campaigns.treated_returned + reason_campaigns.holdout_returned)::numeric
        / nullif(reason_campaigns.treated_units + reason_campaigns.held_out, 0) as pooled_rate
    from reason_campaigns
),

tested as (
    select
        rates.*,
        rates.treated_rate - rates.holdout_rate as uplift,
        sqrt(
            rates.treated_rate * (1 - rates.treated_rate) / nullif(rates.treated_units, 0)
            + rates.holdout_rate * (1 - rates.holdout_rate) / nullif(rates.held_out, 0)
        ) as uplift_se,
        (rates.treated_rate - rates.holdout_rate)
        / nullif(
            sqrt(
                rates.pooled_rate
                * (1 - rates.pooled_rate)
                * (1.0 / nullif(rates.treated_units, 0) + 1.0 / nullif(rates.held_out, 0))
            ),
            0
        )
            as z
    from rates
),

dms_campaigns as (
    select
        campaigns.campaign_code,
        null::text as reason,
        'dms' as campaign_source,
        visits.dealer_code,
        date_trunc('month', visits.visit_date)::date as month,
        count(*) as redemptions,
        sum(visits.total_amount) as revenue,
        max(campaigns.cost_amount) filter (
            where date_trunc('month', campaigns.start_date) = date_trunc('month', visits.visit_date)
        ) as cost
    from visits
    inner join {{ ref('stg_dms__campaigns') }} as campaigns on visits.campaign_code = campaigns.campaign_code
    group by campaigns.campaign_code, visits.dealer_code, date_trunc('month', visits.visit_date)::date
)

select
    campaign_code::text as campaign_code,
    reason::text as reason,
    campaign_source::text as campaign_source,
    dealer_code::text as dealer_code,
    month::date as month,
    due::bigint as due,
    held_out::bigint as held_out,
    listed::bigint as listed,
    attempted::bigint as attempted,
    reached::bigint as reached,
    booked::bigint as booked,
    (treated_returned + holdout_returned)::bigint as returned,
    treated_returned::bigint as treated_returned,
    holdout_returned::bigint as holdout_returned,
    round(treated_rate, 4)::numeric(7, 4) as treated_return_rate,
    round(holdout_rate, 4)::numeric(7, 4) as holdout_return_rate,
    round(uplift, 4)::numeric(7, 4) as uplift,
    round(uplift - 1.96 * uplift_se, 4)::numeric(7, 4) as uplift_ci_low,
    round(uplift + 1.96 * uplift_se, 4)::numeric(7, 4) as uplift_ci_high,
    round((2 * (1 - {{ normal_cdf('abs(z)') }}))::numeric, 4)::numeric(7, 4) as p_value,
    return_revenue::numeric(14, 2) as revenue,
    cost::numeric(14, 2) as cost,
    attribution_complete::boolean as attribution_complete
from tested
union all
select
    campaign_code::text,
    reason::text,
    campaign_source::text,
    dealer_code::text,
    month::date,
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
    revenue::numeric(14, 2),
    coalesce(cost, 0)::numeric(14, 2) as cost,
    true as attribution_complete
from dms_campaigns
