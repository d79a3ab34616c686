-- 流失率 by vehicle age (rules §4): per dealer and month, the share of the active base
-- at month end that is at_risk or churned, by years since delivery, beside the industry
-- target for that age. The status at each month end comes from the visit history
-- (int_vehicle_churn_monthly), so every one of the `kpi_months` months has its rates.
with statuses as (
    select * from {{ ref('int_vehicle_churn_monthly') }}
    where delivery_date is not null
),

targets as (
    select * from {{ ref('churn_rate_targets') }}
),

-- each bucket's age range in years (its lower bound: the previous bucket's upper one), so
-- that a vehicle finds its bucket by a join on a four-row table, not a lookup per row
buckets as (
    select
        age_bucket,
        bucket_order,
        target_churn_rate,
        max_age_years,
        lag(max_age_years) over (order by bucket_order) as min_age_years
    from targets
),

aged as (
    select
        statuses.dealer_code,
        statuses.month,
        statuses.as_of_date,
        statuses.churn_status,
        buckets.age_bucket,
        buckets.bucket_order,
        buckets.target_churn_rate
    from statuses
    -- years since delivery, as of the month's last day (the day before as_of_date)
    inner join buckets
        on
            (
                buckets.max_age_years is null
                or statuses.delivery_date > (statuses.as_of_date - 1) - make_interval(years => buckets.max_age_years)
            )
            and (
                buckets.min_age_years is null
                or statuses.delivery_date <= (statuses.as_of_date - 1) - make_interval(years => buckets.min_age_years)
            )
)

select
    dealer_code,
    month,
    age_bucket,
    bucket_order,
    count(*) as active_base,
    count(*) filter (where churn_status in ('at_risk', 'churned')) as churned_or_at_risk,
    round(count(*) filter (where churn_status in ('at_risk', 'churned'))::numeric / count(*), 4)::numeric(5, 4)
        as churn_rate,
    target_churn_rate::numeric(5, 4) as target_churn_rate,
    round(count(*) filter (where churn_status in ('at_risk', 'churned'))::numeric / count(*), 4)
    < target_churn_rate as meets_target,
    -- the month has ended: its status is as of the day after its last day
    bool_and(as_of_date = (month + interval '1 month')::date) as is_final
from aged
group by dealer_code, month, age_bucket, bucket_order, target_churn_rate
