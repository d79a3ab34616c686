-- Campaign effectiveness pooled over dealers (rules §5): per campaign and month of the
-- list date, and per campaign over all its months (`period` = 'all'), the counts of
-- campaign_effectiveness summed (its units are disjoint across dealers and months) and
-- the uplift, Newcomb's interval and the p-value computed again on the pooled counts.
-- A DMS campaign's 'all' row is the campaign as a whole: its whole cost beside all its
-- revenue. For another selection of months, marts.campaign_uplift(...) (created below)
-- gives the same figures from the summed counts.
{{ config(post_hook="{{ campaign_uplift_function() }}") }}

with effectiveness as (
    select * from {{ ref('campaign_effectiveness') }}
),

pooled as (
    select
        campaign_code,
        reason,
        campaign_source,
        outcome,
        coalesce(to_char(month, 'YYYY-MM'), 'all') as period,
        min(month) as first_month,
        max(month) as last_month,
        count(distinct dealer_code) as dealers,
        sum(due) as due,
        sum(held_out) as held_out,
        sum(treated) as treated,
        sum(listed) as listed,
        sum(attempted) as attempted,
        sum(reached) as reached,
        sum(booked) as booked,
        sum(returned) as returned,
        sum(treated_returned) as treated_returned,
        sum(holdout_returned) as holdout_returned,
        sum(revenue) as revenue,
        sum(cost) as cost,
        bool_and(is_final) as is_final
    from effectiveness
    group by campaign_code, reason, campaign_source, outcome, grouping sets ((month), ())
)

select
    campaign_code::text as campaign_code,
    reason::text as reason,
    campaign_source::text as campaign_source,
    outcome::text as outcome,
    period::text as period,
    first_month::date as first_month,
    last_month::date as last_month,
    dealers::bigint as dealers,
    due::bigint as due,
    held_out::bigint as held_out,
    treated::bigint as treated,
    listed::bigint as listed,
    attempted::bigint as attempted,
    reached::bigint as reached,
    booked::bigint as booked,
    returned::bigint as returned,
    treated_returned::bigint as treated_returned,
    holdout_returned::bigint as holdout_returned,
    round(treated_returned::numeric / nullif(treated, 0), 4)::numeric(7, 4) as treated_return_rate,
    round(holdout_returned::numeric / nullif(held_out, 0), 4)::numeric(7, 4) as holdout_return_rate,
    round(treated_returned::numeric / nullif(treated, 0) - holdout_returned::numeric / nullif(held_out, 0), 4)
    ::numeric(7, 4) as uplift,
    round(({{ newcomb_bound('treated_returned', 'treated', 'holdout_returned', 'held_out', 'lower') }})::numeric, 4)
    ::numeric(7, 4) as uplift_ci_low,
    round(({{ newcomb_bound('treated_returned', 'treated', 'holdout_returned', 'held_out', 'upper') }})::numeric, 4)
    ::numeric(7, 4) as uplift_ci_high,
    round(({{ two_proportion_p_value('treated_returned', 'treated', 'holdout_returned', 'held_out') }})::numeric, 4)
    ::numeric(7, 4) as p_value,
    coalesce(held_out > 0, false) as has_holdout,
    (case
        when campaign_source = 'dms' then 'no holdout: a DMS campaign is measured by its redemptions'
        when held_out = 0 then 'no holdout: nobody held out (a reason required for everyone, or none drawn)'
        when treated = 0 then 'no treated units'
    end)::text as uplift_note,
    revenue::numeric(14, 2) as revenue,
    cost::numeric(14, 2) as cost,
    is_final::boolean as is_final
from pooled
