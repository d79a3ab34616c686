-- 流失率 by vehicle age (rules §4): per dealer and month, the share of the active base
-- at month end (the month's latest status snapshot) that is at_risk or churned, by
-- years since delivery, beside the industry target for that age.
with snapshots as (
    select
        date_trunc('month', business_date - 1)::date as month,
        max(business_date) as business_date
    from {{ ref('vehicle_churn_status') }}
    where business_date <= {{ business_date() }}
    group by date_trunc('month', business_date - 1)::date
),

targets as (
    select * from {{ ref('churn_rate_targets') }}
),

aged as (
    select
        status.dealer_code,
        snapshots.month,
        status.churn_status,
        (
            select targets.age_bucket from targets
            where
                targets.max_age_years is null
                or status.delivery_date > (snapshots.business_date - 1) - make_interval(years => targets.max_age_years)
            order by targets.bucket_order
            limit 1
        ) as age_bucket
    from {{ ref('vehicle_churn_status') }} as status
    inner join snapshots on status.business_date = snapshots.business_date
    where status.delivery_date is not null
)

select
    aged.dealer_code,
    aged.month,
    aged.age_bucket,
    targets.bucket_order,
    count(*) as active_base,
    count(*) filter (where aged.churn_status in ('at_risk', 'churned')) as churned_or_at_risk,
    round(count(*) filter (where aged.churn_status in ('at_risk', 'churned'))::numeric / count(*), 4)::numeric(5, 4)
        as churn_rate,
    targets.target_churn_rate::numeric(5, 4) as target_churn_rate,
    round(count(*) filter (where aged.churn_status in ('at_risk', 'churned'))::numeric / count(*), 4)
    < targets.target_churn_rate as meets_target
from aged
inner join targets on aged.age_bucket = targets.age_bucket
group by aged.dealer_code, aged.month, aged.age_bucket, targets.bucket_order, targets.target_churn_rate
