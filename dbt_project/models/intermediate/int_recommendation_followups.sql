-- Rules §8: each recommendation an advisor made and the customer declined or deferred,
-- with its follow-up and whether the work was recaptured. One row per recommendation.
-- How it was put off: `deferred` if it has a `defer_until` (a deferral keeps its date
-- once done), else `declined`. Recaptured: done (the `done_ro_number` order's close date,
-- or the day the DMS marked it done) within `recapture_days` (90) of the visit it was
-- recommended on; the window is open while that day is not before D. The follow-up, from
-- the outreach history (every DECLINED_WORK decision up to D, its event
-- `recommendation_id@trigger`): `followed_up` once listed (call or SMS), `held_out` when
-- only drawn for the holdout, else `not_followed_up`.
with recommendations as (
    select * from {{ ref('stg_dms__recommendations') }}
),

-- (not materialized: each recommendation's orders are looked up by the visits' key)
visits as not materialized (
    select * from {{ ref('int_visits') }}
),

identity as (
    select * from {{ ref('int_customers_resolved') }}
),

followups as (
    select
        split_part(event_key, '@', 1) as recommendation_id,
        min(business_date) filter (where disposition in ('call', 'sms')) as first_listed_date,
        min(business_date) filter (where disposition = 'holdout') as first_held_out_date
    from {{ ref('int_outreach_history') }}
    where reason = 'DECLINED_WORK'
    group by split_part(event_key, '@', 1)
),

dated as (
    select
        recommendations.*,
        coalesce(recommended_on.dealer_code, recommendations.dealer_code) as visit_dealer_code,
        coalesce(recommended_on.visit_date, (recommendations.created_at at time zone 'Asia/Shanghai')::date)
            as recommended_date,
        case
            when done.visit_date is not null then done.visit_date
            when recommendations.recommendation_status = 'done'
                then (recommendations.updated_at at time zone 'Asia/Shanghai')::date
        end as done_date
    from recommendations
    -- each order's visit looked up by its key, one per recommendation (`limit 1` keeps
    -- the lookup from being flattened into a hash join of millions of visits against
    -- recommendations whose done order is mostly null: it spilled 30 GB on `large`)
    left join lateral (
        select
            visits.dealer_code,
            visits.visit_date
        from visits
        where visits.ro_number = recommendations.ro_number
        order by visits.ro_number
        limit 1
    ) as recommended_on on true
    left join lateral (
        select visits.visit_date
        from visits
        where visits.ro_number = recommendations.done_ro_number
        order by visits.ro_number
        limit 1
    ) as done on true
)

select
    dated.recommendation_id,
    dated.visit_dealer_code as dealer_code,
    dated.vin,
    coalesce(identity.resolved_customer_id, dated.customer_id) as customer_id,
    dated.advisor_id,
    dated.ro_number,
    dated.op_code,
    dated.description,
    dated.est_amount,
    dated.recommended_date,
    case when dated.defer_until is not null then 'deferred' else 'declined' end as declined_as,
    dated.recommendation_status,
    dated.defer_until,
    dated.done_ro_number,
    dated.done_date,
    dated.recommended_date + {{ var('recapture_days') }} as recapture_window_end,
    coalesce(dated.done_date <= dated.recommended_date + {{ var('recapture_days') }}, false) as is_recaptured,
    dated.recommended_date + {{ var('recapture_days') }} >= {{ business_date() }} as is_window_open,
    followups.first_listed_date,
    followups.first_held_out_date,
    case
        when followups.first_listed_date is not null then 'followed_up'
        when followups.first_held_out_date is not null then 'held_out'
        else 'not_followed_up'
    end as followup_group
from dated
left join identity on dated.customer_id = identity.customer_id
left join followups on dated.recommendation_id = followups.recommendation_id
