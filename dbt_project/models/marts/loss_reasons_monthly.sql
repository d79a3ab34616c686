-- Why customers leave (流失原因分析, rules §6): per dealer, month and reason, the reached
-- win-back calls (LAPSING_WINBACK, LOST_WINBACK) on which the customer gave a
-- `loss_reason`, and the share of those customers who came back (a visit within the
-- reason's attribution window after the call, 30 days in the seed; customers counted
-- after merges, rules §1); beside them (`source` = `oem`), the manufacturer's `reason_hint` for
-- the dealer's vehicles it listed for that month (no hint: `NONE`).
with outcomes as (
    select * from {{ ref('stg_callcenter__outcomes') }}
),

sent as (
    select * from {{ ref('stg_platform__outreach_log') }}
),

codes as (
    select * from {{ ref('outcome_codes') }}
),

visits as (
    select * from {{ ref('int_visits') }}
),

oem as (
    select * from {{ ref('stg_oem__lost_customers') }}
),

identity as (
    select * from {{ ref('int_customers_resolved') }}
),

outreach_reasons as (
    select * from {{ ref('outreach_reasons') }}
),

winback_rows as (
    select distinct on (sent.call_id)
        sent.call_id,
        outreach_reasons.attribution_days
    from sent
    inner join outreach_reasons on sent.reason = outreach_reasons.reason
    where sent.is_list_row and sent.reason in ('LAPSING_WINBACK', 'LOST_WINBACK')
    order by sent.call_id asc, sent.business_date desc
),

reasons_given as (
    select distinct on (outcomes.call_id)
        outcomes.call_id,
        outcomes.dealer_code,
        coalesce(identity.resolved_customer_id, outcomes.customer_id) as customer_id,
        (outcomes.called_at at time zone 'Asia/Shanghai')::date as called_date,
        winback_rows.attribution_days,
        outcomes.loss_reason
    from outcomes
    inner join winback_rows on outcomes.call_id = winback_rows.call_id
    inner join codes on outcomes.outcome = codes.outcome
    left join identity on outcomes.customer_id = identity.customer_id
    where codes.is_reached and outcomes.loss_reason is not null
    order by outcomes.call_id asc, outcomes.called_at asc
),

returned as (
    select distinct reasons_given.call_id
    from reasons_given
    inner join visits
        on
            reasons_given.customer_id = visits.customer_id
            and reasons_given.called_date < visits.visit_date
            and reasons_given.called_date + reasons_given.attribution_days >= visits.visit_date
            and visits.visit_date < {{ business_date() }}
),

calls as (
    select
        reasons_given.dealer_code,
        date_trunc('month', reasons_given.called_date)::date as month,
        'call_center' as source,
        reasons_given.loss_reason as reason,
        count(*) as reached_winback_calls,
        count(distinct reasons_given.customer_id) as customers,
        count(distinct reasons_given.customer_id) filter (where returned.call_id is not null)
            as customers_returned_within_30d,
        null::bigint as oem_listed_vehicles,
        max(reasons_given.called_date + reasons_given.attribution_days) < {{ business_date() }} as is_final
    from reasons_given
    left join returned on reasons_given.call_id = returned.call_id
    group by reasons_given.dealer_code, date_trunc('month', reasons_given.called_date), reasons_given.loss_reason
),

oem_hints as (
    select
        dealer_code,
        to_date(period, 'YYYY-MM') as month,
        'oem' as source,
        coalesce(reason_hint, 'NONE') as reason,
        null::bigint as reached_winback_calls,
        null::bigint as customers,
        null::bigint as customers_returned_within_30d,
        count(distinct vin) as oem_listed_vehicles,
        true as is_final
    from oem
    group by dealer_code, period, coalesce(reason_hint, 'NONE')
),

both_sources as (
    select * from calls
    union all
    select * from oem_hints
)

select
    dealer_code,
    month,
    source,
    reason,
    reached_winback_calls,
    customers,
    customers_returned_within_30d,
    round(customers_returned_within_30d::numeric / nullif(customers, 0), 4)::numeric(5, 4) as return_rate,
    oem_listed_vehicles,
    is_final
from both_sources
where month >= {{ kpi_first_month() }}
