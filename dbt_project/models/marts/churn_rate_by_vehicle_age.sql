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

aged as (
    select
        statuses.dealer_code,
        statuses.month,
        statuses.as_of_date,
        statuses.churn_status,
        (
            select targets.age_bucket from targets
            where
                targets.max_age_years is null
                or statuses.delivery_date > (statuses.as_of_date - 1) - make_interval(years => targets.max_age_years)
            order by targets.bucket_order
            limit 1
        ) as age_bucket
    from statuses
)

select
    aged.dealer_code,
    aged.month,
    targets.age_bucket,
    targets.bucket_order,
    count(*) as active_base,
    count(*) filter (where aged.churn_status in ('at_risk', 'churned')) as churned_or_at_risk,
    round(count(*) filter (where aged.churn_status in ('at_risk', 'churned'))::numeric / count(*), 4)::numeric(5, 4)
        as churn_rate,
    targets.target_churn_rate::numeric(5, 4) as target_churn_rate,
    round(count(*) filter (where aged.churn_status in ('at_risk', 'churned'))::numeric / count(*), 4)
    < targets.target_churn_rate as meets_target,
    -- the month has ended: its status is as of the day after its last day
    bool_and(aged.as_of_date = (aged.month + interval '1 month')::date) as is_final
from aged
inner join targets on aged.age_bucket = targets.age_bucket
group by aged.dealer_code, aged.month, targets.age_bucket, targets.bucket_order, targets.target_churn_rate
